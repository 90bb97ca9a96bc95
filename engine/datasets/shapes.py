"""Shapes: a built-in, offline image dataset with CIFAR-10's API and shapes.

Ten classes of drawn shapes (see `CLASS_NAMES`), each image 32x32 RGB uint8
with a random size, position, rotation, colour, background (a colour with a
gradient) and pixel noise; some images also carry a faint stray stroke.
Every shape is rasterised from a signed distance function on the pixel grid
with one-pixel anti-aliasing, fully vectorised with NumPy, so 60,000 images
take a few seconds and need no download and no imaging library.

The data is a pure function of the arguments: the same `seed` gives the
same labels and images (a pixel may differ by one between NumPy builds whose
float32 `sin` or `sqrt` round differently), and the test set depends only on
`n_test` and `seed`, not on `n_train`. Nothing is cached: a second call costs
the same few seconds, and no memory is held between calls.

The classes are told apart only by their outline, so rotation invariance
matters: no class is a rotation of another (no diamond beside the square,
no horizontal beside a vertical bar).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

CLASS_NAMES = (
    "circle",
    "square",
    "triangle",
    "plus",
    "ring",
    "star",
    "crescent",
    "frame",
    "ellipse",
    "half_disk",
)

Split = tuple[np.ndarray, np.ndarray]
_SIZE = 32
_CHUNK = 1024
_PIXELS = _SIZE * _SIZE * 3
_NOISE_TABLE = 1 << 20


# Signed distance functions in the shape's own frame, where the shape has
# "radius" about 1; negative inside. Arguments are float32 arrays (m, 32, 32).
def _length(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.sqrt(x * x + y * y)


def _box(u: np.ndarray, v: np.ndarray, bx: float, by: float) -> np.ndarray:
    qx, qy = np.abs(u) - bx, np.abs(v) - by
    outside = _length(np.maximum(qx, 0), np.maximum(qy, 0))
    return outside + np.minimum(np.maximum(qx, qy), 0)


def _circle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return _length(u, v) - 1.0


def _square(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return _box(u, v, 0.8, 0.8)


def _triangle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # Equilateral, circumradius 1: fold onto one edge by symmetry, then
    # measure the distance to that edge segment.
    k = np.float32(np.sqrt(3.0))
    half_side = np.float32(np.sqrt(3.0) / 2)
    px = np.abs(u) - half_side
    py = v + half_side / k
    flip = px + k * py > 0
    px, py = (
        np.where(flip, (px - k * py) / 2, px),
        np.where(flip, (-k * px - py) / 2, py),
    )
    px = px - np.clip(px, -2 * half_side, 0)
    return -_length(px, py) * np.sign(py)


def _plus(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.minimum(_box(u, v, 1.0, 0.3), _box(u, v, 0.3, 1.0))


def _ring(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.abs(_length(u, v) - 0.75) - 0.25


def _star(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # Five points, inner radius 0.45 of the outer: reflect into one sector
    # across the symmetry axes, then measure the distance to one edge.
    k1x, k1y = np.float32(0.809016994375), np.float32(-0.587785252292)
    px, py = np.abs(u), v
    for kx, ky in ((k1x, k1y), (-k1x, k1y)):
        d = 2 * np.maximum(kx * px + ky * py, 0)
        px, py = px - d * kx, py - d * ky
    px, py = np.abs(px), py - 1.0
    inner = np.float32(0.45)
    bax, bay = inner * -k1y, inner * k1x - 1.0
    h = np.clip((px * bax + py * bay) / (bax * bax + bay * bay), 0, 1)
    return _length(px - bax * h, py - bay * h) * np.sign(py * bax - px * bay)


def _crescent(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.maximum(_length(u, v) - 1.0, -(_length(u - 0.5, v) - 0.8))


def _frame(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.maximum(_box(u, v, 0.9, 0.9), -_box(u, v, 0.5, 0.5))


def _ellipse(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # Distance in the stretched frame scaled by the minor axis: exact enough
    # near the outline, which is all the anti-aliasing needs.
    return (_length(u, v / 0.5) - 1.0) * 0.5


def _half_disk(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.maximum(_length(u, v + 0.4) - 1.0, -v - 0.4)


_SDFS: tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], ...] = (
    _circle,
    _square,
    _triangle,
    _plus,
    _ring,
    _star,
    _crescent,
    _frame,
    _ellipse,
    _half_disk,
)


def _draw_parameters(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every random choice for `n` images, drawn up front in a fixed order."""
    labels = rng.permutation(np.arange(n) % len(CLASS_NAMES)).astype(np.uint8)
    background = rng.uniform(0.0, 1.0, (n, 3))
    foreground = rng.uniform(0.0, 1.0, (n, 3))
    # Redraw foregrounds too close to their background so every shape is visible.
    for _ in range(8):
        close = np.linalg.norm(foreground - background, axis=1) < 0.35
        if not close.any():
            break
        foreground[close] = rng.uniform(0.0, 1.0, (int(close.sum()), 3))
    return {
        "labels": labels,
        "radius": rng.uniform(4.5, 11.0, n),
        "center": rng.uniform(-6.0, 6.0, (n, 2)) + _SIZE / 2,
        "angle": rng.uniform(0.0, 2 * np.pi, n),
        "background": background,
        "foreground": foreground,
        "gradient": rng.normal(0.0, 0.12, (n, 2, 3)),
        "noise": rng.uniform(0.01, 0.08, n),
        "noise_seed": rng.integers(0, 2**63 - 1, dtype=np.int64),
        "stroke": rng.random(n) < 0.5,
        "stroke_ends": rng.uniform(0.0, _SIZE, (n, 2, 2)),
        "stroke_color": rng.uniform(0.0, 1.0, (n, 3)),
    }


