"""`compile`, `fit`, `evaluate` and `predict`: the Keras training loop over NumPy."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from engine.backend import tree
from engine.backend.tensor import GradientTape, Tensor, stop_recording
from engine.callbacks.callback_list import CallbackList
from engine.ops.batch_parallel import parallel_scope
from engine.trainers.compile_utils import CompileLoss, CompileMetrics, MeanTracker
from engine.trainers.data_adapter import DataAdapter, is_array_data, split_validation


class Trainer:
    """The training API mixed into `Model`.

    `gradient_hook`, when set to a function `hook(grads, variables)`, is called
    by `train_step` after the backward pass and before the optimizer update,
    with the gradients (NumPy arrays, or None for variables the loss does not
    reach) and the trainable variables they belong to. It lets a tracker
    observe gradient norms without a second backward pass; it must not modify
    the gradients.
    """

    def _init_trainer(self) -> None:
        self.compiled = False
        self.optimizer: Any = None
        self.compiled_loss: CompileLoss | None = None
        self.compiled_metrics: CompileMetrics | None = None
        self.loss: Any = None
        self.stop_training = False
        self.history: Any = None
        self._compile_config: dict[str, Any] | None = None
        self._loss_tracker = MeanTracker("loss")
        self._initial_epoch: int | None = None
        self._output_loss_trackers: list[MeanTracker] = []
        self.gradient_hook: Callable[[list[Any], list[Any]], None] | None = None

    # compile ------------------------------------------------------------------------
    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        loss_weights: Any = None,
        metrics: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: bool = False,
        steps_per_execution: int = 1,
        jit_compile: Any = "auto",
        auto_scale_loss: bool = True,
    ) -> None:
        """Configure the model for training.

        Args:
            optimizer: an optimizer name (`"adam"`) or instance.
            loss: a loss name, `Loss` instance or function; a list/dict for several outputs.
            loss_weights: optional weights of each output's loss.
            metrics: metric names/instances; a list of lists or a dict for several outputs.
            weighted_metrics: metrics that also use `sample_weight`/`class_weight`.
            run_eagerly, steps_per_execution, jit_compile, auto_scale_loss: accepted for
                compatibility; the engine always runs eagerly.

        Example:
            >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
            ...               metrics=["accuracy"])
        """
        from engine import optimizers

        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        names = self.output_names
        self.compiled_loss = CompileLoss(loss, loss_weights, names) if loss is not None else None
        self.compiled_metrics = CompileMetrics(metrics, weighted_metrics, names)
        self._output_loss_trackers = (
            [MeanTracker(f"{name}_loss") for name in names]
            if len(names) > 1 and loss is not None
            else []
        )
        self._compile_config = {
            "optimizer": optimizers.serialize(self.optimizer),
            "loss": _serialize_loss(loss),
            "loss_weights": loss_weights,
            "metrics": _serialize_metrics(metrics),
            "weighted_metrics": _serialize_metrics(weighted_metrics),
        }
        self.compiled = True
        self.stop_training = False

    def get_compile_config(self) -> dict[str, Any] | None:
        """The arguments given to `compile`, as JSON-able data (None before compile)."""
        return self._compile_config

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Compile from `get_compile_config()` output (used by `load_model`)."""
        from engine import losses, optimizers

        def load_loss(item: Any) -> Any:
            if isinstance(item, dict) and "class_name" in item:
                return losses.deserialize(item)
            if isinstance(item, list):
                return [load_loss(i) for i in item]
            if isinstance(item, dict):
                return {k: load_loss(v) for k, v in item.items()}
            return item

        self.compile(
            optimizer=optimizers.deserialize(config["optimizer"]),
            loss=load_loss(config.get("loss")),
            loss_weights=config.get("loss_weights"),
            metrics=_deserialize_metrics(config.get("metrics")),
            weighted_metrics=_deserialize_metrics(config.get("weighted_metrics")),
        )

    def _assert_compiled(self, method: str) -> None:
        if not self.compiled:
            raise RuntimeError(
                f"You must call model.compile(optimizer=..., loss=...) before model.{method}()."
            )

    @property
    def metrics(self) -> list[Any]:
        """The metric objects: the loss tracker first, then compiled metrics."""
        out: list[Any] = [self._loss_tracker, *self._output_loss_trackers]
        if self.compiled_metrics is not None:
            out.extend(self.compiled_metrics.metrics)
        return out

    @property
    def metrics_names(self) -> list[str]:
        """Names of the entries of the logs, in order (`loss` first)."""
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        """Reset the loss tracker and every compiled metric."""
        for m in self.metrics:
            m.reset_state()

    # One step -------------------------------------------------------------------------
    def compute_loss(
        self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None
    ) -> Any:
        """The total loss: the compiled loss plus every layer loss (regularization)."""
        total = None
        if self.compiled_loss is not None:
            total, per_output = self.compiled_loss(y, y_pred, sample_weight)
            for tracker, value in zip(self._output_loss_trackers, per_output):
                tracker.update_state(value, _batch_size(y_pred))
        extra = self.losses
        if extra:
            reg = extra[0]
            for term in extra[1:]:
                reg = reg + term
            total = reg if total is None else total + reg
        if total is None:
            raise ValueError(
                "The model has no loss: compile it with loss=... (or add losses with add_loss())."
            )
        return total

    def _step_context(self) -> Callable[[], contextlib.AbstractContextManager[None]]:
        """What makes the context each training, test or predict step runs in.

        Asked once per `fit`, `evaluate` or `predict` call, not per step: it
        walks the model's layers.

        `parallel_scope` (BLAS at one thread, the engine's threads splitting the
        work) when a layer of the model splits NumPy work into chunks
        (`Layer._engine_threads`: convolutions, pooling, normalization,
        attention); otherwise nothing, since BLAS threads its own GEMMs better
        than the engine splits them. Measured in one process against PyTorch on
        2 cores: the CIFAR-10 CNN 0.79x -> 1.00x and the Transformer block
        0.71x -> 1.24x with the scope; the Dense-only MLP 0.83x -> 0.75x.
        """
        if any(layer._engine_threads for layer in _all_layers(self)):
            return parallel_scope
        return contextlib.nullcontext

    def train_step(self, data: tuple[Any, Any, Any]) -> dict[str, Any]:
        """Run one optimization step on a batch and return the running logs.

        Calls `gradient_hook(grads, variables)` between the backward pass and the update.
        """
        x, y, sample_weight = data
        self._clear_losses()
        variables = self.trainable_weights
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        grads = tape.gradient(loss, variables)
        if self.gradient_hook is not None:
            self.gradient_hook(grads, variables)
        self.optimizer.apply(grads, variables)
        return self._update_metrics(loss, y, y_pred, sample_weight)

    def test_step(self, data: tuple[Any, Any, Any]) -> dict[str, Any]:
        """Compute the loss and metrics on a batch without training."""
        x, y, sample_weight = data
        self._clear_losses()
        with stop_recording():
            y_pred = self(x, training=False)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        return self._update_metrics(loss, y, y_pred, sample_weight)

    def predict_step(self, data: Any) -> Any:
        """Return the model's outputs for one batch of inputs, as NumPy arrays."""
        x = data[0] if isinstance(data, tuple) else data
        with stop_recording():
            y_pred = self(x, training=False)
        return tree.map_structure(
            lambda t: t.value if isinstance(t, Tensor) else np.asarray(t), y_pred
        )

    def _update_metrics(self, loss: Any, y: Any, y_pred: Any, sample_weight: Any) -> dict[str, Any]:
        value = float(np.asarray(loss.value if isinstance(loss, Tensor) else loss))
        self._loss_tracker.update_state(value, _batch_size(y_pred))
        if self.compiled_metrics is not None and y is not None:
            self.compiled_metrics.update_state(y, y_pred, sample_weight)
        return self._logs()

    def _logs(self) -> dict[str, Any]:
        logs: dict[str, Any] = {"loss": self._loss_tracker.result()}
        for tracker in self._output_loss_trackers:
            logs[tracker.name] = tracker.result()
        if self.compiled_metrics is not None:
            logs.update(self.compiled_metrics.result())
        return logs

    # fit ---------------------------------------------------------------------------------
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: Any = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool | str = True,
        class_weight: dict[int, float] | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int = 1,
    ) -> Any:
        """Train for `epochs` epochs and return a `History`.

        Args:
            x, y: inputs and targets (arrays, lists/dicts of arrays), or `x` a
                generator/dataset yielding `(x, y)` or `(x, y, sample_weight)` batches.
            batch_size: samples per step (32 by default).
            epochs: the epoch to stop at (counted from `initial_epoch`).
            verbose: 0 silent, 1 progress bar, 2 one line per epoch; `"auto"` is 1.
            callbacks: `Callback` instances.
            validation_split: the last fraction of the arrays kept aside, before shuffling.
            validation_data: `(x_val, y_val)` or `(x_val, y_val, sample_weight)`.
            shuffle: reshuffle the training arrays every epoch.
            class_weight: `{class: weight}` scaling each sample's loss.
            sample_weight: per-sample loss weights.
            initial_epoch: the epoch to start from (to resume training).
            steps_per_epoch: batches per epoch (all the data when None).
            validation_steps, validation_batch_size, validation_freq: as in Keras.

        Example:
            >>> history = model.fit(x_train, y_train, epochs=5, validation_split=0.1)
        """
        self._assert_compiled("fit")
        if epochs < 0 or int(epochs) != epochs:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}.")
        if validation_split and validation_data is None:
            if not is_array_data(x):
                raise ValueError(
                    "validation_split only works with array data; pass validation_data for "
                    "generators and datasets."
                )
            (x, y, sample_weight), validation_data = split_validation(
                x, y, sample_weight, validation_split
            )
        train = DataAdapter(x, y, sample_weight, batch_size, steps_per_epoch, shuffle, class_weight)
        val = None
        if validation_data is not None:
            val = _validation_adapter(
                validation_data, validation_batch_size or batch_size, validation_steps
            )
        verbose = 1 if verbose == "auto" else int(verbose)
        cbs = (
            callbacks
            if isinstance(callbacks, CallbackList)
            else CallbackList(
                callbacks,
                add_history=True,
                add_progbar=verbose != 0,
                model=self,
                verbose=verbose,
                epochs=epochs,
                steps=train.steps_per_epoch,
            )
        )
        self.stop_training = False
        self._initial_epoch = None
        cbs.on_train_begin()
        # BackupAndRestore sets `_initial_epoch` in on_train_begin to resume after a crash.
        initial_epoch = self._initial_epoch or initial_epoch
        epoch_logs: dict[str, Any] = {}
        step_context = self._step_context()
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            step = 0
            logs: dict[str, Any] = {}
            for step, batch in enumerate(train.epoch()):
                cbs.on_train_batch_begin(step)
                with step_context():
                    logs = self.train_step(batch)
                cbs.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            epoch_logs = dict(self._logs())
            if val is not None and (epoch + 1) % validation_freq == 0:
                # As in Keras, validation runs the callbacks' on_test_* hooks.
                val_logs = self._evaluate_adapter(val, cbs)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cbs.on_train_end(epoch_logs)
        return self.history

    # evaluate / predict --------------------------------------------------------------------
    def _evaluate_adapter(self, adapter: DataAdapter, cbs: CallbackList | None) -> dict[str, Any]:
        self.reset_metrics()
        if cbs is not None:
            cbs.on_test_begin()
        step_context = self._step_context()
        for step, batch in enumerate(adapter.epoch()):
            if cbs is not None:
                cbs.on_test_batch_begin(step)
            with step_context():
                logs = self.test_step(batch)
            if cbs is not None:
                cbs.on_test_batch_end(step, logs)
        logs = self._logs()
        if cbs is not None:
            cbs.on_test_end(logs)
        return logs

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: Any = None,
        return_dict: bool = False,
    ) -> Any:
        """Return the loss (and metrics) on data, computed in inference mode.

        Returns:
            The loss alone when there are no metrics, else the list in `metrics_names`
            order, or a dict when `return_dict=True`.
        """
        self._assert_compiled("evaluate")
        adapter = DataAdapter(x, y, sample_weight, batch_size, steps, False)
        verbose = 1 if verbose == "auto" else int(verbose)
        cbs = CallbackList(
            callbacks,
            add_progbar=verbose != 0,
            model=self,
            verbose=verbose,
            epochs=1,
            steps=adapter.steps_per_epoch,
        )
        logs = self._evaluate_adapter(adapter, cbs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: int | None = None,
        callbacks: Any = None,
    ) -> Any:
        """Return the model's outputs for `x` as NumPy arrays (a list for several outputs)."""
        adapter = DataAdapter(x, None, None, batch_size, steps, False)
        verbose = 1 if verbose == "auto" else int(verbose)
        cbs = CallbackList(
            callbacks,
            add_progbar=verbose != 0,
            model=self,
            verbose=verbose,
            epochs=1,
            steps=adapter.steps_per_epoch,
        )
        cbs.on_predict_begin()
        outputs: list[Any] = []
        step_context = self._step_context()
        for step, batch in enumerate(adapter.epoch()):
            cbs.on_predict_batch_begin(step)
            with step_context():
                out = self.predict_step(batch[0])
            outputs.append(out)
            cbs.on_predict_batch_end(step, {"outputs": out})
        cbs.on_predict_end()
        if not outputs:
            raise ValueError("predict() got no data: x is empty.")
        flat = [tree.flatten(o) for o in outputs]
        joined = [np.concatenate([f[i] for f in flat], axis=0) for i in range(len(flat[0]))]
        return tree.pack_sequence_as(outputs[0], joined)

    # Single batches -----------------------------------------------------------------------
    def train_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        class_weight: Any = None,
        return_dict: bool = False,
    ) -> Any:
        """Run one training step on one batch; return the loss (and metrics)."""
        self._assert_compiled("train_on_batch")
        adapter = DataAdapter(
            x, y, sample_weight, batch_size=_batch_size(x), class_weight=class_weight
        )
        with self._step_context()():
            logs = self.train_step(next(adapter.epoch()))
        return logs if return_dict else _flatten_logs(logs)

    def test_on_batch(
        self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False
    ) -> Any:
        """Compute the loss (and metrics) on one batch without training."""
        self._assert_compiled("test_on_batch")
        self.reset_metrics()
        adapter = DataAdapter(x, y, sample_weight, batch_size=_batch_size(x))
        with self._step_context()():
            logs = self.test_step(next(adapter.epoch()))
        return logs if return_dict else _flatten_logs(logs)

    def predict_on_batch(self, x: Any) -> Any:
        """Return the outputs for one batch as NumPy arrays."""
        adapter = DataAdapter(x, None, None, batch_size=_batch_size(x))
        with self._step_context()():
            return self.predict_step(next(adapter.epoch())[0])


