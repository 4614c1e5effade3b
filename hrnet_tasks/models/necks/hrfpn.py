"""HRFPN (HRNetV2p, Wang et al. TPAMI 2020): the feature pyramid detection heads take from
HRNet's four branches. Argument and parameter names follow mmdet v2/v3's ``HRFPN``, so its
checkpoints load by prefix (``tools/convert_checkpoint.py --task det``)."""
from collections import OrderedDict
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import nn
from torch.utils.checkpoint import checkpoint

from hrnet_tasks.registry import MODELS


@MODELS.register_module()
class HRFPN(BaseModule):
    """Branches 2-4 upsampled bilinearly to branch 1 and concatenated (15C channels), one
    1x1 conv to ``out_channels``, then ``num_outs`` levels each average-pooled from that
    reduced map (x1, x2, x4, ...) and passed through its own 3x3 conv. No norm and no
    activation anywhere: both convs carry a bias.

    Args:
        in_channels (list[int]): widths of the four HRNet branches (C, 2C, 4C, 8C); a
            detection head fills them in from the backbone.
        out_channels (int): channels of every level (256).
        num_outs (int): pyramid levels (5: strides 4-64, or 8-128 with ``stride=2``).
        pooling_type (str): ``'AVG'`` or ``'MAX'``.
        stride (int): stride of the 3x3 level convs; 2 moves the pyramid to strides 8-128
            (FCOS, RetinaNet).
        with_cp (bool): gradient checkpointing of the reduction conv.

    ``forward`` returns an ``OrderedDict`` ``{'0': ..., '4': ...}``, finest first: the
    feature format torchvision's detectors take; ``out_channels`` is their contract too.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int = 256, num_outs: int = 5,
                 pooling_type: str = 'AVG', conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, with_cp: bool = False, stride: int = 1,
                 init_cfg=dict(type='Caffe2Xavier', layer='Conv2d')):
        super().__init__(init_cfg=init_cfg)
        if pooling_type not in ('AVG', 'MAX'):
            raise ValueError(f"HRFPN pooling_type must be 'AVG' or 'MAX', got {pooling_type!r}")
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_outs = num_outs
        self.stride = stride
        self.with_cp = with_cp
        self.pooling = F.avg_pool2d if pooling_type == 'AVG' else F.max_pool2d
        self.reduction_conv = ConvModule(sum(self.in_channels), out_channels, 1,
                                         conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        self.fpn_convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, 3, stride=stride, padding=1,
                       conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
            for _ in range(num_outs))

    def forward(self, inputs: Sequence[torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'HRFPN built for {len(self.in_channels)} branches got '
                             f'{len(inputs)} maps; the backbone needs out_mode=\'all\'')
        outs = [inputs[0]] + [F.interpolate(x, scale_factor=2**i, mode='bilinear')
                              for i, x in enumerate(inputs[1:], 1)]
        x = torch.cat(outs, dim=1)
        if self.with_cp and x.requires_grad:
            x = checkpoint(self.reduction_conv, x, use_reentrant=False)
        else:
            x = self.reduction_conv(x)
        # every level pools the reduced stride-4 map itself, not the level before it
        levels: List[torch.Tensor] = [x] + [self.pooling(x, kernel_size=2**i, stride=2**i)
                                            for i in range(1, self.num_outs)]
        return OrderedDict((str(i), conv(level))
                           for i, (conv, level) in enumerate(zip(self.fpn_convs, levels)))
