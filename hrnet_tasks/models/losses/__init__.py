from .pose_losses import AssociativeEmbeddingLoss, MaskedHeatmapMSELoss
from .seg_losses import (CITYSCAPES_CLASS_WEIGHTS, OhemPixelCrossEntropyLoss,  # noqa: F401
                         PixelCrossEntropyLoss)

__all__ = ['AssociativeEmbeddingLoss', 'MaskedHeatmapMSELoss']
