"""Object-Contextual Representations head (Yuan et al., ECCV 2020) on HRNetV2.

Used after an FCN auxiliary head whose logits A are the soft object regions:

1. X = bottleneck(F): 3x3 conv C->512, BN, ReLU (the official ``conv3x3_ocr``;
   its redundant bias is folded into the BN by the converter).
2. Spatial gather: for each class k, softmax of A_k over all H*W positions
   weights an average of X -> one 512-d region feature per class.
3. Object attention (scale 1): queries from X, keys/values from the region
   features (two/one ConvModule 1x1, 256 channels), softmax over the K regions
   with scale 256^-0.5, output projection 256->512.
4. Fusion: 1x1 conv on concat[context, X] (1024->512), BN, ReLU, Dropout2d
   (0.05 in the official model; mmseg has none), then a 1x1 classifier.

Parameter names follow mmseg's ``OCRHead`` (the official names map onto them in
:mod:`hrnet_tasks.models.converters.seg`). It is the second stage of a
:class:`~hrnet_tasks.models.heads.seg_head.SegHeadCascade`
(``decode_head=[FCNHead, OCRHead]``).
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule

from hrnet_tasks.models.heads.seg_head import BaseSegHead
from hrnet_tasks.registry import MODELS


def spatial_gather(feats: torch.Tensor, probs: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Region features B x C x K x 1: softmax over positions of each class map."""
    b, k = probs.shape[:2]
    weights = F.softmax(scale * probs.reshape(b, k, -1), dim=2)  # B x K x HW
    ctx = torch.matmul(weights, feats.reshape(b, feats.shape[1], -1).transpose(1, 2))
    return ctx.permute(0, 2, 1).unsqueeze(3)


class ObjectAttentionBlock(nn.Module):

    def __init__(self, in_channels: int, channels: int, norm_cfg: dict):
        super().__init__()
        act = dict(type='ReLU')

        def project(num_convs, cin, cout):
            convs = [ConvModule(cin if i == 0 else cout, cout, 1, norm_cfg=norm_cfg, act_cfg=act)
                     for i in range(num_convs)]
            return nn.Sequential(*convs) if num_convs > 1 else convs[0]

        self.channels = channels
        self.query_project = project(2, in_channels, channels)
        self.key_project = project(2, in_channels, channels)
        self.value_project = project(1, in_channels, channels)
        self.out_project = project(1, channels, in_channels)
        self.bottleneck = ConvModule(in_channels * 2, in_channels, 1, norm_cfg=norm_cfg,
                                     act_cfg=act)

    def attention(self, x: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
        """B x HW x K attention weights (rows sum to 1)."""
        b = x.shape[0]
        query = self.query_project(x).reshape(b, self.channels, -1).transpose(1, 2)
        key = self.key_project(regions).reshape(b, self.channels, -1)
        return F.softmax(torch.matmul(query, key) * self.channels**-0.5, dim=-1)

    def forward(self, x: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        sim = self.attention(x, regions)
        value = self.value_project(regions).reshape(b, self.channels, -1).transpose(1, 2)
        context = torch.matmul(sim, value).transpose(1, 2).reshape(b, self.channels, h, w)
        context = self.out_project(context)
        return self.bottleneck(torch.cat([context, x], dim=1))


@MODELS.register_module()
class OCRHead(BaseSegHead):
    """OCR head; ``forward(features, prev_logits)`` returns the final logits.

    Args:
        in_channels (int): 15C of the HRNetV2 concat (filled from the backbone when None).
        num_classes (int): K.
        channels (int): 512 (official MID_CHANNELS).
        ocr_channels (int): 256 (official KEY_CHANNELS).
        dropout_ratio (float): Dropout2d after the fusion conv (official 0.05).
        scale (float): region softmax scale (1).
    """

    def __init__(self, in_channels: Optional[int], num_classes: int, channels: int = 512,
                 ocr_channels: int = 256, dropout_ratio: float = 0.05, scale: float = 1.0,
                 norm_cfg: Optional[dict] = None, align_corners: bool = False,
                 ignore_index: int = 255, loss: Optional[dict] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        norm_cfg = norm_cfg or dict(type='BN')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.scale = scale
        self.align_corners = align_corners
        self.ignore_index = ignore_index
        self.bottleneck = ConvModule(in_channels, channels, 3, padding=1, norm_cfg=norm_cfg,
                                     act_cfg=dict(type='ReLU'))
        self.object_context_block = ObjectAttentionBlock(channels, ocr_channels, norm_cfg)
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else None
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)
        self.build_loss(loss)

    def forward(self, feats, prev_logits: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Logits refined with the object regions given by ``prev_logits``."""
        if prev_logits is None:
            raise ValueError('OCRHead refines the logits of another head: use it last in '
                             'decode_head=[FCNHead, OCRHead] (a SegHeadCascade)')
        x = self.bottleneck(feats[0] if isinstance(feats, (list, tuple)) else feats)
        regions = spatial_gather(x, prev_logits, self.scale)
        out = self.object_context_block(x, regions)
        if self.dropout is not None:
            out = self.dropout(out)
        return self.conv_seg(out)
