"""Dataset loaders on small archives in the real formats, the download machinery, and shapes."""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from engine.datasets import cifar10, cifar100, download, fashion_mnist, mnist, shapes
from engine.datasets.idx import read_idx

REAL_MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "mnist"
rng = np.random.default_rng(0)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty cache folder selected through KERASTUI_DATA_DIR."""
    monkeypatch.setenv("KERASTUI_DATA_DIR", str(tmp_path))
    return tmp_path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_idx(path: Path, array: np.ndarray) -> None:
    codes = {np.dtype("u1"): 0x08, np.dtype(">i4"): 0x0C}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    data = header + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def digits(n: int, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    return (
        rng.integers(0, 256, (n, size, size), dtype=np.uint8),
        rng.integers(0, 10, n, dtype=np.uint8),
    )


def cifar_records(images: np.ndarray, labels: np.ndarray) -> bytes:
    """CIFAR binary records: label byte(s), then the red, green and blue planes."""
    planes = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    return np.concatenate([labels.reshape(len(images), -1), planes], axis=1).tobytes()


def write_tar_gz(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


class FakeResponse(io.BytesIO):
    """What `urllib.request.urlopen` returns, serving fixed bytes."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


def serve(monkeypatch, data: bytes) -> list[str]:
    requested: list[str] = []

    def urlopen(url, timeout=None):
        requested.append(url)
        return FakeResponse(data)

    monkeypatch.setattr(download.urllib.request, "urlopen", urlopen)
    return requested


def go_offline(monkeypatch) -> None:
    def urlopen(url, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(download.urllib.request, "urlopen", urlopen)


# Cache folder --------------------------------------------------------------------------------
def test_cache_dir_environment_overrides(tmp_path, monkeypatch):
    monkeypatch.delenv("KERASTUI_DATA_DIR", raising=False)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert download.cache_dir() == tmp_path / "home" / ".keras" / "datasets"
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    assert download.cache_dir() == tmp_path / "keras" / "datasets"
    monkeypatch.setenv("KERASTUI_DATA_DIR", str(tmp_path / "data"))
    assert download.cache_dir() == tmp_path / "data"


# Downloads ------------------------------------------------------------------------------------
def test_get_file_downloads_verifies_and_caches(cache, monkeypatch):
    payload = b"dataset bytes" * 1000
    requested = serve(monkeypatch, payload)
    digest = hashlib.sha256(payload).hexdigest()
    path = download.get_file("blob.bin", "https://example.org/blob.bin", digest, "sub")
    assert path == cache / "sub" / "blob.bin"
    assert path.read_bytes() == payload
    assert requested == ["https://example.org/blob.bin"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["blob.bin"]
    download.get_file("blob.bin", "https://example.org/blob.bin", digest, "sub")
    assert len(requested) == 1


def test_checksum_mismatch_saves_nothing(cache, monkeypatch):
    serve(monkeypatch, b"tampered")
    with pytest.raises(ValueError, match="SHA-256"):
        download.get_file("blob.bin", "https://example.org/blob.bin", "0" * 64)
    assert list(cache.iterdir()) == []


def test_cached_file_with_wrong_checksum_is_rejected(cache):
    (cache / "blob.bin").write_bytes(b"planted")
    with pytest.raises(ValueError, match=r"Delete it"):
        download.get_file("blob.bin", "https://example.org/blob.bin", "1" * 64)


def test_offline_error_names_url_and_destination(cache, monkeypatch):
    go_offline(monkeypatch)
    with pytest.raises(download.DownloadError) as info:
        download.get_file("blob.bin", "https://example.org/blob.bin", "2" * 64)
    message = str(info.value)
    assert "https://example.org/blob.bin" in message
    assert str(cache / "blob.bin") in message
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize(
    ("loader", "url", "filename"),
    [
        (mnist.load_data, mnist.ORIGIN, "mnist.npz"),
        (fashion_mnist.load_data, fashion_mnist.BASE_URL, "fashion-mnist/train-labels"),
        (cifar10.load_data, cifar10.ORIGIN, "cifar-10-binary.tar.gz"),
        (cifar100.load_data, cifar100.ORIGIN, "cifar-100-binary.tar.gz"),
    ],
)
def test_loaders_offline_say_where_to_put_the_file(cache, monkeypatch, loader, url, filename):
    go_offline(monkeypatch)
    with pytest.raises(download.DownloadError) as info:
        loader()
    assert url in str(info.value)
    assert str(cache / filename) in str(info.value)


def test_bad_hash_argument_is_rejected(cache):
    with pytest.raises(ValueError, match="SHA-256"):
        download.get_file("x", "https://example.org/x", "abc")


def test_extraction_rejects_members_outside_the_folder(cache):
    archive = cache / "evil.tar.gz"
    write_tar_gz(archive, {"top/ok.bin": b"1", "../escape.bin": b"2"})
    with pytest.raises(ValueError, match="readable"):
        download.extract_tar(archive, "top")
    assert not (cache.parent / "escape.bin").exists()
    assert not (cache / "top").exists()


# IDX and MNIST -------------------------------------------------------------------------------
def test_read_idx_round_trips_and_rejects_corrupt_files(tmp_path):
    array = rng.integers(-1000, 1000, (3, 4)).astype(">i4")
    write_idx(tmp_path / "a.idx", array)
    out = read_idx(tmp_path / "a.idx")
    np.testing.assert_array_equal(out, array)
    assert out.dtype == np.int32 and out.dtype.isnative
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="magic"):
        read_idx(tmp_path / "bad.idx")
    data = (tmp_path / "a.idx").read_bytes()
    (tmp_path / "short.idx").write_bytes(data[:-3])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "short.idx")


