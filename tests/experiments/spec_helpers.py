"""Helpers shared by the experiment tests: a small valid spec, and which examples can run."""

from __future__ import annotations

import copy
from typing import Any

from experiments.spec import read_spec_file
from experiments.spec.names import dataset_loaders, layer_classes
from experiments.spec.objects import load_builder

_MLP: dict[str, Any] = {
    "experiment": {"name": "spirals_mlp", "tags": ["mlp"]},
    "data": {"name": "spirals", "limit": 256, "one_hot": False},
    "model": {
        "layers": [
            {"type": "Dense", "units": 16, "activation": "relu", "input_shape": [2]},
            {"type": "Dense", "units": 1, "activation": "sigmoid"},
        ]
    },
    "compile": {"optimizer": "adam", "loss": "binary_crossentropy", "metrics": ["accuracy"]},
    "fit": {"epochs": 2, "batch_size": 32, "seed": 0},
}


def mlp_raw() -> dict[str, Any]:
    """A small valid raw spec: an MLP on the built-in spirals data."""
    return copy.deepcopy(_MLP)


def _layer_types(table: dict[str, Any]) -> list[str]:
    types = [table["type"]]
    for key in ("layer", "backward_layer", "cell"):
        if isinstance(table.get(key), dict):
            types.extend(_layer_types(table[key]))
    return types


def missing_engine_pieces(example: str) -> list[str]:
    """What an example needs that the engine does not provide yet (empty when runnable)."""
    raw = read_spec_file(example)
    missing: list[str] = []
    if raw["data"]["name"] not in dataset_loaders():
        missing.append(f"engine.datasets.{raw['data']['name']}")
    for table in raw["model"].get("layers", []):
        missing.extend(
            f"engine.layers.{t}" for t in _layer_types(table) if t not in layer_classes()
        )
    if "builder" in raw["model"]:
        try:
            load_builder(raw["model"]["builder"])
        except ValueError as err:
            missing.append(f"{raw['model']['builder']} ({err})")
    return missing
