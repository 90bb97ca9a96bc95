"""Preprocessing layers users put in models: rescaling, normalization, image augmentation."""

from engine.layers.preprocessing.image_preprocessing import (
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
)
from engine.layers.preprocessing.normalization import Normalization
from engine.layers.preprocessing.rescaling import Rescaling

__all__ = [
    "Normalization",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Rescaling",
]
