"""MNIST handwritten digits, with Keras's `load_data()`.

60,000 training and 10,000 test images of the digits 0-9, 28x28 grayscale.
The data comes from Keras's `mnist.npz` (SHA-256 checked, read with
`allow_pickle=False`), or from the four original IDX files when they sit in
the cache folder's `mnist/` subfolder (e.g. copied from another machine):
`train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`,
`t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`. The IDX files are
checked for structure (mirrors compress them differently, so their bytes
have no single checksum).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from engine.datasets.download import DownloadError, cache_dir, get_file
from engine.datasets.idx import read_idx

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
IDX_SUBDIR = "mnist"
IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

Split = tuple[np.ndarray, np.ndarray]


def load_idx(images_path: str | os.PathLike[str], labels_path: str | os.PathLike[str]) -> Split:
    """Images and labels from a pair of IDX files, checked to belong together.

    Args:
        images_path: an `*-images-idx3-ubyte(.gz)` file.
        labels_path: the matching `*-labels-idx1-ubyte(.gz)` file.

    Returns:
        `(x, y)`: uint8 `(n, rows, cols)` and uint8 `(n,)`.

    Example:
        >>> x, y = load_idx("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    """
    x, y = read_idx(images_path), read_idx(labels_path)
    if x.ndim != 3 or x.dtype != np.uint8:
        raise ValueError(f"{images_path} holds {x.dtype} {x.shape}, not uint8 images (n, h, w).")
    if y.ndim != 1 or y.dtype != np.uint8:
        raise ValueError(f"{labels_path} holds {y.dtype} {y.shape}, not uint8 labels (n,).")
    if len(x) != len(y):
        raise ValueError(
            f"{images_path} has {len(x)} images but {labels_path} has {len(y)} labels; "
            "they are not a matching pair."
        )
    return x, y


def _load_idx_folder(folder: Path) -> tuple[Split, Split]:
    paths = [folder / name for name in IDX_FILES]
    return load_idx(paths[0], paths[1]), load_idx(paths[2], paths[3])


def load_data(path: str = "mnist.npz") -> tuple[Split, Split]:
    """Load MNIST as `(x_train, y_train), (x_test, y_test)`, downloading it if needed.

    Args:
        path: where to cache `mnist.npz`, relative to the cache folder
            (`~/.keras/datasets`, or `$KERASTUI_DATA_DIR`).

    Returns:
        `x_train` uint8 `(60000, 28, 28)`, `y_train` uint8 `(60000,)` with digits
        0-9, `x_test` uint8 `(10000, 28, 28)`, `y_test` uint8 `(10000,)`.

    Raises:
        DownloadError: offline and neither `mnist.npz` nor the IDX files are cached.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()
        >>> x_train.shape, y_test.shape
        ((60000, 28, 28), (10000,))
    """
    idx_folder = cache_dir() / IDX_SUBDIR
    if all((idx_folder / name).is_file() for name in IDX_FILES):
        return _load_idx_folder(idx_folder)
    try:
        npz_path = get_file(path, ORIGIN, NPZ_SHA256)
    except DownloadError as err:
        raise DownloadError(
            f"{err} Alternatively, put the four MNIST IDX files ({', '.join(IDX_FILES)}) "
            f"in {idx_folder}."
        ) from err
    with np.load(npz_path, allow_pickle=False) as npz:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(npz.files)
        if missing:
            raise ValueError(
                f"{npz_path} lacks {', '.join(sorted(missing))}; it is not Keras's mnist.npz."
            )
        return (npz["x_train"], npz["y_train"]), (npz["x_test"], npz["y_test"])
