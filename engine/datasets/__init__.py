"""Datasets with Keras's `load_data()` API.

`spirals` and `shapes` are built in and offline. `mnist`, `fashion_mnist`,
`cifar10` and `cifar100` read the real archives, downloaded once into the
cache folder (`~/.keras/datasets`, or `$KERASTUI_DATA_DIR`; see
`engine.datasets.download`). The text loaders (imdb, reuters) arrive with the
sequence issue (#4).
"""

from engine.datasets import cifar10, cifar100, fashion_mnist, mnist, shapes, spirals

__all__ = ["cifar10", "cifar100", "fashion_mnist", "mnist", "shapes", "spirals"]
