"""The datasets a spec can name: which are built in, which need a download, and fetching them.

Built-in datasets are generated offline. The others are files in the data
cache (`engine.datasets.download.cache_dir()`); `dataset_status` says whether
they are there, and `download_dataset` fetches them by loading them once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.datasets import download
from experiments.spec.names import dataset_loaders

# What each downloadable dataset leaves in the cache folder once fetched.
_CACHED_FILES: dict[str, tuple[str, ...]] = {
    "mnist": ("mnist.npz", "mnist"),
    "fashion_mnist": ("fashion-mnist",),
    "cifar10": ("cifar-10-batches-bin",),
    "cifar100": ("cifar-100-binary",),
    "imdb": ("imdb.npz",),
    "reuters": ("reuters.npz",),
}


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset a spec's `[data] name` can use.

    Args:
        name: the name in specs (`shapes`, `mnist`).
        description: the first line of its module's documentation.
        builtin: generated offline, nothing to download.
        cached: built in, or its files are in the data cache.

    Example:
        >>> DatasetInfo("shapes", "Drawn shapes", True, True).builtin
        True
    """

    name: str
    description: str
    builtin: bool
    cached: bool


def _cached(name: str, folder: Path) -> bool:
    return any((folder / entry).exists() for entry in _CACHED_FILES[name])


def list_datasets() -> list[DatasetInfo]:
    """Every dataset specs can name, sorted, with whether it is available offline.

    Example:
        >>> [d.name for d in list_datasets() if d.builtin][:2]
        ['adding', 'sentiment']
    """
    import engine.datasets as package

    folder = download.cache_dir()
    infos = []
    for name in sorted(dataset_loaders()):
        module = getattr(package, name)
        doc = (module.__doc__ or "").strip().splitlines()
        builtin = name not in _CACHED_FILES
        cached = builtin or _cached(name, folder)
        infos.append(DatasetInfo(name, doc[0] if doc else "", builtin, cached))
    return infos


def dataset_info(name: str) -> DatasetInfo:
    """The catalogue entry of one dataset.

    Raises:
        ValueError: no dataset has that name.
    """
    for info in list_datasets():
        if info.name == name:
            return info
    names = ", ".join(d.name for d in list_datasets())
    raise ValueError(f"no dataset named {name!r}; choose one of {names}")


def is_offline(name: str) -> bool:
    """Whether a dataset can be used without a network: built in, or already downloaded."""
    return dataset_info(name).cached


def download_dataset(name: str) -> Path:
    """Fetch a dataset's files into the data cache (a no-op for built-in ones); return the folder.

    Raises:
        ValueError: no dataset has that name.
        engine.datasets.download.DownloadError: the download failed (offline).
    """
    info = dataset_info(name)
    if not info.builtin:
        dataset_loaders()[name]()
    return download.cache_dir()
