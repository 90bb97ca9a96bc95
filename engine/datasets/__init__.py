"""Datasets with Keras's `load_data()` API.

`spirals` is built in and offline. The image loaders (mnist, fashion_mnist,
cifar10, cifar100, shapes) and the text loaders (imdb, reuters) arrive with
the convolution and sequence issues (#3 and #4).
"""

from engine.datasets import spirals

__all__ = ["spirals"]
