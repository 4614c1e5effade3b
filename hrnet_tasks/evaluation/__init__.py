from .coco_keypoint_metric import CocoKeypointMetric  # noqa: F401
from .iou_metric import IoUMetric, intersect_and_union, summarize

__all__ = ['IoUMetric', 'intersect_and_union', 'summarize']
