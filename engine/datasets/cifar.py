"""Reading the binary version of CIFAR-10 and CIFAR-100 (never the pickled one).

Each record of a `.bin` file is the label byte(s) followed by 3072 image
bytes: the 1024 red values of the 32x32 image row by row, then green, then
blue. CIFAR-10 records have one label byte; CIFAR-100 records have two, the
coarse (superclass) label and then the fine label.
"""

from __future__ import annotations

import os

import numpy as np

_IMAGE_BYTES = 32 * 32 * 3


def read_cifar_binary(
    path: str | os.PathLike[str], label_bytes: int
) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels of one CIFAR binary file.

    Args:
        path: e.g. `cifar-10-batches-bin/data_batch_1.bin`.
        label_bytes: 1 for CIFAR-10, 2 for CIFAR-100.

    Returns:
        `(images, labels)`: uint8 `(n, 32, 32, 3)` (channels last) and uint8
        `(n, label_bytes)`.

    Raises:
        ValueError: the file size is not a whole number of records.

    Example:
        >>> x, y = read_cifar_binary("cifar-10-batches-bin/test_batch.bin", 1)
    """
    raw = np.fromfile(path, dtype=np.uint8)
    record = label_bytes + _IMAGE_BYTES
    if raw.size == 0 or raw.size % record:
        raise ValueError(
            f"{path} holds {raw.size} bytes, not a whole number of {record}-byte CIFAR "
            "records; the file is truncated or not a CIFAR binary batch."
        )
    records = raw.reshape(-1, record)
    labels = records[:, :label_bytes].copy()
    images = records[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels
