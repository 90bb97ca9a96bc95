"""Reading Keras's `imdb.npz` / `reuters.npz` without handing control to pickle.

Those archives store ragged sequences as object arrays of Python lists, which
NumPy can only persist as a pickle stream; `np.load(allow_pickle=False)`
refuses them and `allow_pickle=True` would run whatever a tampered file asks
for. This module reads numeric members with pickling disabled and object
members with `RestrictedUnpickler`, which resolves only the globals needed to
rebuild an array (NumPy's `_reconstruct`, `ndarray`, `dtype`) and the plain
`list` and `int` builtins. Lists and ints themselves are pickle opcodes, not
globals, so nothing a file names can be called except those constructors,
none of which runs code; any other global (`os.system`, `builtins.eval`,
`subprocess.Popen`, ...) raises `pickle.UnpicklingError`.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from typing import Any, BinaryIO

import numpy as np

_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        # NumPy < 2 and NumPy >= 2 spell the module differently.
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("builtins", "list"),
        ("builtins", "int"),
    }
)


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays of lists of ints and nothing else.

    Args:
        file: a binary stream positioned at the start of a pickle.

    Example:
        >>> data = pickle.dumps(np.array([[1, 2], [3]], dtype=object))
        >>> RestrictedUnpickler(io.BytesIO(data)).load()[1]
        [3]
    """

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"Refusing to load {module}.{name} from a dataset file: only NumPy arrays of "
            "lists of ints are allowed, so the file is corrupt or was tampered with."
        )


def _read_member(fp: BinaryIO) -> np.ndarray:
    version = np.lib.format.read_magic(fp)
    if version[0] == 1:
        _, _, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version[0] in (2, 3):
        # Format 3.0 only changes the header's text encoding; its layout is 2.0's.
        _, _, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise ValueError(f"Unsupported .npy format version {version} in a dataset file.")
    if not dtype.hasobject:
        fp.seek(0)
        return np.lib.format.read_array(fp, allow_pickle=False)
    array = RestrictedUnpickler(fp).load()
    if not isinstance(array, np.ndarray):
        raise pickle.UnpicklingError(
            f"A dataset file member holds a {type(array).__name__}, not an array."
        )
    return array


def load_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of an `.npz` archive, object arrays read by `RestrictedUnpickler`.

    Args:
        path: the `.npz` file.

    Returns:
        A dict from member name (without `.npy`) to array.

    Example:
        >>> arrays = load_npz("imdb.npz")
        >>> sorted(arrays)
        ['x_test', 'x_train', 'y_test', 'y_train']
    """
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                continue
            with archive.open(member) as raw:
                buffer = io.BytesIO(raw.read())
            arrays[member[: -len(".npy")]] = _read_member(buffer)
    return arrays
