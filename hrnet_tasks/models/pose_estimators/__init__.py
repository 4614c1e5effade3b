from .bottomup import BottomUpPoseEstimator, PoseDataPreprocessor

__all__ = ['BottomUpPoseEstimator', 'PoseDataPreprocessor']