def _segment_distance(gx: np.ndarray, gy: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Distance from each pixel centre to each image's segment, `(m, 32, 32)`."""
    ax, ay = ends[:, 0, 0, None, None], ends[:, 0, 1, None, None]
    bx, by = ends[:, 1, 0, None, None], ends[:, 1, 1, None, None]
    dx, dy = bx - ax, by - ay
    t = np.clip(((gx - ax) * dx + (gy - ay) * dy) / np.maximum(dx * dx + dy * dy, 1e-6), 0, 1)
    return _length(gx - ax - t * dx, gy - ay - t * dy)


def _render(
    p: dict[str, np.ndarray],
    sdf: Callable[[np.ndarray, np.ndarray], np.ndarray],
    noise: np.ndarray,
) -> np.ndarray:
    """The images described by `p` (all of one class, drawn by `sdf`) as uint8 `(m, 32, 32, 3)`.

    `noise` holds one row of 3072 zero-mean unit-variance values per image.
    """
    f32 = np.float32
    m = len(p["radius"])
    grid = np.arange(_SIZE, dtype=f32) + f32(0.5)
    gx, gy = grid[None, None, :], grid[None, :, None]

    def per_image(values: np.ndarray) -> np.ndarray:
        """`(m, 3)` colours as `(3, m, 1, 1)` planes, in 0-255 units."""
        return (values.astype(f32) * f32(255)).T[:, :, None, None]

    # The image is built as channel planes `(3, m, 32, 32)`, in place and in 0-255
    # units: per-image colours then broadcast over whole contiguous rows, several
    # times faster than broadcasting over a trailing axis of 3. The 0.5 makes the
    # final truncation round to nearest.
    image = np.empty((3, m, _SIZE, _SIZE), dtype=f32)
    image[:] = per_image(p["background"]) + f32(0.5)
    ramp = (grid - _SIZE / 2) / (_SIZE / 2)
    image += ramp[None, None, None, :] * per_image(p["gradient"][:, 0])
    image += ramp[None, None, :, None] * per_image(p["gradient"][:, 1])
    # A stray anti-aliased stroke on some images, under the shape.
    stroke = np.flatnonzero(p["stroke"])
    if stroke.size:
        dist = _segment_distance(gx, gy, p["stroke_ends"][stroke].astype(f32))
        alpha = np.clip(f32(1.2) - dist, 0, 1) * f32(0.6)
        image[:, stroke] += alpha * (per_image(p["stroke_color"][stroke]) - image[:, stroke])
    # The shape, in its own rotated and scaled frame.
    radius = p["radius"].astype(f32)[:, None, None]
    cos = np.cos(p["angle"]).astype(f32)[:, None, None]
    sin = np.sin(p["angle"]).astype(f32)[:, None, None]
    dx = gx - p["center"][:, 0].astype(f32)[:, None, None]
    dy = gy - p["center"][:, 1].astype(f32)[:, None, None]
    u = (cos * dx + sin * dy) / radius
    v = (cos * dy - sin * dx) / radius
    coverage = np.clip(f32(0.5) - sdf(u, v) * radius, 0, 1)
    layer = per_image(p["foreground"]) + f32(0.5) - image
    layer *= coverage
    image += layer
    # Pixel noise of each image's standard deviation (the noise rows are i.i.d.,
    # so any reshaping of them is as good as another).
    layer = noise.reshape(3, m, _SIZE, _SIZE)
    layer *= (p["noise"] * 255).astype(f32)[None, :, None, None]
    image += layer
    np.clip(image, 0, 255, out=image)
    return np.ascontiguousarray(image.astype(np.uint8).transpose(1, 2, 3, 0))


def generate(n: int, seed: int = 0) -> Split:
    """`n` images and labels drawn from the random stream `seed`.

    Args:
        n: the number of images.
        seed: the random seed (same seed, same images).

    Returns:
        `(x, y)`: uint8 `(n, 32, 32, 3)` and uint8 `(n, 1)`, the classes
        balanced (counts differ by at most one).

    Example:
        >>> x, y = generate(20, seed=1)
        >>> x.shape, x.dtype, y.shape
        ((20, 32, 32, 3), dtype('uint8'), (20, 1))
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"The number of images must be a non-negative integer, got {n!r}.")
    rng = np.random.default_rng(seed)
    params = _draw_parameters(int(n), rng)
    noise_rng = np.random.default_rng(int(params.pop("noise_seed")))
    # Uniform noise scaled to unit variance, cut from one shared table at a random
    # offset per image: drawing fresh samples for every pixel would cost more than
    # all the drawing.
    table = (noise_rng.random(_NOISE_TABLE + _PIXELS, dtype=np.float32) - 0.5) * np.float32(
        np.sqrt(12.0)
    )
    windows = np.lib.stride_tricks.sliding_window_view(table, _PIXELS)
    offsets = noise_rng.integers(0, _NOISE_TABLE, n)
    labels = params["labels"]
    x = np.empty((n, _SIZE, _SIZE, 3), dtype=np.uint8)
    # Render class by class so each batch of images shares one distance function.
    for label, sdf in enumerate(_SDFS):
        members = np.flatnonzero(labels == label)
        for start in range(0, members.size, _CHUNK):
            chunk = members[start : start + _CHUNK]
            subset = {k: v[chunk] for k, v in params.items()}
            x[chunk] = _render(subset, sdf, windows[offsets[chunk]])
    return x, labels.reshape(n, 1)


def load_data(n_train: int = 50000, n_test: int = 10000, seed: int = 0) -> tuple[Split, Split]:
    """The shapes dataset as `(x_train, y_train), (x_test, y_test)`, like `cifar10.load_data()`.

    Args:
        n_train: the number of training images (50,000 like CIFAR-10).
        n_test: the number of test images (10,000 like CIFAR-10).
        seed: the random seed; train and test come from independent streams
            derived from it, so they never share an image.

    Returns:
        `x_train` uint8 `(n_train, 32, 32, 3)`, `y_train` uint8 `(n_train, 1)`
        with labels 0-9 (see `CLASS_NAMES`), and the same for the test set.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data(n_train=1000, n_test=200)
        >>> x_train.shape, y_train.shape, x_test.dtype
        ((1000, 32, 32, 3), (1000, 1), dtype('uint8'))
    """
    if not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}.")
    train_seed, test_seed = np.random.SeedSequence(int(seed)).generate_state(2)
    return generate(n_train, int(train_seed)), generate(n_test, int(test_seed))
