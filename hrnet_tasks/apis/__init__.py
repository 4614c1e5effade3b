from .classification import ClassificationResult
from .pose import PoseResult  # noqa: F401
from .segmentation import SegmentationResult  # noqa: F401
from .inference import TASKS, TaskAdapter, inference, init_model, register_task, task_of

__all__ = ['ClassificationResult', 'TASKS', 'TaskAdapter', 'inference', 'init_model',
           'register_task', 'task_of']
