from .albumentations import Albumentations, build_albumentations
from .bottomup import (BottomupRandomAffine, BottomupRandomFlip, BottomupResize,
                       GenerateBottomupTargets, PackBottomupInputs, valid_mask_from_segmentations)
from .detection import LoadInstanceMasks, PackDetInputs
from .loading import BadImageError, LoadImage
from .segmentation import (BadLabelError, LoadSegAnnotations, PackSegInputs,
                           SegPhotoMetricDistortion, SegRandomCrop)
from .topdown import (GenerateTarget, GetBBoxCenterScale, PackTopdownInputs, RandomBBoxTransform,
                      RandomHalfBody, TopdownAffine, TopdownRandomFlip)

__all__ = ['Albumentations', 'BadImageError', 'BadLabelError', 'BottomupRandomAffine',
           'BottomupRandomFlip', 'BottomupResize', 'GenerateBottomupTargets', 'LoadImage',
           'LoadSegAnnotations', 'PackBottomupInputs', 'PackSegInputs', 'SegPhotoMetricDistortion',
           'SegRandomCrop', 'build_albumentations', 'valid_mask_from_segmentations',
           'GenerateTarget', 'GetBBoxCenterScale', 'PackTopdownInputs', 'RandomBBoxTransform',
           'RandomHalfBody', 'TopdownAffine', 'TopdownRandomFlip', 'LoadInstanceMasks',
           'PackDetInputs']
