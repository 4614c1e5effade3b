from .classification import ClassificationResult
from .pose import PoseResult
from .segmentation import SegmentationResult
from .multitask import MultiTaskResult
from .topdown import TopdownPoseResult, inference_topdown, read_bboxes
from .face import FaceResult, inference_faces
from .detection import DetectionResult
from .detect_pose import DetectPoseResult, detect_then_pose
from .inference import (TASKS, TaskAdapter, inference, init_model, optimize_model, register_task,
                        task_of)

__all__ = ['ClassificationResult', 'DetectPoseResult', 'DetectionResult', 'FaceResult',
           'MultiTaskResult', 'PoseResult', 'SegmentationResult', 'TASKS', 'TaskAdapter',
           'TopdownPoseResult', 'detect_then_pose', 'inference', 'inference_faces',
           'inference_topdown', 'init_model', 'optimize_model', 'read_bboxes', 'register_task',
           'task_of']
