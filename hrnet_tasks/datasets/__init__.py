from .base import CheckedDatasetMixin, DataPathError
from .coco_keypoints import COCO_METAINFO, CocoKeypointDataset, parse_pose_metainfo
from .imagenet import ImageNetDataset
from .segmentation import ADE20KDataset, CityscapesDataset, SegDataset
from .transforms import *  # noqa: F401,F403
from .coco_person_seg import CocoPoseSegDataset
from .multitask import MixedTaskBatchSampler, MultiTaskDataset
from .topdown_coco import TopdownCocoDataset
from .coco_detection import CocoDetDataset
from .face import AFLWDataset, COFWDataset, Face300WDataset, FaceLandmarkDataset, WFLWDataset

__all__ = ['COCO_METAINFO', 'CheckedDatasetMixin', 'CocoKeypointDataset', 'CocoPoseSegDataset',
           'DataPathError', 'ImageNetDataset', 'parse_pose_metainfo',
           'MixedTaskBatchSampler', 'MultiTaskDataset', 'ADE20KDataset', 'CityscapesDataset',
           'SegDataset', 'AFLWDataset', 'COFWDataset', 'Face300WDataset', 'FaceLandmarkDataset',
           'WFLWDataset', 'TopdownCocoDataset', 'CocoDetDataset']