def test_mnist_from_keras_npz(cache, monkeypatch):
    (x_train, y_train), (x_test, y_test) = digits(12), digits(5)
    np.savez(cache / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    monkeypatch.setattr(mnist, "NPZ_SHA256", sha256(cache / "mnist.npz"))
    (a, b), (c, d) = mnist.load_data()
    for got, want in zip((a, b, c, d), (x_train, y_train, x_test, y_test)):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == np.uint8
    assert a.shape == (12, 28, 28) and b.shape == (12,)


def test_mnist_npz_with_unknown_checksum_is_refused(cache):
    np.savez(cache / "mnist.npz", x_train=np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="SHA-256"):
        mnist.load_data()


def test_mnist_npz_never_unpickles(cache, monkeypatch):
    np.savez(cache / "mnist.npz", x_train=np.array([object()], dtype=object))
    monkeypatch.setattr(mnist, "NPZ_SHA256", sha256(cache / "mnist.npz"))
    with pytest.raises(ValueError):
        mnist.load_data()


def test_mnist_prefers_idx_files_in_the_cache(cache):
    (x_train, y_train), (x_test, y_test) = digits(9), digits(4)
    folder = cache / "mnist"
    write_idx(folder / "train-images-idx3-ubyte.gz", x_train)
    write_idx(folder / "train-labels-idx1-ubyte.gz", y_train)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", x_test)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", y_test)
    (a, b), (c, d) = mnist.load_data()
    np.testing.assert_array_equal(a, x_train)
    np.testing.assert_array_equal(b, y_train)
    np.testing.assert_array_equal(c, x_test)
    np.testing.assert_array_equal(d, y_test)


def test_mnist_idx_pair_mismatch_is_reported(tmp_path):
    write_idx(tmp_path / "i.gz", digits(3)[0])
    write_idx(tmp_path / "l.gz", digits(4)[1])
    with pytest.raises(ValueError, match="matching pair"):
        mnist.load_idx(tmp_path / "i.gz", tmp_path / "l.gz")


def test_fashion_mnist_from_idx_files(cache, monkeypatch):
    (x_train, y_train), (x_test, y_test) = digits(6), digits(3)
    folder = cache / "fashion-mnist"
    arrays = {
        "train-images-idx3-ubyte.gz": x_train,
        "train-labels-idx1-ubyte.gz": y_train,
        "t10k-images-idx3-ubyte.gz": x_test,
        "t10k-labels-idx1-ubyte.gz": y_test,
    }
    for name, array in arrays.items():
        write_idx(folder / name, array)
    monkeypatch.setattr(
        fashion_mnist, "FILE_HASHES", {name: sha256(folder / name) for name in arrays}
    )
    (a, b), (c, d) = fashion_mnist.load_data()
    np.testing.assert_array_equal(a, x_train)
    np.testing.assert_array_equal(b, y_train)
    np.testing.assert_array_equal(c, x_test)
    np.testing.assert_array_equal(d, y_test)
    assert a.shape == (6, 28, 28) and d.shape == (3,) and a.dtype == d.dtype == np.uint8


