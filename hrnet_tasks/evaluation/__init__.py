from .coco_keypoint_metric import CocoKeypointMetric
from .iou_metric import IoUMetric, intersect_and_union, summarize
from .task_metric import TaskMetric

__all__ = ['CocoKeypointMetric', 'IoUMetric', 'TaskMetric', 'intersect_and_union', 'summarize']
