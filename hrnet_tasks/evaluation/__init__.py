from .coco_det_metric import CocoDetMetric
from .coco_keypoint_metric import CocoKeypointMetric
from .face_metric import NMEMetric
from .iou_metric import IoUMetric, intersect_and_union, summarize
from .keypoint_accuracy import PCKAccuracy
from .task_metric import TaskMetric
from .topdown_coco_metric import TopdownCocoMetric

__all__ = ['CocoDetMetric', 'CocoKeypointMetric', 'NMEMetric', 'IoUMetric', 'TaskMetric',
           'intersect_and_union', 'summarize', 'PCKAccuracy', 'TopdownCocoMetric']
