"""Checks shared by the layer tests: numeric gradients through a layer, config round trips."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from engine import layers, ops
from engine.backend import GradientTape, Tensor
from tests.engine.gradcheck import numeric_gradients


def check_layer_gradients(
    layer: Any,
    inputs: np.ndarray | Sequence[np.ndarray],
    *,
    as_list: bool = False,
    training: bool = False,
    before_call: Callable[[], None] | None = None,
    call_kwargs: dict[str, Any] | None = None,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    seed: int = 0,
) -> None:
    """Assert the tape's gradients of `layer` match central differences, in float64.

    The scalar checked is `sum(layer(x) * R)` for a fixed random `R`, against
    every input and every trainable weight of the layer.

    Args:
        layer: the layer (floatx must already be float64 when it was created).
        inputs: one array, or several when `as_list` (a merge layer's list).
        as_list: call the layer on a list of tensors.
        training: the `training` flag of each call.
        before_call: run before every call, e.g. to reseed a dropout layer.
        call_kwargs: extra keyword arguments of the call (e.g. `mask`).
    """
    arrays = [np.array(a, dtype=np.float64) for a in (inputs if as_list else [inputs])]
    kwargs = dict(call_kwargs or {})

    def run(arrs: Sequence[np.ndarray]) -> Tensor:
        if before_call is not None:
            before_call()
        tensors = [a if isinstance(a, Tensor) else Tensor(a) for a in arrs]
        return layer(tensors if as_list else tensors[0], training=training, **kwargs)

    probe = run([a.copy() for a in arrays])
    assert probe.dtype == np.float64, f"the layer computed in {probe.dtype}, not float64"
    weights = list(layer.trainable_weights)
    originals = [w.value.copy() for w in weights]
    r = np.random.default_rng(seed).normal(size=probe.shape)

    tensors = [Tensor(a.copy()) for a in arrays]
    with GradientTape() as tape:
        tape.watch(tensors)
        total = ops.sum(ops.multiply(run(tensors), r))
    analytic = tape.gradient(total, [*tensors, *weights])

    def scalar(*arrs: np.ndarray) -> float:
        for w, value in zip(weights, arrs[len(arrays) :]):
            w.assign(value)
        return float(np.sum(np.asarray(run(arrs[: len(arrays)]).value) * r))

    try:
        numeric = numeric_gradients(scalar, [*arrays, *[o.copy() for o in originals]])
    finally:
        for w, o in zip(weights, originals):
            w.assign(o)
    names = [f"input {i}" for i in range(len(arrays))] + [w.name for w in weights]
    for name, a, n in zip(names, analytic, numeric):
        assert a is not None, f"no gradient reached {name}"
        np.testing.assert_allclose(a, n, atol=atol, rtol=rtol, err_msg=f"gradient of {name}")


def assert_config_round_trip(layer: Any) -> Any:
    """Serialize `layer` through JSON, rebuild it, and check the config survives unchanged."""
    config = layer.get_config()
    text = json.dumps(layers.serialize(layer))
    clone = layers.deserialize(json.loads(text))
    assert type(clone) is type(layer)
    assert clone.get_config() == config
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == config
    return clone


def away_from(x: np.ndarray, points: Sequence[float], gap: float = 1e-2) -> np.ndarray:
    """`x` with entries closer than `gap` to a kink in `points` pushed `2 * gap` away."""
    x = np.array(x, dtype=np.float64)
    for p in points:
        near = np.abs(x - p) < gap
        x[near] = p + 2 * gap
    return x
