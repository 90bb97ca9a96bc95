"""`BackupAndRestore`: resume an interrupted `fit` where its last backup left off."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from engine.backend import random as engine_random
from engine.backend.random import SeedGenerator
from engine.callbacks.callback import Callback

_LATEST = "backup.npz"
_PREVIOUS = "backup.previous.npz"
_TMP_PREFIX = ".tmp-backup-"


class BackupAndRestore(Callback):
    """Back up the training state during `fit` and restore it when `fit` starts again.

    A backup holds the model's weights, the optimizer's state, the epoch to resume
    at and the random state (the global generator and every seeded generator held
    by a layer), so a resumed run continues exactly as an uninterrupted one would.
    Each backup is written to a temporary file and moved into place with
    `os.replace`, so a crash mid-write never leaves a half-written backup.

    When `fit` starts, a backup found in `backup_dir` is loaded and training resumes
    at its epoch. When `fit` ends normally the backup is deleted (with
    `delete_checkpoint=True`); when it is interrupted by an exception it stays.

    Args:
        backup_dir: the directory for the backup; use it for nothing else.
        save_freq: `"epoch"` to back up at every epoch end, or an int to back up
            every that many training batches (a resumed run then restarts the
            epoch it was in, from the weights of that batch).
        delete_checkpoint: delete the backup when training finishes.
        double_checkpoint: keep the previous backup too, and fall back to it when
            the latest one cannot be read.

    Example:
        >>> backup = engine.callbacks.BackupAndRestore(backup_dir="/tmp/backup")
        >>> model.fit(x, y, epochs=10, callbacks=[backup])  # interrupted at epoch 4
        >>> history = model.fit(x, y, epochs=10, callbacks=[backup])  # runs epochs 5-10
    """

    def __init__(
        self,
        backup_dir: str | os.PathLike[str],
        save_freq: str | int = "epoch",
        delete_checkpoint: bool = True,
        double_checkpoint: bool = False,
    ) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed; give a directory for the backup.")
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool)):
            raise ValueError(
                f"Invalid value for argument `save_freq`: {save_freq!r}; expected 'epoch' or an "
                "integer number of batches."
            )
        if isinstance(save_freq, int) and save_freq < 1:
            raise ValueError(f"save_freq must be a positive number of batches, got {save_freq}.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self.double_checkpoint = double_checkpoint
        self._latest_path = os.path.join(self.backup_dir, _LATEST)
        self._previous_path = os.path.join(self.backup_dir, _PREVIOUS)
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0

    # Hooks ---------------------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Restore the latest readable backup, if any, and tell `fit` where to resume."""
        if not self.model.built:
            raise ValueError(
                f"To use the BackupAndRestore callback, model {self.model.name!r} must be built "
                "before fit(); build it by calling it on a batch of data or with model.build()."
            )
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        backup = self._read_backup()
        if backup is None:
            return
        arrays, metadata = backup
        self._restore(arrays, metadata)
        self._current_epoch = int(metadata["epoch"])
        self.model._initial_epoch = self._current_epoch

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._should_save_on_batch(batch):
            self._save_backup()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save_backup()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self.delete_checkpoint or not os.path.isdir(self.backup_dir):
            return
        for name in os.listdir(self.backup_dir):
            if name in (_LATEST, _PREVIOUS) or name.startswith(_TMP_PREFIX):
                os.remove(os.path.join(self.backup_dir, name))
        # Remove the directory only when nothing else lives in it.
        if not os.listdir(self.backup_dir):
            os.rmdir(self.backup_dir)

    # Saving ----------------------------------------------------------------------------
    def _should_save_on_batch(self, batch: int) -> bool:
        if self.save_freq == "epoch":
            return False
        # A batch index that did not grow means a new epoch started.
        added = batch + 1 if batch <= self._last_batch_seen else batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _save_backup(self) -> None:
        model = self.model
        optimizer = getattr(model, "optimizer", None)
        weights = model.weights
        opt_vars = list(optimizer.variables) if optimizer is not None else []
        payload: dict[str, np.ndarray] = {}
        for i, w in enumerate(weights):
            payload[f"weight_{i:05d}"] = np.asarray(w.value)
        for i, v in enumerate(opt_vars):
            payload[f"optimizer_{i:05d}"] = np.asarray(v.value)
        metadata = {
            "epoch": self._current_epoch,
            "batch": self._last_batch_seen,
            "num_weights": len(weights),
            "num_optimizer_variables": len(opt_vars),
            "global_rng": engine_random.get_state(),
            "layer_rngs": {key: gen.bit_generator.state for key, gen in _seeded_generators(model)},
        }
        payload["metadata"] = np.array(json.dumps(metadata))
        os.makedirs(self.backup_dir, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.backup_dir, prefix=_TMP_PREFIX, suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **payload)
                fh.flush()
                os.fsync(fh.fileno())
            if self.double_checkpoint and os.path.exists(self._latest_path):
                os.replace(self._latest_path, self._previous_path)
            os.replace(tmp, self._latest_path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    # Restoring -------------------------------------------------------------------------
    def _read_backup(self) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        candidates = [self._latest_path]
        if self.double_checkpoint:
            candidates.append(self._previous_path)
        errors: list[str] = []
        for path in candidates:
            if not os.path.exists(path):
                continue
            try:
                return _load_backup_file(path)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
                errors.append(f"{path}: {err}")
        if errors:
            raise ValueError(
                f"The backup in {self.backup_dir!r} cannot be read ({'; '.join(errors)}); delete "
                "the directory to start training from scratch."
            )
        return None

    def _restore(self, arrays: dict[str, np.ndarray], metadata: dict[str, Any]) -> None:
        model = self.model
        weights = [arrays[f"weight_{i:05d}"] for i in range(metadata["num_weights"])]
        model.set_weights(weights)
        optimizer = getattr(model, "optimizer", None)
        n_opt = metadata["num_optimizer_variables"]
        if optimizer is not None and n_opt:
            if not optimizer.built:
                # The optimizer's slots exist only once built on the variables it updates.
                optimizer.build(model.trainable_weights)
            if len(optimizer.variables) != n_opt:
                raise ValueError(
                    f"The backup in {self.backup_dir!r} holds {n_opt} optimizer variables but the "
                    f"model's {type(optimizer).__name__} has {len(optimizer.variables)}; it was "
                    "made with another optimizer, so delete it or compile the same optimizer."
                )
            optimizer.set_weights([arrays[f"optimizer_{i:05d}"] for i in range(n_opt)])
        engine_random.set_state(metadata["global_rng"])
        saved_layer_rngs = metadata.get("layer_rngs", {})
        for key, gen in _seeded_generators(model):
            if key in saved_layer_rngs:
                gen.bit_generator.state = saved_layer_rngs[key]

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a JSON-able dict."""
        return {
            "backup_dir": self.backup_dir,
            "save_freq": self.save_freq,
            "delete_checkpoint": self.delete_checkpoint,
            "double_checkpoint": self.double_checkpoint,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BackupAndRestore:
        """Create a `BackupAndRestore` from `get_config()` output."""
        return cls(**config)


def _load_backup_file(path: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    metadata = json.loads(str(arrays.pop("metadata")))
    return arrays, metadata


def _seeded_generators(model: Any) -> Iterator[tuple[str, np.random.Generator]]:
    """Yield `(key, generator)` for each seeded `SeedGenerator` held by the model's layers.

    Such generators are independent of the global one, so their state must be saved
    too for a resumed run to draw the same dropout masks and noise. Keys are paths
    of sublayer indices, not names, so a model rebuilt in the same process (whose
    layers get new unique names) still matches.
    """
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [("", model)]
    while stack:
        prefix, layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        for attr, value in sorted(vars(layer).items()):
            if isinstance(value, SeedGenerator) and value._own is not None:
                yield f"{prefix}{attr}", value._own
        sublayers = getattr(layer, "_layers", [])
        for i, sub in reversed(list(enumerate(sublayers))):
            stack.append((f"{prefix}{i}/", sub))
