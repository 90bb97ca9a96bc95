"""CIFAR-100 small colour images, with Keras's `load_data(label_mode)`.

50,000 training and 10,000 test 32x32 RGB images labelled with 100 fine
classes grouped into 20 coarse superclasses. Like `cifar10`, this reads the
binary version (`cifar-100-binary.tar.gz`, SHA-256 checked), never the
pickled one; it is extracted once into the cache folder's `cifar-100-binary/`.
"""

from __future__ import annotations

import numpy as np

from engine.datasets.cifar import read_cifar_binary
from engine.datasets.download import get_extracted

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
ARCHIVE = "cifar-100-binary.tar.gz"
ARCHIVE_SHA256 = "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec"
FOLDER = "cifar-100-binary"
TRAIN_FILE = "train.bin"
TEST_FILE = "test.bin"
_LABEL_COLUMN = {"coarse": 0, "fine": 1}

Split = tuple[np.ndarray, np.ndarray]


def load_data(label_mode: str = "fine") -> tuple[Split, Split]:
    """Load CIFAR-100 as `(x_train, y_train), (x_test, y_test)`, downloading it if needed.

    Args:
        label_mode: `"fine"` for the 100 classes, `"coarse"` for the 20 superclasses.

    Returns:
        `x_train` uint8 `(50000, 32, 32, 3)`, `y_train` uint8 `(50000, 1)`,
        `x_test` uint8 `(10000, 32, 32, 3)`, `y_test` uint8 `(10000, 1)`.

    Raises:
        DownloadError: offline and the archive is not cached; the message names
            the URL and where to put the file.

    Example:
        >>> (x_train, y_train), _ = load_data(label_mode="coarse")
        >>> int(y_train.max())
        19
    """
    if label_mode not in _LABEL_COLUMN:
        raise ValueError(f'label_mode must be "fine" or "coarse", got {label_mode!r}.')
    folder = get_extracted(
        FOLDER, ARCHIVE, ORIGIN, ARCHIVE_SHA256, required=(TRAIN_FILE, TEST_FILE)
    )
    column = _LABEL_COLUMN[label_mode]
    splits = []
    for name in (TRAIN_FILE, TEST_FILE):
        x, labels = read_cifar_binary(folder / name, label_bytes=2)
        splits.append((x, labels[:, column : column + 1].copy()))
    return splits[0], splits[1]
