"""HRNetV2 "FCN" head: the official ``last_layer`` (1x1 conv, BN, ReLU, 1x1 classifier).

Parameter names follow mmseg's ``FCNHead`` (``convs.0.{conv,bn}``, ``conv_seg``);
the official first conv carries a bias that is redundant before BN, so ours has
none and the converter folds the official bias into the BN running mean.
"""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from hrnet_tasks.models.heads.seg_head import BaseSegHead
from hrnet_tasks.registry import MODELS


@MODELS.register_module()
class FCNHead(BaseSegHead):
    """Conv(k)-BN-ReLU x ``num_convs`` then a 1x1 classifier, on the HRNetV2 concat.

    Args:
        in_channels (int): 15C (270 for W18, 720 for W48); the model fills it from the
            backbone when the config leaves it out.
        num_classes (int): K.
        channels (int): width of the hidden convs (default: ``in_channels``).
        num_convs (int): 1 as in the official HRNetV2 head.
        kernel_size (int): 1 (``FINAL_CONV_KERNEL`` in every official config).
        dropout_ratio (float): dropout before the classifier (none officially).
        norm_cfg (dict): norm of the hidden convs (the model passes the backbone's).
        align_corners (bool): for the loss and inference resizes.
        loss (dict): loss config (``PixelCrossEntropyLoss`` by default).
    """

    def __init__(self, in_channels: Optional[int], num_classes: int, channels: Optional[int] = None,
                 num_convs: int = 1, kernel_size: int = 1, dropout_ratio: float = -1,
                 norm_cfg: Optional[dict] = None, align_corners: bool = False,
                 ignore_index: int = 255, loss: Optional[dict] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.channels = channels or in_channels
        self.align_corners = align_corners
        self.ignore_index = ignore_index
        norm_cfg = norm_cfg or dict(type='BN')
        convs = []
        for i in range(num_convs):
            convs.append(ConvModule(in_channels if i == 0 else self.channels, self.channels,
                                    kernel_size, padding=kernel_size // 2, norm_cfg=norm_cfg,
                                    act_cfg=dict(type='ReLU')))
        self.convs = nn.Sequential(*convs) if convs else nn.Identity()
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else None
        self.conv_seg = nn.Conv2d(self.channels if num_convs else in_channels, num_classes, 1)
        self.build_loss(loss)

    def init_weights(self):
        super().init_weights()
        if self.init_cfg is None:
            for m in self.convs.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
                elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
            nn.init.normal_(self.conv_seg.weight, std=0.01)
            nn.init.constant_(self.conv_seg.bias, 0)

    def forward(self, feats, prev_logits: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Logits at the feature resolution; ``prev_logits`` (in a cascade) are not used."""
        x = self.convs(feats[0] if isinstance(feats, (list, tuple)) else feats)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.conv_seg(x)
