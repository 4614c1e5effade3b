"""Task heads. Every head follows the contract of :class:`.base.BaseHead`
(see docs/new_head.md) and registers here."""
from .base import BaseHead, build_head, head_channels, resize, with_batch_meta
from .cls_head import HRNetClsHead
from .detection_head import DetectionHead
from .fcn_head import FCNHead
from .heatmap_head import HeatmapHead
from .higherhrnet_head import HigherHRNetHead
from .ocr_head import OCRHead
from .seg_head import BaseSegHead, SegHeadCascade

__all__ = ['BaseHead', 'BaseSegHead', 'DetectionHead', 'FCNHead', 'HRNetClsHead', 'HeatmapHead',
           'HigherHRNetHead', 'OCRHead', 'SegHeadCascade', 'build_head', 'head_channels', 'resize',
           'with_batch_meta']
