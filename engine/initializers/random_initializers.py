"""Random initializers: normal, uniform, truncated normal, variance scaling, orthogonal.

Seeding follows Keras 3. An int seed makes the initializer return the same
values on every call (drawn from `numpy.random.default_rng([seed, 0])`, the
stream Keras's NumPy backend uses, so the values match it). Without a seed
the initializer picks an int seed from the engine's global generator when it
is created, so `engine.utils.set_random_seed` makes models reproducible, and
it too repeats its values on every call. A `SeedGenerator` seed gives fresh
values on each call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from engine.backend.random import SeedGenerator, global_generator
from engine.initializers.initializer import Initializer, float_dtype, standardize_shape

# The standard deviation of a unit normal truncated to [-2, 2]: dividing by it
# makes the truncated draw have the requested standard deviation.
_TRUNCATED_STD = 0.87962566103423978
_SEED_LIMIT = 2**32


def compute_fans(shape: Sequence[int]) -> tuple[int, int]:
    """Return `(fan_in, fan_out)` for a weight shape, as Keras computes them.

    Dense kernels `(in, out)` give `(in, out)`; convolution kernels
    `(*spatial, in, out)` multiply both by the receptive field size.

    Args:
        shape: the weight's shape.
    """
    shape = tuple(shape)
    if len(shape) < 1:
        fan_in = fan_out = 1
    elif len(shape) == 1:
        fan_in = fan_out = shape[0]
    elif len(shape) == 2:
        fan_in, fan_out = shape
    else:
        receptive_field = math.prod(shape[:-2])
        fan_in = shape[-2] * receptive_field
        fan_out = shape[-1] * receptive_field
    return int(fan_in), int(fan_out)


def _seed_to_config(seed: Any) -> Any:
    if isinstance(seed, SeedGenerator):
        return {
            "module": "engine.backend.random",
            "class_name": "SeedGenerator",
            "config": {"seed": seed.seed},
            "registered_name": "SeedGenerator",
        }
    return seed


class RandomInitializer(Initializer):
    """Base class of the seeded initializers.

    Args:
        seed: an int for values that repeat on every call, None for a seed
            drawn from the engine's global generator now, or a
            `SeedGenerator` for fresh values on each call.

    Example:
        >>> init = RandomNormal(seed=1)
        >>> bool((init((3,)) == init((3,))).all())
        True
    """

    def __init__(self, seed: int | SeedGenerator | Mapping[str, Any] | None = None) -> None:
        self._init_seed: Any = seed
        if seed is None:
            seed = int(global_generator().integers(1, 10**9))
        elif isinstance(seed, Mapping):
            if seed.get("class_name") != "SeedGenerator":
                raise ValueError(f"Cannot read an initializer seed from {seed!r}.")
            seed = SeedGenerator((seed.get("config") or {}).get("seed"))
            self._init_seed = seed
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            if not 0 <= seed < _SEED_LIMIT:
                raise ValueError(f"An initializer seed must be in [0, 2**32), got {seed}.")
            seed = int(seed)
            self._init_seed = seed
        elif not isinstance(seed, SeedGenerator):
            raise ValueError(
                "An initializer seed must be an int, None or an "
                f"engine.backend.random.SeedGenerator, got {seed!r}."
            )
        self.seed: int | SeedGenerator = seed

    def _generator(self) -> np.random.Generator:
        if isinstance(self.seed, SeedGenerator):
            return self.seed.generator
        return np.random.default_rng(np.array([self.seed, 0], dtype=np.uint32))

    def get_config(self) -> dict[str, Any]:
        return {"seed": _seed_to_config(self._init_seed)}


def _truncated_normal(
    rng: np.random.Generator, shape: tuple[int, ...], mean: float, stddev: float
) -> np.ndarray:
    """Normal draws redrawn until all lie within two standard deviations of the mean."""
    size = math.prod(shape)
    lo, hi = mean - 2 * stddev, mean + 2 * stddev
    kept = np.empty(0)
    while kept.size < size:
        batch = rng.normal(loc=mean, scale=stddev, size=size)
        kept = np.append(kept, batch[(batch >= lo) & (batch <= hi)])
    return kept[:size].reshape(shape)


class RandomNormal(RandomInitializer):
    """Draw from a normal distribution.

    Args:
        mean: the distribution's mean.
        stddev: its standard deviation.
        seed: see `RandomInitializer`.

    Example:
        >>> RandomNormal(mean=0.0, stddev=1.0, seed=0)((2, 2)).shape
        (2, 2)
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Any = None) -> None:
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        dt = float_dtype(dtype, type(self).__name__)
        dims = standardize_shape(shape)
        return self._generator().normal(loc=self.mean, scale=self.stddev, size=dims).astype(dt)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Draw from a normal distribution, redrawing values beyond two standard deviations.

    Args:
        mean: the distribution's mean.
        stddev: the standard deviation before truncation.
        seed: see `RandomInitializer`.

    Example:
        >>> bool((abs(TruncatedNormal(stddev=1.0, seed=0)((1000,))) <= 2).all())
        True
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Any = None) -> None:
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        dt = float_dtype(dtype, type(self).__name__)
        dims = standardize_shape(shape)
        return _truncated_normal(self._generator(), dims, self.mean, self.stddev).astype(dt)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    """Draw uniformly from `[minval, maxval)`.

    Args:
        minval: the lower bound (inclusive).
        maxval: the upper bound (exclusive).
        seed: see `RandomInitializer`.

    Example:
        >>> values = RandomUniform(0.0, 1.0, seed=0)((100,))
        >>> bool(((values >= 0) & (values < 1)).all())
        True
    """

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: Any = None) -> None:
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed=seed)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        dt = float_dtype(dtype, type(self).__name__)
        dims = standardize_shape(shape)
        return self._generator().uniform(low=self.minval, high=self.maxval, size=dims).astype(dt)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


