"""Fetching dataset files into the local cache: download, verify, extract.

Files live in one cache folder, `~/.keras/datasets` like Keras, so archives
Keras already downloaded are reused. Set the environment variable
`KERASTUI_DATA_DIR` to use another folder (it holds the files directly), or
`KERAS_HOME` to move the Keras home (files go to `$KERAS_HOME/datasets`).

A download streams into a temporary file next to its destination while its
SHA-256 is computed, shows a Rich progress bar on stderr, and is renamed into
place only when the checksum matches, so the cache never holds a partial or
corrupt file. Archives are extracted with tarfile's `"data"` filter (no
absolute paths, no links out of the folder) into a temporary folder that is
renamed into place. Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from engine.utils.file_utils import file_mode_for

ENV_DATA_DIR = "KERASTUI_DATA_DIR"
_CHUNK = 1 << 20


class DownloadError(ConnectionError):
    """A dataset file is not in the cache and could not be downloaded."""


def cache_dir() -> Path:
    """The folder that holds downloaded datasets.

    `$KERASTUI_DATA_DIR` when set, else `$KERAS_HOME/datasets` when `KERAS_HOME`
    is set, else `~/.keras/datasets`.

    Example:
        >>> cache_dir().name
        'datasets'
    """
    override = os.environ.get(ENV_DATA_DIR)
    if override:
        return Path(override).expanduser()
    keras_home = os.environ.get("KERAS_HOME")
    if keras_home:
        return Path(keras_home).expanduser() / "datasets"
    return Path.home() / ".keras" / "datasets"


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The hex SHA-256 digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_hash(file_hash: str | None) -> None:
    if file_hash is not None and (
        len(file_hash) != 64 or any(c not in "0123456789abcdef" for c in file_hash.lower())
    ):
        raise ValueError(
            f"file_hash must be a hex SHA-256 digest (64 characters), got {file_hash!r}."
        )


def get_file(
    fname: str,
    origin: str,
    file_hash: str | None = None,
    cache_subdir: str = "",
    progress: bool = True,
) -> Path:
    """The path of a dataset file in the cache, downloading it first if it is missing.

    Args:
        fname: the file name (or a path relative to the cache folder; an
            absolute path is used as it is).
        origin: the URL to download from.
        file_hash: the expected hex SHA-256; checked after a download and on
            a file already in the cache.
        cache_subdir: a subfolder of the cache folder.
        progress: show a progress bar while downloading.

    Raises:
        DownloadError: the file is missing and the download failed (e.g.
            offline); the message names the URL and the path to put it at.
        ValueError: the file's checksum does not match `file_hash`.

    Example:
        >>> url = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
        >>> path = get_file("mnist.npz", url)
    """
    _check_hash(file_hash)
    path = cache_dir() / cache_subdir / fname
    if path.exists():
        if file_hash is not None:
            actual = sha256_of(path)
            if actual != file_hash.lower():
                raise ValueError(
                    f"{path} has SHA-256 {actual}, but the file from {origin} has "
                    f"{file_hash.lower()}; it is incomplete or a different file. Delete it to "
                    f"download it again, or replace it with the file from {origin}."
                )
        return path
    download(origin, path, file_hash, progress=progress)
    return path


def download(origin: str, path: Path, file_hash: str | None = None, progress: bool = True) -> None:
    """Download `origin` to `path` atomically, verifying its SHA-256 when given.

    Raises:
        DownloadError: the server could not be reached or the transfer failed.
        ValueError: the downloaded bytes do not match `file_hash` (nothing is saved).
    """
    _check_hash(file_hash)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(origin, timeout=60) as resp:
                total = int(resp.headers.get("Content-Length") or 0) or None
                with _progress_bar(path.name, total, progress) as advance:
                    for chunk in iter(lambda: resp.read(_CHUNK), b""):
                        out.write(chunk)
                        digest.update(chunk)
                        advance(len(chunk))
        except (
            urllib.error.URLError,
            http.client.HTTPException,
            TimeoutError,
            ConnectionError,
        ) as err:
            reason = getattr(err, "reason", None) or err
            raise DownloadError(
                f"Could not download {origin} ({reason}). Without network access, download "
                f"it by hand and save it as {path} (set {ENV_DATA_DIR} to use another folder)."
            ) from err
        actual = digest.hexdigest()
        if file_hash is not None and actual != file_hash.lower():
            raise ValueError(
                f"The file downloaded from {origin} has SHA-256 {actual}, expected "
                f"{file_hash.lower()}; the transfer was corrupted or the file changed on the "
                "server. Nothing was saved; try again."
            )
        # mkstemp's owner-only mode would make the cache unreadable to other users.
        os.chmod(tmp, file_mode_for(path))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class _progress_bar:
    """A Rich download bar on stderr, or a no-op when disabled."""

    def __init__(self, name: str, total: int | None, enabled: bool) -> None:
        self._progress = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._progress.add_task(f"Downloading {name}", total=total)

    def __enter__(self) -> Callable[[int], None]:
        if self._progress is None:
            return lambda n: None
        self._progress.start()
        return lambda n: self._progress.advance(self._task, n)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def extract_tar(archive: Path, folder: str) -> Path:
    """Extract the top-level `folder` of a `.tar.gz` archive next to the archive, atomically.

    Everything is extracted into a temporary folder first and `folder` is
    renamed into place once complete; members that would escape the
    temporary folder (absolute paths, `..`, links outside) are rejected.

    Returns:
        The extracted folder, `archive.parent / folder`.
    """
    target = archive.parent / folder
    staging = Path(tempfile.mkdtemp(prefix=f".{folder}.", dir=archive.parent))
    try:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(staging, filter="data")
        except (tarfile.TarError, EOFError, OSError) as err:
            raise ValueError(
                f"{archive} is not a readable .tar.gz archive ({err}); delete it to download "
                "it again."
            ) from err
        if not (staging / folder).is_dir():
            raise ValueError(
                f"{archive} has no top-level folder {folder!r}; it is not the expected archive. "
                "Delete it to download it again."
            )
        os.replace(staging / folder, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def get_extracted(
    folder: str,
    fname: str,
    origin: str,
    file_hash: str | None,
    required: tuple[str, ...],
    progress: bool = True,
) -> Path:
    """The cache folder `folder` extracted from the archive `fname`, fetching what is missing.

    A folder already holding every `required` file is used as it is (so an
    archive extracted by hand works); otherwise the archive is taken from
    the cache or downloaded, verified, and extracted.

    Args:
        folder: the archive's top-level folder, e.g. `"cifar-10-batches-bin"`.
        fname: the archive's file name in the cache.
        origin: the archive's URL.
        file_hash: the archive's hex SHA-256.
        required: the files `folder` must contain.
        progress: show a progress bar while downloading.

    Example:
        >>> folder = get_extracted("cifar-10-batches-bin", "cifar-10-binary.tar.gz", url, sha,
        ...                        required=("test_batch.bin",))
    """
    target = cache_dir() / folder
    missing = [name for name in required if not (target / name).is_file()]
    if not missing:
        return target
    if target.exists():
        raise ValueError(
            f"{target} lacks {', '.join(missing)}; delete the folder so it is extracted again "
            f"from {fname}."
        )
    archive = get_file(fname, origin, file_hash, progress=progress)
    extract_tar(archive, folder)
    missing = [name for name in required if not (target / name).is_file()]
    if missing:
        raise ValueError(
            f"{archive} does not contain {', '.join(missing)}; it is not the expected archive."
        )
    return target
