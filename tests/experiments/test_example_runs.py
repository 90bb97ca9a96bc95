"""The shipped example specs, run for real through submit and the runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from experiments.data import prepare_data
from experiments.runner import compile_model, execute_run
from experiments.spec import validate_spec
from experiments.store import Store, forget_stores, npz_to_arrays, open_store
from experiments.submit import submit
from tests.experiments.spec_helpers import missing_engine_pieces


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    yield open_store(f"sqlite:///{tmp_path / 'kerastui.db'}")
    forget_stores()


# ---- the headline example ----------------------------------------------------------------


@pytest.mark.slow
def test_shapes_cnn_runs_for_real(sqlite_store: Store) -> None:
    assert missing_engine_pieces("shapes_cnn") == []
    store = sqlite_store
    overrides = {"fit.epochs": "2", "data.limit": "512", "data.validation_limit": "256"}
    run_id = submit("shapes_cnn", store, overrides)
    run = execute_run(run_id, store)
    assert run.status == "completed", run.traceback
    assert (run.epochs_done, run.batches_per_epoch) == (2, 8)

    params = store.run_params(run_id)
    assert params["model.layers[0].type"] == "Conv2D"
    assert params["model.layers[0].kernel_size"] == [3, 3]
    assert (params["fit.epochs"], params["data.limit"], params["fit.batch_size"]) == (2, 512, 64)
    batches = store.metric_history(run_id, kind="batch")
    assert [p.step for p in batches["loss"]] == list(range(1, 17))
    assert len(batches["accuracy"]) == 16
    history = store.epoch_history(run_id)
    assert [h["epoch"] for h in history] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history[1])

    stats = store.layer_stats(run_id)
    layers = ["conv2d", "conv2d_1", "conv2d_2", "dense", "dense_1"]
    assert [(s.epoch, s.layer) for s in stats] == [(e, name) for e in (1, 2) for name in layers]
    assert all(s.grad_norm > 0 and s.update_ratio > 0 for s in stats)

    spec = validate_spec(store.get_run(run_id).spec)
    data = prepare_data(spec.data)
    assert data.x_train.shape == (512, 32, 32, 3) and data.x_val.shape == (256, 32, 32, 3)
    for which in ("last", "best"):
        checkpoint = store.load_checkpoint(run_id, which=which)
        model = compile_model(spec, data)
        model.set_weights(npz_to_arrays(checkpoint.weights))
        twin = compile_model(spec, data)
        twin.set_weights(npz_to_arrays(checkpoint.weights))
        np.testing.assert_array_equal(
            model.predict(data.x_val, verbose=0), twin.predict(data.x_val, verbose=0)
        )
        logs = model.evaluate(data.x_val, data.y_val, verbose=0, return_dict=True)
        recorded = history[checkpoint.info.epoch - 1]
        assert logs["loss"] == pytest.approx(recorded["val_loss"], rel=1e-4)
        assert logs["accuracy"] == pytest.approx(recorded["val_accuracy"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sentiment_bilstm", "sentiment_transformer", "shapes_sweep"])
def test_the_other_builtin_examples_run(sqlite_store: Store, name: str) -> None:
    assert missing_engine_pieces(name) == []
    overrides = {"fit.epochs": "1", "data.limit": "128", "data.validation_limit": "64"}
    run = execute_run(submit(name, sqlite_store, overrides), sqlite_store)
    assert run.status == "completed", run.traceback
    history = sqlite_store.epoch_history(run.id)
    assert len(history) == 1 and np.isfinite(history[0]["val_loss"])
