"""Writing files so that a reader sees the old content or the new, never half of it.

`atomic_write` writes to a temporary file beside the target, syncs it, gives it
the permissions the target has (or a new file's usual ones, from the umask,
rather than the owner-only mode of a temporary file) and renames it over the
target. A target that is a symbolic link is written through: the file it
points to is replaced, and the link stays.

Example:
    >>> atomic_write("experiments/small.toml", text, overwrite=False)
    PosixPath('experiments/small.toml')
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def _umask() -> int:
    """The process's umask, read without changing it (Linux), else by setting it back at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode_for(target: Path) -> int:
    """The permission bits a file written to `target` should get.

    The existing file's, when there is one; else what `open()` would give a new
    file (0o666 less the umask).
    """
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes | str,
    *,
    overwrite: bool = True,
    encoding: str = "utf-8",
) -> Path:
    """Replace `path`'s content with `data` in one step; return the path written.

    Args:
        path: the file; its folder is created if missing.
        data: bytes, or text encoded with `encoding`.
        overwrite: replace an existing file; without it an existing file is an error.
        encoding: the encoding of text `data`.

    Raises:
        FileExistsError: `path` exists and `overwrite` is False; nothing was written.
    """
    target = Path(path)
    if target.is_symlink():
        target = target.resolve()
    if not overwrite and target.exists():
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    payload = data.encode(encoding) if isinstance(data, str) else data
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = file_mode_for(target)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return Path(path)


__all__ = ["atomic_write", "file_mode_for"]
