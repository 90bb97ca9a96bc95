"""Batched geometric image transforms (NHWC) with hand-written backward passes.

The random augmentation layers reduce to three linear maps of the pixels: an
affine resampling (translation, rotation, zoom), a bilinear resize (the crop
fallback) and a flip. Each is vectorised over the whole batch: the affine
sampler computes the source coordinate of every output pixel at once, folds
out-of-range neighbours back into the image according to the fill mode, and
gathers the (up to four) neighbours with one fancy index each. The backward
pass scatters the gradient with `np.bincount`, never with `np.add.at`.

Coordinates follow Keras's `ops.image.affine_transform`: a transform row
`[a0, a1, a2, b0, b1, b2, c0, c1]` maps the output pixel `(x, y)` to the input
point `((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)` with
`k = c0 x + c1 y + 1`, in pixel-index units (pixel centres at integers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.tensor import Tensor
from engine.ops.core import as_array, record

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")


def _fold(index: np.ndarray, size: int, fill_mode: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Map integer indices outside `[0, size)` back inside; `valid` marks real pixels.

    The fold is computed once for the small range of indices that occur and
    applied as a table lookup, which is much cheaper than `np.mod` per pixel.
    """
    low = int(index.min())
    span = np.arange(low, int(index.max()) + 1)
    if fill_mode == "reflect":
        # Reflection about the edge of the last pixel, (d c b a | a b c d | d c b a):
        # the pattern repeats every 2 * size.
        span = np.mod(span, 2 * size)
        table = np.where(span >= size, 2 * size - 1 - span, span)
    elif fill_mode == "wrap":
        table = np.mod(span, size)
    else:
        table = np.clip(span, 0, size - 1)
    offset = index - low
    folded = np.take(table.astype(np.intp), offset)
    if fill_mode != "constant":
        return folded, None
    return folded, np.take((span >= 0) & (span < size), offset)


