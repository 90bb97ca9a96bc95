"""Numerical gradient checking shared by the engine tests (float64, central differences)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from engine.backend import GradientTape, Tensor


def numeric_gradients(
    fn: Callable[..., float], arrays: Sequence[np.ndarray], eps: float = 1e-6
) -> list[np.ndarray]:
    """Central-difference gradients of the scalar `fn(*arrays)` w.r.t. each array."""
    grads = []
    for arr in arrays:
        g = np.zeros_like(arr, dtype=np.float64)
        flat, gflat = arr.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            up = fn(*arrays)
            flat[i] = old - eps
            down = fn(*arrays)
            flat[i] = old
            gflat[i] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def check_gradients(
    op: Callable[..., Any],
    *arrays: np.ndarray,
    seed: int = 0,
    atol: float = 1e-6,
    rtol: float = 1e-5,
) -> None:
    """Assert the tape's gradients of `op` match central differences.

    The scalar checked is `sum(op(*tensors) * R)` for a fixed random `R`, which
    exercises the full vector-Jacobian product rather than a plain sum.
    """
    # C order matters: numeric_gradients perturbs entries through reshape(-1) views.
    arrays = [np.array(a, dtype=np.float64, order="C") for a in arrays]
    probe = np.asarray(op(*[Tensor(a.copy()) for a in arrays]).value)
    weights = np.random.default_rng(seed).normal(size=probe.shape)

    def scalar(*arrs: np.ndarray) -> float:
        out = op(*[Tensor(a) for a in arrs])
        return float(np.sum(np.asarray(out.value) * weights))

    tensors = [Tensor(a.copy()) for a in arrays]
    with GradientTape() as tape:
        tape.watch(tensors)
        out = op(*tensors)
        from engine import ops

        total = ops.sum(ops.multiply(out, weights))
    analytic = tape.gradient(total, tensors)
    numeric = numeric_gradients(scalar, arrays)
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        assert a is not None, f"no gradient reached input {i}"
        np.testing.assert_allclose(a, n, atol=atol, rtol=rtol, err_msg=f"gradient of input {i}")


def output_and_gradients(
    fn: Callable[..., Any], arrays: Sequence[np.ndarray | None], g: np.ndarray, **kwargs: Any
) -> list[Any]:
    """`fn(*tensors, **kwargs)`'s output and the gradient of `sum(output * g)` with respect to
    each array, as NumPy arrays (None in the place of an array given as None)."""
    from engine import ops

    tensors = [None if a is None else Tensor(a) for a in arrays]
    given = [t for t in tensors if t is not None]
    with GradientTape() as tape:
        tape.watch(given)
        out = fn(*tensors, **kwargs)
        total = ops.sum(ops.multiply(out, g))
    grads = iter(tape.gradient(total, given))
    return [np.asarray(out.value), *(None if t is None else next(grads) for t in tensors)]
