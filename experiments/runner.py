"""Running one run: from its spec in the database to a final status.

`execute_run` is what a worker's child process (or `kerastui run` in the
foreground) calls. Everything it needs is in the database: the resolved spec,
and, to resume, the checkpoints. So any process that reaches the database can
execute any run.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.backend import naming
from engine.callbacks import Callback
from engine.utils import set_random_seed
from experiments import checkpoints
from experiments.data import PreparedData, prepare_data
from experiments.spec import ExperimentSpec, resolve, validate_spec
from experiments.spec.objects import (
    build_model,
    make_callback,
    make_loss,
    make_metric,
    make_optimizer,
)
from experiments.store.errors import InvalidStateError
from experiments.store.records import RunRecord
from experiments.tracking import (
    LossNotFinite,
    RunCancelled,
    RunInterrupted,
    RunLost,
    TrackingCallback,
)

logger = logging.getLogger(__name__)


def default_worker_id() -> str:
    """`host:pid:fg`: who executes a run started in the foreground."""
    return f"{socket.gethostname()}:{os.getpid()}:fg"


@dataclass(frozen=True)
class Resumption:
    """Where a resumed run starts: after `epoch` complete epochs, at global step `step`."""

    epoch: int
    step: int


def compile_model(spec: ExperimentSpec, data: PreparedData) -> Any:
    """The spec's model, built for the data's input shape and compiled as `[compile]` says.

    Args:
        spec: the validated spec.
        data: the prepared data (its sample shape builds the model).
    """
    return compile_model_for_shape(spec, data.input_shape)


def compile_model_for_shape(spec: ExperimentSpec, input_shape: tuple[int, ...] | None) -> Any:
    """The spec's model, built for inputs of `input_shape` and compiled as `[compile]` says.

    Args:
        spec: the validated spec.
        input_shape: one sample's shape (without the batch axis).
    """
    tables = resolve(spec)
    model = build_model(tables["model"], input_shape, name=spec.model.name)
    model.compile(
        optimizer=make_optimizer(tables["compile"]["optimizer"]),
        loss=make_loss(tables["compile"]["loss"]),
        metrics=[make_metric(m) for m in tables["compile"]["metrics"]] or None,
    )
    return model


def monitor_for(spec: ExperimentSpec, data: PreparedData) -> str:
    """The metric that picks the best checkpoint: `[tracking] monitor`, else val_loss or loss."""
    if spec.tracking.monitor:
        return spec.tracking.monitor
    has_validation = data.validation_data is not None or spec.fit.validation_split > 0
    return "val_loss" if has_validation else "loss"


def resume_from_checkpoint(store: Any, run_id: int, model: Any) -> Resumption | None:
    """Restore the newest checkpoint of a complete epoch into `model`, and forget what followed.

    Metric rows, layer statistics and checkpoints recorded after that epoch (by
    an attempt that died or was cancelled) are deleted, so the resumed epochs
    replace them rather than duplicate them. The `[fit]` callbacks start afresh
    (an EarlyStopping's patience counts again from the resumed epoch).

    Args:
        store: the tracking store.
        run_id: the run.
        model: the run's model, compiled, built as the spec says.

    Returns:
        Where training resumes, or None when the run has no complete-epoch checkpoint.
    """
    for info in sorted(store.list_checkpoints(run_id), key=lambda c: (c.epoch, c.id), reverse=True):
        data = store.load_checkpoint(run_id, checkpoint_id=info.id)
        if not data.state.get("complete"):
            continue
        checkpoints.restore(model, data.weights, data.optimizer_state, data.state)
        store.rewind_run(run_id, info.epoch)
        return Resumption(epoch=info.epoch, step=int(data.state.get("step", info.step)))
    return None


def _start(store: Any, run_id: int, worker_id: str) -> RunRecord:
    run = store.get_run(run_id)
    if run.status == "queued":
        claimed = store.claim_run(run_id, worker_id)
        if claimed is None:
            raise InvalidStateError(
                f"run {run.name} was claimed by another process; not running it"
            )
        return claimed
    if run.status == "running" and run.worker_id == worker_id:
        return run
    raise InvalidStateError(
        f"run {run.name} is {run.status}"
        + (f" on {run.worker_id}" if run.status == "running" else "")
        + "; only a queued run (or one this worker claimed) can be executed"
    )


def execute_run(
    run_id: int,
    store: Any = None,
    *,
    worker_id: str | None = None,
    callbacks: Sequence[Callback] = (),
    verbose: int = 0,
    resume: bool = True,
) -> RunRecord:
    """Train one run and record everything about it; return its final record.

    The run must be queued (it is claimed here) or already claimed by
    `worker_id`. Its spec is read from the database and validated, the data and
    the model are built, every random source is seeded with `fit.seed`, and
    `fit` runs with a `TrackingCallback`. With `resume`, a run that has a
    checkpoint of a complete epoch continues from it.

    The final status is `completed`; `cancelled` (with a checkpoint of where it
    stopped) when a cancel was requested or the process got Ctrl-C;
    `interrupted` (with a checkpoint too) when a signal handler raised
    `RunInterrupted`; `failed` with the error and traceback when anything
    raised, or with `loss became NaN at epoch E, batch B`. A run taken over by
    someone else (marked interrupted after a missed heartbeat) is left as it is.

    Args:
        run_id: the run's id.
        store: the tracking store; `experiments.store.open_store()` when None.
        worker_id: who executes it (`host:pid:fg` when None).
        callbacks: more callbacks for `fit` (a progress display).
        verbose: `fit`'s verbosity (0: silent).
        resume: continue from the newest complete-epoch checkpoint, if any.

    Raises:
        InvalidStateError: the run is neither queued nor claimed by `worker_id`.
        KeyboardInterrupt: re-raised after recording the run as cancelled.

    Example:
        >>> run_id = submit("shapes_cnn", store, {"fit.epochs": "2"})
        >>> execute_run(run_id, store).status
        'completed'
    """
    if store is None:
        from experiments.store import open_store

        store = open_store()
    worker_id = worker_id or default_worker_id()
    run = _start(store, run_id, worker_id)
    tracker: TrackingCallback | None = None
    try:
        store.save_environment(run_id)
        spec = validate_spec(run.spec or {})
        # Fresh default names (conv2d, conv2d_1, ...) keep layer names stable across attempts.
        naming.clear_session()
        set_random_seed(spec.fit.seed)
        data = prepare_data(spec.data, spec.fit.validation_split)
        model = compile_model(spec, data)
        start = resume_from_checkpoint(store, run_id, model) if resume else None
        tracker = TrackingCallback(
            store,
            run_id,
            spec.tracking,
            spec.fit.epochs,
            monitor_for(spec, data),
            initial_epoch=start.epoch if start else 0,
            initial_step=start.step if start else 0,
        )
        if start:
            store.append_logs(run_id, [f"resuming after epoch {start.epoch}"])
        model.fit(
            data.x_train,
            data.y_train,
            batch_size=spec.fit.batch_size,
            epochs=spec.fit.epochs,
            verbose=verbose,
            callbacks=[
                *(make_callback(c.model_dump()) for c in spec.fit.callbacks),
                *callbacks,
                *_sweep_callbacks(store, run),
                tracker,
            ],
            validation_split=spec.fit.validation_split,
            validation_data=data.validation_data,
            shuffle=spec.fit.shuffle,
            initial_epoch=start.epoch if start else 0,
            steps_per_epoch=spec.fit.steps_per_epoch,
            validation_freq=spec.fit.validation_freq,
        )
        if tracker.epoch > 0:
            # The last epoch is checkpointed even when `checkpoint_every` skipped it.
            tracker.checkpoint_epoch()
        store.mark_completed(run_id)
    except RunLost:
        logger.warning("run %s was taken over while training; stopping without writing", run_id)
    except (RunCancelled, KeyboardInterrupt) as stop:
        _stop(store, run_id, tracker, checkpoint=True)
        store.mark_cancelled(run_id)
        if isinstance(stop, KeyboardInterrupt):
            raise
    except RunInterrupted as stop:
        _stop(store, run_id, tracker, checkpoint=True)
        store.mark_interrupted(run_id, str(stop))
    except LossNotFinite as err:
        _stop(store, run_id, tracker, checkpoint=False)
        store.mark_failed(run_id, str(err))
    except Exception as err:
        _stop(store, run_id, tracker, checkpoint=False)
        store.mark_failed(run_id, f"{type(err).__name__}: {err}", traceback.format_exc())
    finally:
        if tracker is not None:
            tracker.detach()
    return store.get_run(run_id)


def _sweep_callbacks(store: Any, run: RunRecord) -> list[Callback]:
    """The median-stopping rule of the run's sweep, when it has one."""
    from experiments.sweeps import early_stopping_for

    rule = early_stopping_for(store, run)
    return [rule] if rule is not None else []


def _stop(store: Any, run_id: int, tracker: TrackingCallback | None, *, checkpoint: bool) -> None:
    """Write what the tracker still holds (and a checkpoint of where training stopped)."""
    if tracker is None or tracker.model is None:
        return
    tracker.write_pending()
    if checkpoint and tracker.epoch > 0:
        if tracker.epoch_complete:
            tracker.checkpoint_epoch()
        else:
            tracker.save_checkpoint(complete=False)