def test_real_mnist_test_set_through_the_idx_reader():
    if not REAL_MNIST.is_dir():
        pytest.skip(f"the real MNIST files are not present at {REAL_MNIST}")
    x, y = mnist.load_idx(
        REAL_MNIST / "t10k-images-idx3-ubyte.gz", REAL_MNIST / "t10k-labels-idx1-ubyte.gz"
    )
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (10000,) and y.dtype == np.uint8
    # The known class counts of the MNIST test set.
    np.testing.assert_array_equal(
        np.bincount(y), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    )
    # Digits are centred: the border rows are nearly blank, the centre bright.
    assert x[:, :2].mean() < 1 and x[:, 10:18, 10:18].mean() > 80
    np.testing.assert_array_equal(y[:10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])


# CIFAR ----------------------------------------------------------------------------------------
def cifar_images(n: int) -> np.ndarray:
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def test_cifar10_from_the_binary_archive(cache, monkeypatch):
    batches = [(cifar_images(4), rng.integers(0, 10, 4, dtype=np.uint8)) for _ in range(6)]
    members = {
        f"cifar-10-batches-bin/data_batch_{i + 1}.bin": cifar_records(*batches[i]) for i in range(5)
    }
    members["cifar-10-batches-bin/test_batch.bin"] = cifar_records(*batches[5])
    members["cifar-10-batches-bin/batches.meta.txt"] = b"\n".join(
        name.encode() for name in cifar10.CLASS_NAMES
    )
    archive = cache / "cifar-10-binary.tar.gz"
    write_tar_gz(archive, members)
    monkeypatch.setattr(cifar10, "ARCHIVE_SHA256", sha256(archive))
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (20, 32, 32, 3) and y_train.shape == (20, 1)
    assert x_test.shape == (4, 32, 32, 3) and y_test.shape == (4, 1)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    np.testing.assert_array_equal(x_train, np.concatenate([b[0] for b in batches[:5]]))
    np.testing.assert_array_equal(y_train.ravel(), np.concatenate([b[1] for b in batches[:5]]))
    np.testing.assert_array_equal(x_test, batches[5][0])
    # Extracted once: the archive is no longer needed.
    archive.unlink()
    (again, _), _ = cifar10.load_data()
    np.testing.assert_array_equal(again, x_train)


def test_cifar10_archive_with_unknown_checksum_is_refused(cache):
    write_tar_gz(cache / "cifar-10-binary.tar.gz", {"cifar-10-batches-bin/x.bin": b"0"})
    with pytest.raises(ValueError, match="SHA-256"):
        cifar10.load_data()
    assert not (cache / "cifar-10-batches-bin").exists()


def test_cifar100_fine_and_coarse_labels(cache, monkeypatch):
    train, test = cifar_images(5), cifar_images(3)
    train_labels = np.stack([rng.integers(0, 20, 5), rng.integers(0, 100, 5)], 1).astype(np.uint8)
    test_labels = np.stack([rng.integers(0, 20, 3), rng.integers(0, 100, 3)], 1).astype(np.uint8)
    archive = cache / "cifar-100-binary.tar.gz"
    write_tar_gz(
        archive,
        {
            "cifar-100-binary/train.bin": cifar_records(train, train_labels),
            "cifar-100-binary/test.bin": cifar_records(test, test_labels),
        },
    )
    monkeypatch.setattr(cifar100, "ARCHIVE_SHA256", sha256(archive))
    (x_train, y_fine), (x_test, y_test_fine) = cifar100.load_data()
    np.testing.assert_array_equal(x_train, train)
    np.testing.assert_array_equal(x_test, test)
    np.testing.assert_array_equal(y_fine, train_labels[:, 1:])
    np.testing.assert_array_equal(y_test_fine, test_labels[:, 1:])
    (_, y_coarse), _ = cifar100.load_data(label_mode="coarse")
    np.testing.assert_array_equal(y_coarse, train_labels[:, :1])
    assert y_coarse.shape == (5, 1) and y_coarse.dtype == np.uint8
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data(label_mode="medium")


