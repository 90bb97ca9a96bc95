"""A run's model summary: rebuilt from its spec without training, counts as `model.summary` says."""

from __future__ import annotations

import re

import pytest

import experiments.data
from experiments.model_summary import build_run_model, model_summary
from experiments.runner import execute_run
from experiments.store import Store
from experiments.submit import submit
from tests.experiments.spec_helpers import mlp_raw


def _printed_counts(model) -> dict[str, int]:
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    counts = {}
    for line in lines:
        match = re.match(r"(Total|Trainable|Non-trainable) params: ([\d,]+)", line)
        if match:
            counts[match.group(1)] = int(match.group(2).replace(",", ""))
    return counts


def _batchnorm_spec_without_input_shape() -> dict:
    raw = mlp_raw()
    del raw["model"]["layers"][0]["input_shape"]
    raw["model"]["layers"].insert(1, {"type": "BatchNormalization"})
    return raw


def test_summary_from_the_spec_needs_no_data(store: Store, monkeypatch) -> None:
    run_id = submit(mlp_raw(), store)

    def no_data(*args, **kwargs):
        raise AssertionError("the data was loaded")

    monkeypatch.setattr(experiments.data, "prepare_data", no_data)
    summary = model_summary(store, run_id)
    assert summary.shape_source == "spec"
    assert [(r.name, r.type, r.output_shape, r.params) for r in summary.layers] == [
        ("dense", "Dense", "(None, 16)", 2 * 16 + 16),
        ("dense_1", "Dense", "(None, 1)", 16 + 1),
    ]
    assert summary.total_params == summary.trainable_params == 65
    assert summary.non_trainable_params == 0


def test_summary_without_input_shape_reads_one_sample_of_data(store: Store) -> None:
    run_id = submit(_batchnorm_spec_without_input_shape(), store)
    summary = model_summary(store, run_id)
    assert summary.shape_source == "data" and summary.input_shape == (2,)
    model, _, _ = build_run_model(store, run_id)
    printed = _printed_counts(model)
    assert summary.total_params == printed["Total"] == 129
    assert summary.trainable_params == printed["Trainable"] == 97
    assert summary.non_trainable_params == printed["Non-trainable"] == 32
    norm = next(r for r in summary.layers if r.type == "BatchNormalization")
    assert (norm.params, norm.trainable) == (64, 32)


def test_summary_of_a_trained_run_takes_the_checkpoint_shape(store: Store, monkeypatch) -> None:
    run_id = submit(_batchnorm_spec_without_input_shape(), store, {"fit.epochs": "1"})
    assert execute_run(run_id, store).status == "completed"
    monkeypatch.setattr(experiments.data, "prepare_data", pytest.fail)
    summary = model_summary(store, run_id)
    assert summary.shape_source == "checkpoint" and summary.input_shape == (2,)
    assert summary.total_params == 129
    assert [r.name for r in summary.layers] == _layer_names(store, run_id)


def _layer_names(store: Store, run_id: int) -> list[str]:
    """The layer names the training run recorded statistics for, in model order."""
    stats = sorted(store.layer_stats(run_id), key=lambda s: s.position)
    return list(dict.fromkeys(s.layer for s in stats))


def test_summary_never_downloads_a_dataset(store: Store, monkeypatch) -> None:
    raw = _batchnorm_spec_without_input_shape()
    raw["data"] = {"name": "mnist", "flatten": True}
    run_id = submit(raw, store)
    monkeypatch.setattr("experiments.datasets.is_offline", lambda name: False)
    monkeypatch.setattr(experiments.data, "prepare_data", pytest.fail)
    with pytest.raises(ValueError, match="kerastui datasets download mnist"):
        model_summary(store, run_id)
