from .classification import ClassificationResult
from .pose import PoseResult
from .segmentation import SegmentationResult
from .multitask import MultiTaskResult
from .topdown import TopdownPoseResult, inference_topdown, read_bboxes
from .face import FaceResult, inference_faces
from .inference import (TASKS, TaskAdapter, inference, init_model, optimize_model, register_task,
                        task_of)

__all__ = ['ClassificationResult', 'FaceResult', 'MultiTaskResult', 'PoseResult',
           'SegmentationResult', 'TASKS', 'TaskAdapter', 'TopdownPoseResult', 'inference',
           'inference_faces', 'inference_topdown', 'init_model', 'optimize_model', 'read_bboxes',
           'register_task', 'task_of']
