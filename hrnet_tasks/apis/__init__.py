from .classification import ClassificationResult
from .inference import TASKS, TaskAdapter, inference, init_model, register_task, task_of

__all__ = ['ClassificationResult', 'TASKS', 'TaskAdapter', 'inference', 'init_model',
           'register_task', 'task_of']
