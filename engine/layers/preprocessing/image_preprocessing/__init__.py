"""Image augmentation layers: random flips, crops, translations, rotations and zooms."""

from engine.layers.preprocessing.image_preprocessing.random_crop import RandomCrop
from engine.layers.preprocessing.image_preprocessing.random_flip import RandomFlip
from engine.layers.preprocessing.image_preprocessing.random_rotation import RandomRotation
from engine.layers.preprocessing.image_preprocessing.random_translation import RandomTranslation
from engine.layers.preprocessing.image_preprocessing.random_zoom import RandomZoom

__all__ = ["RandomCrop", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom"]
