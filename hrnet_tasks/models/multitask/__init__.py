from .data_preprocessor import MultiTaskDataPreprocessor
from .multitask_model import MultiTaskModel

__all__ = ['MultiTaskDataPreprocessor', 'MultiTaskModel']