def _sample_points(
    transforms: np.ndarray, height: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """The input coordinates `(x_in, y_in)`, each `(batch, height, width)`.

    The transform is combined in float64 and the per-pixel arithmetic runs in
    float32, exact for the integer coordinates of whole-pixel shifts and
    quarter turns.
    """
    t = transforms.astype(np.float64)
    ys = np.arange(height, dtype=np.float32)[:, None]
    xs = np.arange(width, dtype=np.float32)[None, :]

    def coef(i: int) -> np.ndarray:
        return t[:, i].astype(np.float32)[:, None, None]

    if np.any(t[:, 6:8]):
        k = coef(6) * xs + coef(7) * ys + 1
        return (coef(0) * xs + coef(1) * ys + coef(2)) / k, (
            coef(3) * xs + coef(4) * ys + coef(5)
        ) / k
    return coef(0) * xs + coef(1) * ys + coef(2), coef(3) * xs + coef(4) * ys + coef(5)


def affine_transform(
    images: Any,
    transforms: np.ndarray,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: float = 0.0,
) -> Tensor:
    """Resample each image of an NHWC batch through its own projective transform.

    Args:
        images: a float tensor or array of shape `(batch, height, width, channels)`.
        transforms: `(batch, 8)` rows `[a0, a1, a2, b0, b1, b2, c0, c1]` mapping
            output pixels to input points (see the module docstring).
        interpolation: `"bilinear"` or `"nearest"`.
        fill_mode: how points outside the image are filled: `"reflect"`,
            `"wrap"`, `"constant"` or `"nearest"`.
        fill_value: the value outside the image when `fill_mode="constant"`.

    Returns:
        A tensor of the same shape and dtype; the gradient flows to `images`.

    Example:
        >>> shift_right = np.array([[1, 0, -1, 0, 1, 0, 0, 0]], "float32")
        >>> x = np.arange(4, dtype="float32").reshape(1, 1, 4, 1)
        >>> affine_transform(x, shift_right).numpy().ravel().tolist()
        [0.0, 0.0, 1.0, 2.0]
    """
    x = as_array(images)
    batch, height, width, channels = x.shape
    x_in, y_in = _sample_points(np.asarray(transforms), height, width)
    if interpolation == "nearest":
        # Round half up, like scipy's order-0 `map_coordinates`.
        rows = [(np.floor(y_in + 0.5).astype(np.intp), None)]
        cols = [(np.floor(x_in + 0.5).astype(np.intp), None)]
    else:
        x0, y0 = np.floor(x_in), np.floor(y_in)
        fx, fy = (x_in - x0).astype(x.dtype), (y_in - y0).astype(x.dtype)
        x0i, y0i = x0.astype(np.intp), y0.astype(np.intp)
        rows = [(y0i, 1 - fy), (y0i + 1, fy)]
        cols = [(x0i, 1 - fx), (x0i + 1, fx)]
    folded_rows = [(*_fold(r, height, fill_mode), w) for r, w in rows]
    folded_cols = [(*_fold(c, width, fill_mode), w) for c, w in cols]
    n = batch * height * width
    base = (np.arange(batch, dtype=np.intp) * (height * width))[:, None, None]
    # Channel-major rows make each gather a contiguous `np.take` and each weight
    # multiply a plain row broadcast, several times faster than NHWC fancy indexing.
    planes = np.ascontiguousarray(x.reshape(n, channels).T)
    out = np.zeros((channels, n), dtype=x.dtype)
    gathered = np.empty((channels, n), dtype=x.dtype)
    missing = np.zeros(n, dtype=x.dtype) if fill_mode == "constant" else None
    indices: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    for row, valid_row, w_row in folded_rows:
        row_start = base + row * width
        for col, valid_col, w_col in folded_cols:
            idx = (row_start + col).ravel()
            if w_row is None or w_col is None:
                w = np.ones(n, dtype=x.dtype)
            else:
                w = (w_row * w_col).ravel()
            if missing is not None:
                valid = (valid_row & valid_col).ravel()
                missing += np.where(valid, 0, w)
                w = np.where(valid, w, 0).astype(x.dtype)
            np.take(planes, idx, axis=1, out=gathered)
            gathered *= w
            out += gathered
            indices.append(idx)
            weights.append(w)
    if missing is not None and fill_value != 0:
        out += (missing * fill_value).astype(x.dtype)

    def vjp(g: np.ndarray, needs: tuple[bool, ...]) -> tuple[np.ndarray | None]:
        if not needs[0]:
            return (None,)
        idx = np.concatenate(indices)
        g_planes = g.reshape(n, channels).T
        grad = np.empty((n, channels), dtype=x.dtype)
        for c in range(channels):
            contributions = np.concatenate([w * g_planes[c] for w in weights])
            grad[:, c] = np.bincount(idx, weights=contributions, minlength=n)
        return (grad.reshape(x.shape),)

    return record(np.ascontiguousarray(out.T).reshape(x.shape), (images,), vjp)


def _resize_matrix(in_size: int, out_size: int) -> np.ndarray:
    """`(out_size, in_size)` bilinear weights with half-pixel centres and clamped edges."""
    src = (np.arange(out_size) + 0.5) * (in_size / out_size) - 0.5
    src = np.clip(src, 0, in_size - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, in_size - 1)
    frac = src - lo
    m = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    # Two separate updates so the weights add up where `lo == hi` at the edge.
    m[rows, lo] += 1 - frac
    m[rows, hi] += frac
    return m


def resize_bilinear(images: Any, height: int, width: int) -> Tensor:
    """Bilinear resize of an NHWC batch (half-pixel centres, no antialiasing, as Keras).

    Args:
        images: a float tensor or array `(batch, in_height, in_width, channels)`.
        height, width: the output size.

    Example:
        >>> resize_bilinear(np.ones((1, 4, 4, 1), "float32"), 2, 2).shape
        (1, 2, 2, 1)
    """
    x = as_array(images)
    rows = _resize_matrix(x.shape[1], height).astype(x.dtype)
    cols = _resize_matrix(x.shape[2], width).astype(x.dtype)
    out = np.einsum("ip,bpqc,jq->bijc", rows, x, cols, optimize=True)

    def vjp(g: np.ndarray, needs: tuple[bool, ...]) -> tuple[np.ndarray | None]:
        if not needs[0]:
            return (None,)
        return (np.einsum("ip,bijc,jq->bpqc", rows, g, cols, optimize=True),)

    return record(out, (images,), vjp)


def flip(images: Any, flips: np.ndarray, axes: tuple[int, ...]) -> Tensor:
    """Reverse the images selected by the boolean `flips` `(batch,)` along each of `axes`.

    Example:
        >>> x = np.arange(3, dtype="float32").reshape(1, 1, 3, 1)
        >>> flip(x, np.array([True]), (2,)).numpy().ravel().tolist()
        [2.0, 1.0, 0.0]
    """
    x = as_array(images)
    select = flips.reshape((-1,) + (1,) * (x.ndim - 1))

    def apply(a: np.ndarray) -> np.ndarray:
        return np.where(select, np.flip(a, axis=axes), a)

    return record(apply(x), (images,), lambda g, n: (apply(g) if n[0] else None,))
