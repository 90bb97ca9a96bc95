"""CIFAR-10 small colour images, with Keras's `load_data()`.

50,000 training and 10,000 test 32x32 RGB images of 10 classes (see
`CLASS_NAMES`). Keras reads the pickled Python version; this loader reads the
binary version of the same data from the same site
(`cifar-10-binary.tar.gz`, SHA-256 checked) so nothing is ever unpickled.
The archive is extracted once into the cache folder's `cifar-10-batches-bin/`.
"""

from __future__ import annotations

import numpy as np

from engine.datasets.cifar import read_cifar_binary
from engine.datasets.download import get_extracted

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
ARCHIVE = "cifar-10-binary.tar.gz"
ARCHIVE_SHA256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
FOLDER = "cifar-10-batches-bin"
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

Split = tuple[np.ndarray, np.ndarray]


def load_data() -> tuple[Split, Split]:
    """Load CIFAR-10 as `(x_train, y_train), (x_test, y_test)`, downloading it if needed.

    Returns:
        `x_train` uint8 `(50000, 32, 32, 3)`, `y_train` uint8 `(50000, 1)` with
        labels 0-9, `x_test` uint8 `(10000, 32, 32, 3)`, `y_test` uint8 `(10000, 1)`.

    Raises:
        DownloadError: offline and the archive is not cached; the message names
            the URL and where to put the file.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()
        >>> x_train.shape, y_train.shape
        ((50000, 32, 32, 3), (50000, 1))
    """
    folder = get_extracted(
        FOLDER, ARCHIVE, ORIGIN, ARCHIVE_SHA256, required=(*TRAIN_FILES, TEST_FILE)
    )
    parts = [read_cifar_binary(folder / name, label_bytes=1) for name in TRAIN_FILES]
    x_train = np.concatenate([x for x, _ in parts])
    y_train = np.concatenate([y for _, y in parts])
    x_test, y_test = read_cifar_binary(folder / TEST_FILE, label_bytes=1)
    return (x_train, y_train), (x_test, y_test)