def _all_layers(layer: Any) -> Iterator[Any]:
    """The layers nested in `layer` (itself excluded), each once, depth first."""
    seen: set[int] = set()
    stack = list(getattr(layer, "_layers", []))
    while stack:
        sub = stack.pop()
        if id(sub) in seen:
            continue
        seen.add(id(sub))
        yield sub
        stack.extend(getattr(sub, "_layers", []))


def _batch_size(x: Any) -> int:
    leaves = [leaf for leaf in tree.flatten(x) if leaf is not None]
    return int(np.shape(leaves[0])[0]) if leaves else 1


def _flatten_logs(logs: dict[str, Any]) -> Any:
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def _validation_adapter(
    validation_data: Any, batch_size: int | None, steps: int | None
) -> DataAdapter:
    if isinstance(validation_data, tuple):
        if len(validation_data) == 2:
            vx, vy = validation_data
            vsw = None
        elif len(validation_data) == 3:
            vx, vy, vsw = validation_data
        else:
            raise ValueError(
                "validation_data must be (x_val, y_val) or (x_val, y_val, val_sample_weight); "
                f"got a tuple of {len(validation_data)} items."
            )
        return DataAdapter(vx, vy, vsw, batch_size, steps, False)
    return DataAdapter(validation_data, None, None, batch_size, steps, False)


