# Segmentation: the heads and losses are imported here so that importing
# hrnet_tasks.models registers them whatever the heads/losses packages export.
from hrnet_tasks.models.heads.fcn_head import FCNHead
from hrnet_tasks.models.heads.ocr_head import OCRHead
from hrnet_tasks.models.losses.seg_losses import (CITYSCAPES_CLASS_WEIGHTS,
                                                  OhemPixelCrossEntropyLoss, PixelCrossEntropyLoss)
from .data_preprocessor import SegDataPreprocessor
from .encoder_decoder import EncoderDecoder

__all__ = ['CITYSCAPES_CLASS_WEIGHTS', 'EncoderDecoder', 'FCNHead', 'OCRHead',
           'OhemPixelCrossEntropyLoss', 'PixelCrossEntropyLoss', 'SegDataPreprocessor']