class VarianceScaling(RandomInitializer):
    """Draw with a variance of `scale / n`, `n` being a fan of the weight shape.

    With a normal distribution the standard deviation is `sqrt(scale / n)`
    (after truncation at two standard deviations for `"truncated_normal"`);
    with `"uniform"` the bounds are `+-sqrt(3 * scale / n)`.

    Args:
        scale: a positive scaling factor.
        mode: `"fan_in"`, `"fan_out"` or `"fan_avg"` (which fan `n` is).
        distribution: `"truncated_normal"` (`"normal"` is an alias),
            `"untruncated_normal"` or `"uniform"`.
        seed: see `RandomInitializer`.

    Example:
        >>> init = VarianceScaling(scale=2.0, mode="fan_in", distribution="uniform", seed=0)
        >>> bool((abs(init((8, 4))) <= 0.866).all())
        True
    """

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: Any = None,
    ) -> None:
        if not scale > 0:
            raise ValueError(f"VarianceScaling scale must be a positive float, got {scale!r}.")
        if mode not in _MODES:
            raise ValueError(
                f"VarianceScaling mode must be one of {', '.join(_MODES)}, got {mode!r}."
            )
        distribution = str(distribution).lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in _DISTRIBUTIONS:
            raise ValueError(
                f"VarianceScaling distribution must be one of {', '.join(_DISTRIBUTIONS)}, "
                f"got {distribution!r}."
            )
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        super().__init__(seed=seed)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        dt = float_dtype(dtype, type(self).__name__)
        dims = standardize_shape(shape)
        fan_in, fan_out = compute_fans(dims)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, fan)
        rng = self._generator()
        if self.distribution == "truncated_normal":
            values = _truncated_normal(rng, dims, 0.0, math.sqrt(variance) / _TRUNCATED_STD)
        elif self.distribution == "untruncated_normal":
            values = rng.normal(loc=0.0, scale=math.sqrt(variance), size=dims)
        else:
            limit = math.sqrt(3.0 * variance)
            values = rng.uniform(low=-limit, high=limit, size=dims)
        return values.astype(dt)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
        }


