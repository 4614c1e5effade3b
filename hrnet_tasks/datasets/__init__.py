from .base import CheckedDatasetMixin, DataPathError
from .imagenet import ImageNetDataset
from .transforms import *  # noqa: F401,F403

__all__ = ['CheckedDatasetMixin', 'DataPathError', 'ImageNetDataset']
