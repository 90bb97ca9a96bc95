"""`UpSampling2D`: enlarge images by integer factors, by repetition or bilinear interpolation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend.tensor import Tensor
from engine.layers.layer import Layer
from engine.ops.conv import check_data_format, standardize_tuple
from engine.ops.core import as_array, record

_INTERPOLATIONS = ("nearest", "bilinear")


def upsample_nearest(x: Any, size: tuple[int, int]) -> Tensor:
    """Repeat each pixel of NHWC `x` into a `size[0] x size[1]` block, as one tape entry."""
    a = as_array(x)
    n, h, w, c = a.shape
    sh, sw = size
    out = np.broadcast_to(a[:, :, None, :, None, :], (n, h, sh, w, sw, c)).reshape(
        n, h * sh, w * sw, c
    )

    def vjp(g: np.ndarray, needs: tuple[bool, ...]) -> tuple[np.ndarray]:
        return (g.reshape(n, h, sh, w, sw, c).sum(axis=(2, 4)),)

    return record(out, (x,), vjp)


def bilinear_matrix(length: int, factor: int, dtype: Any) -> np.ndarray:
    """The `(length * factor, length)` matrix of 1D linear interpolation with half-pixel centres.

    Output cell `i` samples the input at `(i + 0.5) / factor - 0.5`, clamped to
    the first and last cells: the convention of `tf.image.resize` (Keras's
    `ops.image.resize` with `antialias=False`) and of
    `torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`.
    """
    rows = np.arange(length * factor)
    src = np.maximum((rows + 0.5) / factor - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(np.intp), length - 1)
    hi = np.minimum(lo + 1, length - 1)
    frac = src - lo
    m = np.zeros((length * factor, length))
    m[rows, lo] = 1.0 - frac
    m[rows, hi] += frac
    return m.astype(dtype)


def upsample_bilinear(x: Any, size: tuple[int, int]) -> Tensor:
    """Bilinear upsampling of NHWC `x` by integer factors, as two small GEMMs each way."""
    a = as_array(x)
    n, h, w, c = a.shape
    mh = bilinear_matrix(h, size[0], a.dtype)
    mw = bilinear_matrix(w, size[1], a.dtype)
    ho, wo = mh.shape[0], mw.shape[0]
    rows = np.matmul(mh, a.reshape(n, h, w * c))
    out = np.matmul(mw, rows.reshape(n * ho, w, c)).reshape(n, ho, wo, c)

    def vjp(g: np.ndarray, needs: tuple[bool, ...]) -> tuple[np.ndarray]:
        gr = np.matmul(mw.T, g.reshape(n * ho, wo, c))
        return (np.matmul(mh.T, gr.reshape(n, ho, w * c)).reshape(a.shape),)

    return record(out, (x,), vjp)


class UpSampling2D(Layer):
    """Upsamples `(batch, height, width, channels)` inputs by integer factors.

    `interpolation="nearest"` repeats rows and columns; `"bilinear"` interpolates
    with half-pixel centres and edge clamping, matching Keras 3 (`ops.image.resize`)
    and PyTorch's `interpolate(mode="bilinear", align_corners=False)`.

    Args:
        size: the factors for rows and columns, an int or `(rows, cols)`.
        data_format: `"channels_last"` or None; `"channels_first"` is rejected.
        interpolation: `"nearest"` or `"bilinear"`.

    Example:
        >>> x = np.array([[1.0, 2.0]], "float32").reshape(1, 1, 2, 1)
        >>> UpSampling2D((1, 2), interpolation="bilinear")(x).numpy().ravel()
        array([1.  , 1.25, 1.75, 2.  ], dtype=float32)
    """

    def __init__(
        self,
        size: int | Sequence[int] = (2, 2),
        data_format: str | None = None,
        interpolation: str = "nearest",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.data_format = check_data_format(data_format)
        self.size = standardize_tuple(size, 2, "size")
        self.interpolation = str(interpolation).lower()
        if self.interpolation not in _INTERPOLATIONS:
            raise ValueError(
                f"UpSampling2D interpolation must be 'nearest' or 'bilinear', got "
                f"{interpolation!r}."
            )

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 4:
            raise ValueError(
                "UpSampling2D expects inputs of rank 4 (batch, height, width, channels), got "
                f"shape {tuple(input_shape)}."
            )
        self.built = True

    def call(self, inputs: Any) -> Any:
        if self.interpolation == "nearest":
            return upsample_nearest(inputs, self.size)
        return upsample_bilinear(inputs, self.size)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        spatial = [None if n is None else n * f for n, f in zip(input_shape[1:3], self.size)]
        return (input_shape[0], *spatial, input_shape[3])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "size": self.size,
                "data_format": self.data_format,
                "interpolation": self.interpolation,
            }
        )
        return config
