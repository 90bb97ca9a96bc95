"""Datasets with Keras's `load_data()` API.

`spirals` and `shapes` are built in and offline. `mnist`, `fashion_mnist`,
`cifar10` and `cifar100` read the real archives, downloaded once into the
cache folder (`~/.keras/datasets`, or `$KERASTUI_DATA_DIR`; see
`engine.datasets.download`). The text loaders `imdb` and `reuters` read
Keras's files from the same cache; `sentiment`, `adding` and `sine` are
built-in, offline sequence sets.
"""

from engine.datasets import (
    adding,
    cifar10,
    cifar100,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
    sentiment,
    shapes,
    sine,
    spirals,
)

__all__ = [
    "adding",
    "cifar10",
    "cifar100",
    "fashion_mnist",
    "imdb",
    "mnist",
    "reuters",
    "sentiment",
    "shapes",
    "sine",
    "spirals",
]
