"""Store methods for what a run leaves behind: checkpoints, layer statistics, logs, environment."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from experiments.store.core import StoreCore, require_run
from experiments.store.direction import is_better, metric_direction
from experiments.store.environment import capture_environment
from experiments.store.errors import CorruptCheckpointError, NotFoundError
from experiments.store.models import Checkpoint, Environment, LayerStat, LogLine, utcnow
from experiments.store.records import CheckpointData, CheckpointInfo, LayerStatRow, LogRecord

# Every checkpoint column but the blobs: listings never read megabytes of weights.
_INFO_COLUMNS = (
    Checkpoint.id,
    Checkpoint.run_id,
    Checkpoint.epoch,
    Checkpoint.step,
    Checkpoint.size_bytes,
    Checkpoint.sha256,
    Checkpoint.is_best,
    Checkpoint.is_last,
    Checkpoint.monitor,
    Checkpoint.monitor_value,
    Checkpoint.created_at,
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ArtifactsMixin(StoreCore):
    """Checkpoints (verified by sha256), per-layer statistics, log lines and the environment.

    Example:
        >>> store.save_checkpoint(run.id, 1, arrays_to_npz(model.get_weights())).is_last
        True
    """

    # ---- checkpoints -------------------------------------------------------------

    def save_checkpoint(
        self,
        run_id: int,
        epoch: int,
        weights: bytes,
        *,
        optimizer_state: bytes | None = None,
        step: int = 0,
        state: Mapping[str, Any] | None = None,
        monitor: str | None = None,
        monitor_value: float | None = None,
        is_best: bool | None = None,
    ) -> CheckpointInfo:
        """Store a checkpoint; it becomes the run's last, and maybe its best.

        Args:
            run_id: the run's id.
            epoch: the 1-based epoch the weights are from (0 before training).
            weights: the weights as `.npz` bytes (`arrays_to_npz(model.get_weights())`).
            optimizer_state: the optimizer's variables as `.npz` bytes, to resume.
            step: the global batch counter at saving time.
            state: JSON-compatible resume state (RNG state, counters, history).
            monitor: the metric deciding "best" (`val_loss`).
            monitor_value: its value at this epoch.
            is_best: mark it best (True), not (False), or decide by comparing
                `monitor_value` with the current best checkpoint's (None).

        Example:
            >>> info = store.save_checkpoint(12, 3, arrays_to_npz(model.get_weights()))
            >>> info.is_last
            True
        """
        if not isinstance(weights, bytes | bytearray | memoryview):
            raise TypeError(
                f"checkpoint weights must be .npz bytes, got {type(weights).__name__}; "
                "use experiments.store.arrays_to_npz(model.get_weights())"
            )
        weights = bytes(weights)
        optimizer_bytes = None if optimizer_state is None else bytes(optimizer_state)
        with self._write() as session:
            require_run(session, run_id)
            if is_best is None:
                is_best = _beats_best(session, run_id, monitor, monitor_value)
            if is_best:
                session.execute(
                    update(Checkpoint).where(Checkpoint.run_id == run_id).values(is_best=False)
                )
            session.execute(
                update(Checkpoint).where(Checkpoint.run_id == run_id).values(is_last=False)
            )
            checkpoint = Checkpoint(
                run_id=run_id,
                epoch=epoch,
                step=step,
                weights=weights,
                optimizer_state=optimizer_bytes,
                size_bytes=len(weights) + len(optimizer_bytes or b""),
                sha256=hashlib.sha256(weights).hexdigest(),
                optimizer_sha256=(
                    None if optimizer_bytes is None else hashlib.sha256(optimizer_bytes).hexdigest()
                ),
                state=dict(state or {}),
                monitor=monitor,
                monitor_value=monitor_value,
                is_best=bool(is_best),
                is_last=True,
                created_at=utcnow(),
            )
            session.add(checkpoint)
            session.flush()
            return _info(checkpoint)

    def checkpoint_state(self, run_id: int) -> dict[str, Any] | None:
        """The JSON state of a run's newest checkpoint, without reading its bytes (None: none).

        It holds the model's `input_shapes`, so a model can be rebuilt without its data.

        Args:
            run_id: the run's id.

        Example:
            >>> store.checkpoint_state(12)["input_shapes"]
            [[28, 28, 1]]
        """
        with self._read() as session:
            return session.scalar(
                select(Checkpoint.state)
                .where(Checkpoint.run_id == run_id)
                .order_by(Checkpoint.epoch.desc(), Checkpoint.id.desc())
                .limit(1)
            )

    def list_checkpoints(self, run_id: int) -> list[CheckpointInfo]:
        """A run's checkpoints without their bytes, oldest first.

        Args:
            run_id: the run's id.

        Example:
            >>> [(c.epoch, c.is_best) for c in store.list_checkpoints(12)]
            [(2, True), (5, False)]
        """
        with self._read() as session:
            rows = session.execute(
                select(*_INFO_COLUMNS)
                .where(Checkpoint.run_id == run_id)
                .order_by(Checkpoint.epoch, Checkpoint.id)
            ).all()
            return [CheckpointInfo(*row) for row in rows]

    def load_checkpoint(
        self,
        run_id: int,
        *,
        which: Literal["last", "best"] = "last",
        epoch: int | None = None,
        checkpoint_id: int | None = None,
    ) -> CheckpointData:
        """A checkpoint's bytes, verified against the sha256 recorded when it was saved.

        Args:
            run_id: the run's id.
            which: the "last" or the "best" checkpoint (ignored when `epoch` or
                `checkpoint_id` is given).
            epoch: the checkpoint of this epoch (its newest, if several).
            checkpoint_id: one checkpoint by id.

        Raises:
            NotFoundError: the run has no such checkpoint.
            CorruptCheckpointError: the stored bytes do not match their sha256.

        Example:
            >>> weights = npz_to_arrays(store.load_checkpoint(12, which="best").weights)
        """
        statement = select(Checkpoint).where(Checkpoint.run_id == run_id)
        if checkpoint_id is not None:
            statement = statement.where(Checkpoint.id == checkpoint_id)
            what = f"checkpoint {checkpoint_id}"
        elif epoch is not None:
            statement = statement.where(Checkpoint.epoch == epoch)
            what = f"a checkpoint of epoch {epoch}"
        elif which in ("last", "best"):
            flag = Checkpoint.is_last if which == "last" else Checkpoint.is_best
            statement = statement.where(flag.is_(True))
            what = f"a {which} checkpoint"
        else:
            raise ValueError(f"which={which!r} is not 'last' or 'best'")
        with self._read() as session:
            checkpoint = session.scalars(statement.order_by(Checkpoint.id.desc()).limit(1)).first()
            if checkpoint is None:
                available = [c.epoch for c in self.list_checkpoints(run_id)]
                raise NotFoundError(
                    f"run {run_id} has no {what}; checkpointed epochs: {available or 'none'}"
                )
            _verify(checkpoint)
            return CheckpointData(
                info=_info(checkpoint),
                weights=checkpoint.weights,
                optimizer_state=checkpoint.optimizer_state,
                state=dict(checkpoint.state or {}),
            )

    def prune_checkpoints(self, run_id: int, *, keep_last: int = 1, keep_best: bool = True) -> int:
        """Delete a run's checkpoints except the newest `keep_last` and (if asked) the best.

        Args:
            run_id: the run's id.
            keep_last: how many of the newest checkpoints to keep (0 or more).
            keep_best: also keep the one marked best.

        Returns:
            How many checkpoints were deleted.

        Example:
            >>> store.prune_checkpoints(12, keep_last=1)
            3
        """
        if keep_last < 0:
            raise ValueError(f"keep_last must be 0 or more, got {keep_last}")
        with self._write() as session:
            rows = session.execute(
                select(Checkpoint.id, Checkpoint.is_best)
                .where(Checkpoint.run_id == run_id)
                .order_by(Checkpoint.epoch.desc(), Checkpoint.id.desc())
            ).all()
            doomed = [
                checkpoint_id
                for index, (checkpoint_id, best) in enumerate(rows)
                if index >= keep_last and not (keep_best and best)
            ]
            if doomed:
                session.execute(delete(Checkpoint).where(Checkpoint.id.in_(doomed)))
            return len(doomed)

    # ---- layer statistics --------------------------------------------------------

    def log_layer_stats(self, run_id: int, epoch: int, stats: Sequence[LayerStatRow]) -> None:
        """Record every layer's weight norm, gradient norm and update ratio after an epoch.

        Logging the same epoch again replaces its rows (a resumed epoch). Rows
        are given in model order; their `position` is taken from that order.

        Args:
            run_id: the run's id.
            epoch: the 1-based epoch.
            stats: one row per layer.

        Example:
            >>> store.log_layer_stats(12, 1, [LayerStatRow("dense", 3.2, 0.01, 1e-3)])
        """
        rows = [
            {
                "run_id": run_id,
                "epoch": epoch,
                "layer": s.layer,
                "position": index,
                "weight_norm": _finite(s.weight_norm),
                "grad_norm": _finite(s.grad_norm),
                "update_ratio": _finite(s.update_ratio),
            }
            for index, s in enumerate(stats)
        ]
        with self._write_for(run_id) as session:
            session.execute(
                delete(LayerStat).where(LayerStat.run_id == run_id, LayerStat.epoch == epoch)
            )
            if rows:
                session.execute(insert(LayerStat), rows)

    def layer_stats(self, run_id: int) -> list[LayerStatRow]:
        """A run's layer statistics, by epoch then layer position.

        Args:
            run_id: the run's id.

        Example:
            >>> [(s.epoch, s.layer) for s in store.layer_stats(12)][:2]
            [(1, 'conv2d'), (1, 'dense')]
        """
        with self._read() as session:
            rows = session.scalars(
                select(LayerStat)
                .where(LayerStat.run_id == run_id)
                .order_by(LayerStat.epoch, LayerStat.position, LayerStat.layer)
            )
            return [
                LayerStatRow(
                    layer=s.layer,
                    weight_norm=s.weight_norm,
                    grad_norm=s.grad_norm,
                    update_ratio=s.update_ratio,
                    position=s.position,
                    epoch=s.epoch,
                )
                for s in rows
            ]

    # ---- logs --------------------------------------------------------------------

    def append_logs(
        self, run_id: int, lines: Iterable[str | tuple[str, str]], *, level: str = "INFO"
    ) -> int:
        """Append log lines to a run in one transaction.

        Args:
            run_id: the run's id.
            lines: messages, or `(level, message)` pairs.
            level: the level of plain messages.

        Returns:
            How many lines were written.

        Example:
            >>> store.append_logs(12, ["Epoch 1/2", ("WARNING", "slow batch")])
            2
        """
        now = utcnow()
        rows = []
        for line in lines:
            line_level, message = (level, line) if isinstance(line, str) else line
            if line_level not in LOG_LEVELS:
                raise ValueError(f"log level {line_level!r} is unknown; use one of {LOG_LEVELS}")
            rows.append(
                {"run_id": run_id, "created_at": now, "level": line_level, "message": message}
            )
        if rows:
            with self._write_for(run_id) as session:
                session.execute(insert(LogLine), rows)
        return len(rows)

    def logs(self, run_id: int, *, after_id: int = 0, limit: int | None = None) -> list[LogRecord]:
        """A run's log lines with an id greater than `after_id`, oldest first (for `--follow`).

        Args:
            run_id: the run's id.
            after_id: the last id already shown.
            limit: at most this many lines.

        Example:
            >>> [line.message for line in store.logs(12)]
            ['Epoch 1/2', 'slow batch']
        """
        statement = (
            select(LogLine)
            .where(LogLine.run_id == run_id, LogLine.id > after_id)
            .order_by(LogLine.id)
        )
        if limit is not None:
            statement = statement.limit(limit)
        with self._read() as session:
            return [
                LogRecord(line.id, line.run_id, line.created_at, line.level, line.message)
                for line in session.scalars(statement)
            ]

    # ---- environment -------------------------------------------------------------

    def save_environment(
        self, run_id: int, environment: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Record where a run executes (replacing an earlier record of it).

        Args:
            run_id: the run's id.
            environment: a dict like `capture_environment()` returns; captured now when None.

        Example:
            >>> store.save_environment(12)["numpy"]
            '2.1.3'
        """
        info = dict(environment if environment is not None else capture_environment())
        with self._write() as session:
            require_run(session, run_id)
            session.execute(delete(Environment).where(Environment.run_id == run_id))
            session.add(
                Environment(
                    run_id=run_id,
                    python=str(info.get("python", "")),
                    platform=str(info.get("platform", "")),
                    numpy=info.get("numpy"),
                    blas=info.get("blas"),
                    info=info,
                    captured_at=utcnow(),
                )
            )
        return info

    def environment(self, run_id: int) -> dict[str, Any] | None:
        """The environment recorded for a run, or None when it never started.

        Args:
            run_id: the run's id.

        Example:
            >>> store.environment(12)["blas"]
            'scipy-openblas 0.3.27'
        """
        with self._read() as session:
            row = session.get(Environment, run_id)
            return None if row is None else dict(row.info)


