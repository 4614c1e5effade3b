from .bottomup import *  # noqa: F401,F403
from .loading import BadImageError, LoadImage
from .segmentation import *  # noqa: F401,F403

__all__ = ['BadImageError', 'LoadImage']
