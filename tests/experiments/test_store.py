"""Round trips of every table of the tracking store, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import func, select

from experiments.store import (
    CorruptCheckpointError,
    InvalidStateError,
    LayerStatRow,
    MetricRow,
    NotFoundError,
    RunNotFoundError,
    Store,
    arrays_to_npz,
    capture_environment,
    npz_to_arrays,
)
from experiments.store.models import (
    Checkpoint,
    Environment,
    LayerStat,
    LogLine,
    Metric,
    MetricSummary,
    Note,
    Param,
    Run,
    Tag,
)

SPEC = {
    "experiment": {"name": "shapes_cnn", "tags": ["cnn"]},
    "data": {"name": "shapes", "limit": 512, "validation_split": 0.1},
    "model": {
        "layers": [
            {"type": "Conv2D", "filters": 32, "kernel_size": [3, 3], "input_shape": [32, 32, 3]},
            {"type": "Dense", "units": 10, "activation": "softmax", "use_bias": True},
        ]
    },
    "compile": {
        "optimizer": {"type": "adam", "learning_rate": 3e-4},
        "loss": "categorical_crossentropy",
        "metrics": ["accuracy"],
    },
    "fit": {"epochs": 2, "batch_size": 64, "seed": 7, "shuffle": True, "class_weight": None},
}


def test_run_round_trip(store: Store) -> None:
    run = store.create_run(
        "shapes_cnn",
        SPEC,
        description="the Keras CIFAR-10 CNN",
        seed=7,
        priority=3,
        epochs_total=2,
        tags={"stage": "baseline"},
    )
    assert run.status == "queued"
    assert run.name.endswith(f"-{run.id}")
    again = store.get_run(run.name)
    assert again == run
    assert store.get_run(str(run.id)) == run
    assert again.spec == SPEC
    assert (again.seed, again.priority, again.epochs_total, again.attempt) == (7, 3, 2, 1)
    assert again.created_at is not None and again.created_at.tzinfo is not None
    assert store.list_experiments()[0].description == "the Keras CIFAR-10 CNN"
    assert store.list_experiments()[0].run_count == 1
    assert store.ensure_experiment("shapes_cnn").run_count == 1
    assert store.ensure_experiment("empty", "nothing yet").description == "nothing yet"
    assert store.tags(run.id) == {"stage": "baseline"}


def test_params_are_flattened_with_their_types(store: Store) -> None:
    run = store.create_run("shapes_cnn", SPEC)
    params = store.run_params(run.id)
    assert params["compile.optimizer.learning_rate"] == 3e-4
    assert params["fit.batch_size"] == 64 and isinstance(params["fit.batch_size"], int)
    assert params["fit.shuffle"] is True
    assert params["fit.class_weight"] is None
    assert params["model.layers[0].type"] == "Conv2D"
    assert params["model.layers[0].kernel_size"] == [3, 3]
    assert params["compile.metrics"] == ["accuracy"]
    assert params["experiment.tags"] == ["cnn"]
    with store._read() as session:
        row = session.get(Param, (run.id, "fit.batch_size"))
        assert (row.value_text, row.value_num, row.value_type) == ("64", 64.0, "int")
        row = session.get(Param, (run.id, "compile.optimizer.type"))
        assert (row.value_text, row.value_num) == ("adam", None)


def test_named_runs_and_lookup_errors(store: Store) -> None:
    run = store.create_run("demo", {"fit": {"epochs": 1}}, name="baseline")
    assert store.resolve_run("baseline") == run.id
    with pytest.raises(InvalidStateError, match="already exists"):
        store.create_run("demo", {}, name="baseline")
    with pytest.raises(ValueError, match="reads as a run id"):
        store.create_run("demo", {}, name="42")
    with pytest.raises(RunNotFoundError, match="no run has id or name 'nope'"):
        store.get_run("nope")
    with pytest.raises(RunNotFoundError):
        store.get_run(999)
    with pytest.raises(ValueError, match="non-empty name"):
        store.create_run("", {})
    with pytest.raises(InvalidStateError, match="parent run"):
        store.create_run("demo", {}, parent_run_id=999)
    assert store.count_runs() == 1


def test_list_runs_filters_and_orders(store: Store) -> None:
    first = store.create_run("a", {"x": 1})
    second = store.create_run("b", {"x": 2})
    third = store.create_run("a", {"x": 3})
    assert [r.id for r in store.list_runs()] == [third.id, second.id, first.id]
    assert [r.id for r in store.list_runs(experiment="a")] == [third.id, first.id]
    assert all(r.spec is None for r in store.list_runs())
    assert store.list_runs(with_spec=True, limit=1)[0].spec == {"x": 3}
    assert [r.id for r in store.list_runs(limit=1, offset=1)] == [second.id]
    store.request_cancel(second.id)
    assert store.status_counts() == {"cancelled": 1, "queued": 2}
    assert store.count_runs(status=["queued", "cancelled"]) == 3
    assert store.count_runs(status="cancelled") == 1
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    assert store.list_runs(updated_since=later) == []
    assert store.run_ids() == {first.id, second.id, third.id}


def test_sweeps_round_trip(store: Store) -> None:
    sweep = store.create_sweep("shapes_cnn", "lr-grid", "grid", {"parameters": {"lr": [1, 2]}})
    runs = [store.create_run("shapes_cnn", SPEC, sweep_id=sweep.id) for _ in range(2)]
    assert store.get_sweep(sweep.id) == sweep
    assert store.list_sweeps("shapes_cnn") == [sweep]
    assert sweep.config == {"parameters": {"lr": [1, 2]}}
    assert {r.id for r in store.list_runs(sweep_id=sweep.id)} == {r.id for r in runs}
    with pytest.raises(NotFoundError):
        store.get_sweep(sweep.id + 1)


def test_tags_and_notes(store: Store) -> None:
    run = store.create_run("demo", {})
    store.set_tag(run.id, "stage", "draft")
    store.set_tag(run.id, "stage", "final")
    store.set_tag(run.id, "baseline")
    assert store.tags(run.id) == {"baseline": "", "stage": "final"}
    assert store.remove_tag(run.id, "baseline") is True
    assert store.remove_tag(run.id, "baseline") is False
    assert store.tags_for([run.id]) == {run.id: {"stage": "final"}}
    store.add_note(run.id, "first")
    store.add_note(run.id, "second")
    assert [n.text for n in store.notes(run.id)] == ["first", "second"]
    with pytest.raises(ValueError, match="needs some text"):
        store.add_note(run.id, "  ")
    with pytest.raises(RunNotFoundError):
        store.set_tag(run.id + 1, "x")


def test_logs_round_trip_and_follow(store: Store) -> None:
    run = store.create_run("demo", {})
    assert store.append_logs(run.id, ["Epoch 1/2", ("WARNING", "slow batch")]) == 2
    lines = store.logs(run.id)
    assert [(line.level, line.message) for line in lines] == [
        ("INFO", "Epoch 1/2"),
        ("WARNING", "slow batch"),
    ]
    store.append_logs(run.id, ["Epoch 2/2"])
    assert [line.message for line in store.logs(run.id, after_id=lines[-1].id)] == ["Epoch 2/2"]
    with pytest.raises(ValueError, match="log level"):
        store.append_logs(run.id, [("LOUD", "x")])


def test_environment_round_trip(store: Store) -> None:
    run = store.create_run("demo", {})
    assert store.environment(run.id) is None
    saved = store.save_environment(run.id)
    assert saved == capture_environment() | {"threadpools": saved["threadpools"]}
    loaded = store.environment(run.id)
    assert loaded == saved
    assert loaded["numpy"] == np.__version__
    assert "python" in loaded and "platform" in loaded and "packages" in loaded


def test_layer_stats_round_trip(store: Store) -> None:
    run = store.create_run("demo", {})
    rows = [LayerStatRow("conv2d", 3.5, 0.25, 1e-3), LayerStatRow("dense", 1.5, None, 2e-3)]
    store.log_layer_stats(run.id, 1, rows)
    store.log_layer_stats(run.id, 2, [LayerStatRow("conv2d", 3.75, float("nan"), 5e-4)])
    stats = store.layer_stats(run.id)
    assert [(s.epoch, s.layer, s.position) for s in stats] == [
        (1, "conv2d", 0),
        (1, "dense", 1),
        (2, "conv2d", 0),
    ]
    assert (stats[0].weight_norm, stats[0].grad_norm, stats[0].update_ratio) == (3.5, 0.25, 1e-3)
    assert stats[1].grad_norm is None and stats[2].grad_norm is None
    store.log_layer_stats(run.id, 2, [LayerStatRow("conv2d", 4.0, 0.5, 1e-4)])
    assert [s.weight_norm for s in store.layer_stats(run.id) if s.epoch == 2] == [4.0]


def test_checkpoints_round_trip_best_and_last(store: Store) -> None:
    run = store.create_run("demo", {})
    weights = [np.arange(6, dtype="float32").reshape(2, 3), np.ones(3, dtype="float32")]
    for epoch, val_loss in ((1, 0.9), (2, 0.5), (3, 0.7)):
        store.save_checkpoint(
            run.id,
            epoch,
            arrays_to_npz([w * epoch for w in weights]),
            optimizer_state=arrays_to_npz([np.array([epoch])]),
            step=epoch * 10,
            state={"rng": [1, 2, epoch]},
            monitor="val_loss",
            monitor_value=val_loss,
        )
    listing = store.list_checkpoints(run.id)
    assert [(c.epoch, c.is_best, c.is_last) for c in listing] == [
        (1, False, False),
        (2, True, False),
        (3, False, True),
    ]
    best = store.load_checkpoint(run.id, which="best")
    assert best.info.epoch == 2 and best.state == {"rng": [1, 2, 2]}
    for loaded, original in zip(npz_to_arrays(best.weights), weights):
        np.testing.assert_array_equal(loaded, original * 2)
        assert loaded.dtype == np.float32
    assert npz_to_arrays(best.optimizer_state)[0].tolist() == [2]
    assert store.load_checkpoint(run.id).info.epoch == 3
    assert store.load_checkpoint(run.id, epoch=1).info.step == 10
    assert listing[0].size_bytes == len(store.load_checkpoint(run.id, epoch=1).weights) + len(
        store.load_checkpoint(run.id, epoch=1).optimizer_state
    )
    assert store.prune_checkpoints(run.id, keep_last=1) == 1
    assert [c.epoch for c in store.list_checkpoints(run.id)] == [2, 3]
    with pytest.raises(NotFoundError, match="checkpointed epochs: \\[2, 3\\]"):
        store.load_checkpoint(run.id, epoch=1)


def test_explicit_best_flag_and_type_check(store: Store) -> None:
    run = store.create_run("demo", {})
    store.save_checkpoint(run.id, 1, arrays_to_npz([np.zeros(2)]), is_best=True)
    store.save_checkpoint(run.id, 2, arrays_to_npz([np.ones(2)]), is_best=False)
    assert store.load_checkpoint(run.id, which="best").info.epoch == 1
    with pytest.raises(TypeError, match=r"\.npz bytes"):
        store.save_checkpoint(run.id, 3, [np.zeros(2)])  # type: ignore[arg-type]


def test_checkpoint_sha256_is_verified_on_load(store: Store) -> None:
    run = store.create_run("demo", {})
    info = store.save_checkpoint(
        run.id, 1, arrays_to_npz([np.ones(4)]), optimizer_state=b"optimizer"
    )
    with store._write() as session:
        session.get(Checkpoint, info.id).weights = arrays_to_npz([np.zeros(4)])
    with pytest.raises(CorruptCheckpointError, match="no longer match their sha256"):
        store.load_checkpoint(run.id)
    with store._write() as session:
        checkpoint = session.get(Checkpoint, info.id)
        checkpoint.weights = arrays_to_npz([np.ones(4)])
        checkpoint.optimizer_state = b"tampered"
    with pytest.raises(CorruptCheckpointError, match="optimizer state"):
        store.load_checkpoint(run.id)


def test_npz_never_unpickles() -> None:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, arr_0=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        npz_to_arrays(buffer.getvalue())


def test_delete_run_cascades(store: Store) -> None:
    run = store.create_run("demo", SPEC, tags={"a": "b"})
    keep = store.create_run("demo", SPEC)
    child = store.create_run("demo", SPEC, parent_run_id=run.id)
    for target in (run, keep):
        store.log_metrics(target.id, [MetricRow("loss", 0.5, 1, 1, "epoch")])
        store.save_checkpoint(target.id, 1, arrays_to_npz([np.ones(2)]))
        store.log_layer_stats(target.id, 1, [LayerStatRow("dense", 1.0, 1.0, 1.0)])
        store.add_note(target.id, "note")
        store.append_logs(target.id, ["line"])
        store.save_environment(target.id, {"python": "3", "platform": "x"})
    store.delete_run(run.id)
    with store._read() as session:
        for model in (Param, Metric, MetricSummary, Checkpoint, LayerStat, Tag, Note, LogLine):
            remaining = session.scalar(
                select(func.count()).select_from(model).where(model.run_id == run.id)
            )
            assert remaining == 0, model.__tablename__
            kept = session.scalar(
                select(func.count()).select_from(model).where(model.run_id == keep.id)
            )
            assert kept > 0 or model is Tag, model.__tablename__
        assert session.get(Environment, run.id) is None
        assert session.get(Run, child.id).parent_run_id is None
    with pytest.raises(RunNotFoundError):
        store.delete_run(run.id)


def test_rows_for_a_missing_run_say_so(store: Store) -> None:
    run = store.create_run("demo", {})
    store.delete_run(run.id)
    with pytest.raises(RunNotFoundError, match=f"no run has id {run.id}"):
        store.log_metrics(run.id, [MetricRow("loss", 1.0, 1, 1)] * 3)
    with pytest.raises(RunNotFoundError):
        store.append_logs(run.id, ["line"])
    with pytest.raises(RunNotFoundError):
        store.log_layer_stats(run.id, 1, [LayerStatRow("dense", 1.0, 1.0, 1.0)])
    with pytest.raises(RunNotFoundError):
        store.save_checkpoint(run.id, 1, arrays_to_npz([np.ones(1)]))


def test_running_runs_cannot_be_deleted(store: Store) -> None:
    run = store.create_run("demo", {})
    store.claim_run(run.id, "me")
    with pytest.raises(InvalidStateError, match="cancel it"):
        store.delete_run(run.id)


def test_info_reports_revision_and_counts(store: Store) -> None:
    store.create_run("demo", {})
    info = store.info()
    assert info["revision"] == info["head"] == "0001"
    assert info["counts"]["runs"] == 1
    assert "metric_summaries" in info["tables"]
