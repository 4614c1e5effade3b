from .detector import DetDataPreprocessor, Detector

__all__ = ['DetDataPreprocessor', 'Detector']
