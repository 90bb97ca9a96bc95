"""Fashion-MNIST: Zalando's article images, with Keras's `load_data()`.

A drop-in replacement for MNIST: 60,000 training and 10,000 test 28x28
grayscale images of 10 classes (see `CLASS_NAMES`), read from the four IDX
files Keras downloads, each checked against its SHA-256. They are cached in
the cache folder's `fashion-mnist/` subfolder.
"""

from __future__ import annotations

import numpy as np

from engine.datasets.download import get_file
from engine.datasets.mnist import load_idx

BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CACHE_SUBDIR = "fashion-mnist"
FILE_HASHES = {
    "train-labels-idx1-ubyte.gz": (
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
    ),
    "train-images-idx3-ubyte.gz": (
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
    ),
}
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

Split = tuple[np.ndarray, np.ndarray]


def load_data() -> tuple[Split, Split]:
    """Load Fashion-MNIST as `(x_train, y_train), (x_test, y_test)`, downloading it if needed.

    Returns:
        `x_train` uint8 `(60000, 28, 28)`, `y_train` uint8 `(60000,)` with
        labels 0-9, `x_test` uint8 `(10000, 28, 28)`, `y_test` uint8 `(10000,)`.

    Raises:
        DownloadError: offline and the files are not cached; the message
            names each URL and where to put the file.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()
        >>> CLASS_NAMES[int(y_train[0])]
        'Ankle boot'
    """
    paths = {
        name: get_file(name, BASE_URL + name, sha, cache_subdir=CACHE_SUBDIR)
        for name, sha in FILE_HASHES.items()
    }
    train = load_idx(paths["train-images-idx3-ubyte.gz"], paths["train-labels-idx1-ubyte.gz"])
    test = load_idx(paths["t10k-images-idx3-ubyte.gz"], paths["t10k-labels-idx1-ubyte.gz"])
    return train, test
