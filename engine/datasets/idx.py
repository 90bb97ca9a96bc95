"""Reading IDX files, the format of MNIST and Fashion-MNIST (optionally gzip-compressed).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number
of dimensions), one big-endian uint32 per dimension, then the data in C order.
"""

from __future__ import annotations

import gzip
import os

import numpy as np

_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """The array stored in an IDX file (`.gz` files are decompressed on the fly).

    Args:
        path: the file, e.g. `t10k-images-idx3-ubyte.gz`.

    Returns:
        The array in native byte order, e.g. uint8 `(10000, 28, 28)` for the
        MNIST test images and uint8 `(10000,)` for their labels.

    Raises:
        ValueError: the file is not a well-formed IDX file.

    Example:
        >>> images = read_idx("t10k-images-idx3-ubyte.gz")
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as err:
        raise ValueError(f"Cannot read IDX file {path}: {err}.") from err
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {data[:4]!r}).")
    dtype, ndim = _TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path} is truncated: its header is incomplete.")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(
            f"{path} holds {len(data)} bytes but its header {shape} needs {expected}; "
            "the file is truncated or corrupt."
        )
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))
