from .loading import BadImageError, LoadImage

__all__ = ['BadImageError', 'LoadImage']