def _beats_best(session: Session, run_id: int, monitor: str | None, value: float | None) -> bool:
    if monitor is None or value is None or value != value:
        return False
    best = session.execute(
        select(Checkpoint.monitor_value).where(
            Checkpoint.run_id == run_id, Checkpoint.is_best.is_(True), Checkpoint.monitor == monitor
        )
    ).first()
    return is_better(value, None if best is None else best[0], metric_direction(monitor))


def _verify(checkpoint: Checkpoint) -> None:
    if hashlib.sha256(checkpoint.weights).hexdigest() != checkpoint.sha256:
        raise CorruptCheckpointError(
            f"checkpoint {checkpoint.id} (run {checkpoint.run_id}, epoch {checkpoint.epoch}) "
            "has weights that no longer match their sha256; load another epoch or rerun"
        )
    if checkpoint.optimizer_state is not None and (
        hashlib.sha256(checkpoint.optimizer_state).hexdigest() != checkpoint.optimizer_sha256
    ):
        raise CorruptCheckpointError(
            f"checkpoint {checkpoint.id} (run {checkpoint.run_id}, epoch {checkpoint.epoch}) "
            "has an optimizer state that no longer matches its sha256; rerun instead of resuming"
        )


def _info(checkpoint: Checkpoint) -> CheckpointInfo:
    return CheckpointInfo(
        id=checkpoint.id,
        run_id=checkpoint.run_id,
        epoch=checkpoint.epoch,
        step=checkpoint.step,
        size_bytes=checkpoint.size_bytes,
        sha256=checkpoint.sha256,
        is_best=checkpoint.is_best,
        is_last=checkpoint.is_last,
        monitor=checkpoint.monitor,
        monitor_value=checkpoint.monitor_value,
        created_at=checkpoint.created_at,
    )


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if value == value else None