def test_truncated_cifar_batch_is_reported(cache, monkeypatch):
    members = {f"cifar-10-batches-bin/data_batch_{i}.bin": b"\x00" * 3073 for i in range(1, 6)}
    members["cifar-10-batches-bin/test_batch.bin"] = b"\x00" * 3000
    write_tar_gz(cache / "cifar-10-binary.tar.gz", members)
    monkeypatch.setattr(cifar10, "ARCHIVE_SHA256", sha256(cache / "cifar-10-binary.tar.gz"))
    with pytest.raises(ValueError, match="whole number"):
        cifar10.load_data()


# Shapes ---------------------------------------------------------------------------------------
def test_shapes_has_cifar10_shapes_and_dtypes():
    (x_train, y_train), (x_test, y_test) = shapes.load_data(n_train=300, n_test=120, seed=1)
    assert x_train.shape == (300, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (300, 1) and y_train.dtype == np.uint8
    assert x_test.shape == (120, 32, 32, 3) and y_test.shape == (120, 1)
    assert len(shapes.CLASS_NAMES) == 10 and len(set(shapes.CLASS_NAMES)) == 10
    assert x_train.std() > 30  # not blank


def test_shapes_is_deterministic_per_seed():
    a = shapes.generate(50, seed=5)
    b = shapes.generate(50, seed=5)
    c = shapes.generate(50, seed=6)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    (_, _), (test_a, _) = shapes.load_data(n_train=10, n_test=30, seed=2)
    (_, _), (test_b, _) = shapes.load_data(n_train=40, n_test=30, seed=2)
    np.testing.assert_array_equal(test_a, test_b)


def test_shapes_classes_are_balanced():
    _, y = shapes.generate(1003, seed=0)
    counts = np.bincount(y.ravel(), minlength=10)
    assert counts.max() - counts.min() <= 1 and counts.sum() == 1003


def test_shapes_train_and_test_differ():
    (x_train, _), (x_test, _) = shapes.load_data(n_train=20, n_test=20, seed=3)
    assert not np.array_equal(x_train, x_test)


@pytest.mark.parametrize(
    ("name", "area"),
    [
        ("circle", np.pi),
        ("square", 1.6**2),
        ("triangle", 3 * np.sqrt(3) / 4),
        ("plus", 2 * 2.0 * 0.6 - 0.6**2),
        ("ring", np.pi * (1.0**2 - 0.5**2)),
        ("frame", 1.8**2 - 1.0**2),
        ("ellipse", np.pi * 0.5),
        ("half_disk", np.pi / 2),
    ],
)
def test_shapes_distance_functions_enclose_the_right_area(name, area):
    sdf = shapes._SDFS[shapes.CLASS_NAMES.index(name)]
    side = np.linspace(-1.5, 1.5, 601, dtype=np.float32)
    u, v = np.meshgrid(side, side)
    inside = sdf(u[None], v[None]) < 0
    cell = (side[1] - side[0]) ** 2
    assert abs(inside.sum() * cell - area) < 0.02 * area


def test_shapes_classes_look_different():
    # The mean image of each class, with colours removed, differs between classes
    # far more than between two halves of one class.
    x, y = shapes.generate(1000, seed=4)
    gray = x.astype(np.float64).std(axis=3)
    means = np.stack([gray[y.ravel() == c].mean(axis=0) for c in range(10)])
    between = min(np.abs(means[a] - means[b]).mean() for a in range(10) for b in range(a + 1, 10))
    assert between > 0.5


def test_shapes_rejects_bad_arguments():
    with pytest.raises(ValueError, match="non-negative"):
        shapes.generate(-1)
    with pytest.raises(ValueError, match="seed"):
        shapes.load_data(n_train=10, n_test=10, seed="zero")