def _serialize_loss(loss: Any) -> Any:
    from engine import losses

    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, (list, tuple)):
        return [_serialize_loss(item) for item in loss]
    if isinstance(loss, dict):
        return {k: _serialize_loss(v) for k, v in loss.items()}
    return losses.serialize(loss)


def _serialize_metrics(metrics: Any) -> Any:
    from engine.saving.serialization import serialize_keras_object

    if metrics is None or isinstance(metrics, str):
        return metrics
    if isinstance(metrics, (list, tuple)):
        return [_serialize_metrics(m) for m in metrics]
    if isinstance(metrics, dict):
        return {k: _serialize_metrics(v) for k, v in metrics.items()}
    try:
        return serialize_keras_object(metrics)
    except ValueError:
        warnings.warn(
            f"Metric {metrics!r} cannot be serialized and will be dropped from the "
            "saved compile config.",
            stacklevel=3,
        )
        return None


def _deserialize_metrics(config: Any) -> Any:
    from engine import metrics

    if config is None or isinstance(config, str):
        return config
    if isinstance(config, list):
        return [m for m in (_deserialize_metrics(c) for c in config) if m is not None]
    if isinstance(config, dict) and "class_name" in config:
        return metrics.deserialize(config)
    if isinstance(config, dict):
        return {k: _deserialize_metrics(v) for k, v in config.items()}
    return config
