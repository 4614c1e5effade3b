from .heatmap_losses import KeypointMSELoss
from .pose_losses import AssociativeEmbeddingLoss, MaskedHeatmapMSELoss
from .seg_losses import CITYSCAPES_CLASS_WEIGHTS, OhemPixelCrossEntropyLoss, PixelCrossEntropyLoss

__all__ = ['AssociativeEmbeddingLoss', 'CITYSCAPES_CLASS_WEIGHTS', 'KeypointMSELoss',
           'MaskedHeatmapMSELoss',
           'OhemPixelCrossEntropyLoss', 'PixelCrossEntropyLoss']
