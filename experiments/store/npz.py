"""Weights as `.npz` bytes: the format checkpoints are stored in.

Loading never unpickles (`allow_pickle=False`), so a checkpoint from an
untrusted database can at worst fail to load, never run code.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np


def arrays_to_npz(arrays: Sequence[np.ndarray]) -> bytes:
    """Pack a list of arrays (for example `model.get_weights()`) into `.npz` bytes.

    The order is kept: entries are named `arr_0`, `arr_1`, ... like `np.savez`.

    Args:
        arrays: the arrays, in order.

    Example:
        >>> [a.shape for a in npz_to_arrays(arrays_to_npz([np.zeros((2, 3)), np.ones(4)]))]
        [(2, 3), (4,)]
    """
    buffer = io.BytesIO()
    np.savez(buffer, *[np.asarray(a) for a in arrays])
    return buffer.getvalue()


def npz_to_arrays(data: bytes) -> list[np.ndarray]:
    """Unpack `.npz` bytes written by `arrays_to_npz` into the list of arrays, in order.

    Args:
        data: the bytes.

    Example:
        >>> npz_to_arrays(arrays_to_npz([np.arange(3)]))[0].tolist()
        [0, 1, 2]
    """
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        names = sorted(archive.files, key=_entry_index)
        return [archive[name] for name in names]


def _entry_index(name: str) -> int:
    prefix, _, number = name.partition("_")
    if prefix != "arr" or not number.isdigit():
        raise ValueError(f"npz entry {name!r} is not named arr_N; write it with arrays_to_npz")
    return int(number)
