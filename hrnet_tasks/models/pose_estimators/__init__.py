from .base import BasePoseEstimator, PoseDataPreprocessor
from .bottomup import BottomUpPoseEstimator
from .topdown import TopdownPoseEstimator

__all__ = ['BasePoseEstimator', 'BottomUpPoseEstimator', 'PoseDataPreprocessor',
           'TopdownPoseEstimator']