class _FixedVarianceScaling(VarianceScaling):
    """A named VarianceScaling preset whose only argument is the seed."""

    _preset: tuple[float, str, str] = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed: Any = None) -> None:
        scale, mode, distribution = self._preset
        super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": _seed_to_config(self._init_seed)}


class GlorotUniform(_FixedVarianceScaling):
    """Glorot (Xavier) uniform: bounds `+-sqrt(6 / (fan_in + fan_out))`.

    Args:
        seed: see `RandomInitializer`.

    Example:
        >>> bool((abs(GlorotUniform(seed=0)((4, 2))) <= 1.0).all())
        True
    """

    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_FixedVarianceScaling):
    """Glorot (Xavier) normal: truncated normal with stddev `sqrt(2 / (fan_in + fan_out))`.

    Args:
        seed: see `RandomInitializer`.

    Example:
        >>> GlorotNormal(seed=0)((4, 2)).shape
        (4, 2)
    """

    _preset = (1.0, "fan_avg", "truncated_normal")


class HeNormal(_FixedVarianceScaling):
    """He normal: truncated normal with stddev `sqrt(2 / fan_in)`.

    Args:
        seed: see `RandomInitializer`.

    Example:
        >>> HeNormal(seed=0)((3, 3, 16, 32)).shape
        (3, 3, 16, 32)
    """

    _preset = (2.0, "fan_in", "truncated_normal")


class HeUniform(_FixedVarianceScaling):
    """He uniform: bounds `+-sqrt(6 / fan_in)`.

    Args:
        seed: see `RandomInitializer`.

    Example:
        >>> bool((abs(HeUniform(seed=0)((6, 2))) <= 1.0).all())
        True
    """

    _preset = (2.0, "fan_in", "uniform")


class LecunNormal(_FixedVarianceScaling):
    """LeCun normal: truncated normal with stddev `sqrt(1 / fan_in)` (pairs with selu).

    Args:
        seed: see `RandomInitializer`.

    Example:
        >>> LecunNormal(seed=0)((4, 2)).shape
        (4, 2)
    """

    _preset = (1.0, "fan_in", "truncated_normal")


class LecunUniform(_FixedVarianceScaling):
    """LeCun uniform: bounds `+-sqrt(3 / fan_in)`.

    Args:
        seed: see `RandomInitializer`.

    Example:
        >>> bool((abs(LecunUniform(seed=0)((3, 2))) <= 1.0).all())
        True
    """

    _preset = (1.0, "fan_in", "uniform")


class Orthogonal(RandomInitializer):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal draw.

    Shapes of rank > 2 are treated as `(prod(shape[:-1]), shape[-1])` matrices.
    The result has orthonormal columns when it has at least as many rows as
    columns, orthonormal rows otherwise, times `gain`.

    Args:
        gain: the factor applied to the orthogonal matrix.
        seed: see `RandomInitializer`.

    Example:
        >>> q = Orthogonal(seed=0)((4, 4))
        >>> bool(np.allclose(q.T @ q, np.eye(4), atol=1e-5))
        True
    """

    def __init__(self, gain: float = 1.0, seed: Any = None) -> None:
        self.gain = gain
        super().__init__(seed=seed)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        dt = float_dtype(dtype, type(self).__name__)
        dims = standardize_shape(shape)
        if len(dims) < 2:
            raise ValueError(f"Orthogonal initializer needs a shape of rank 2 or more, got {dims}.")
        rows, cols = math.prod(dims[:-1]), dims[-1]
        # LAPACK has no float16 QR: work in float32 at least.
        work = np.promote_types(dt, np.float32)
        a = self._generator().normal(size=(max(rows, cols), min(rows, cols))).astype(dt)
        q, r = np.linalg.qr(a.astype(work))
        # Fixing the signs of R's diagonal makes Q uniformly distributed.
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(dims)).astype(dt)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "gain": self.gain}


OrthogonalInitializer = Orthogonal
