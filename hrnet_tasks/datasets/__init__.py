from .base import CheckedDatasetMixin, DataPathError
from .coco_keypoints import COCO_METAINFO, CocoKeypointDataset, parse_pose_metainfo
from .imagenet import ImageNetDataset
from .segmentation import ADE20KDataset, CityscapesDataset, SegDataset
from .transforms import *  # noqa: F401,F403

__all__ = ['CheckedDatasetMixin', 'DataPathError', 'ImageNetDataset',
           'ADE20KDataset', 'CityscapesDataset', 'SegDataset']
