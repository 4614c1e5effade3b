"""HigherHRNet head: 1/4-resolution heatmaps + tags, deconvolution to 1/2-resolution heatmaps.

Submodule names (``final_layers``, ``deconv_layers``) and Sequential nesting follow
the official ``PoseHigherResolutionNet`` so official checkpoints convert by a prefix.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.models.backbones.resnet import BasicBlock

from hrnet_tasks.registry import MODELS

_DECONV_PAD = {4: (1, 0), 3: (1, 1), 2: (0, 0)}


@MODELS.register_module()
class HigherHRNetHead(BaseModule):
    """Final 1x1 convs + one deconv stage (concat of features and 1/4 predictions).

    Args:
        in_channels (int): channels of the backbone's stride-4 feature (C).
        num_keypoints (int): K. The 1/4 output has 2K channels (K heatmaps + K tags),
            the 1/2 output K heatmaps.
        deconv_channels (int, optional): channels after the deconvolution (default C).
        deconv_kernel (int): 4, 3 or 2.
        num_basic_blocks (int): BasicBlocks after the deconvolution.
        cat_output (bool): concatenate the 1/4 predictions to the features before the deconv.
        loss_heatmap, loss_ae (dict): loss configs.
        heatmap_weights (seq of float): per-resolution heatmap loss factors.
    """

    def __init__(self,
                 in_channels: int = 32,
                 num_keypoints: int = 17,
                 deconv_channels: int = None,
                 deconv_kernel: int = 4,
                 num_basic_blocks: int = 4,
                 cat_output: bool = True,
                 norm_cfg: dict = dict(type='BN', momentum=0.1),
                 loss_heatmap: dict = dict(type='MaskedHeatmapMSELoss', loss_weight=1.0),
                 loss_ae: dict = dict(type='AssociativeEmbeddingLoss',
                                      push_type='exp',
                                      push_weight=1e-3,
                                      pull_weight=1e-3),
                 heatmap_weights: Sequence[float] = (1.0, 1.0),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if deconv_kernel not in _DECONV_PAD:
            raise ValueError(
                f'deconv_kernel must be one of {list(_DECONV_PAD)}, got {deconv_kernel}')
        c_out = deconv_channels or in_channels
        k = num_keypoints
        self.num_keypoints = k
        self.cat_output = cat_output
        self.heatmap_weights = tuple(heatmap_weights)
        self.final_layers = nn.ModuleList([
            nn.Conv2d(in_channels, 2 * k, 1, 1, 0),
            nn.Conv2d(c_out, k, 1, 1, 0),
        ])
        pad, out_pad = _DECONV_PAD[deconv_kernel]
        deconv_in = in_channels + 2 * k if cat_output else in_channels
        stage = [
            nn.Sequential(
                nn.ConvTranspose2d(deconv_in, c_out, deconv_kernel, 2, pad, out_pad, bias=False),
                build_norm_layer(norm_cfg, c_out)[1], nn.ReLU(inplace=True))
        ]
        stage += [
            nn.Sequential(BasicBlock(c_out, c_out, norm_cfg=norm_cfg))
            for _ in range(num_basic_blocks)
        ]
        self.deconv_layers = nn.ModuleList([nn.Sequential(*stage)])
        self.loss_heatmap = MODELS.build(loss_heatmap)
        self.loss_ae = MODELS.build(loss_ae)

    def init_weights(self):
        """Official init: every conv / deconv N(0, 0.001), biases 0, norms (1, 0)."""
        super().init_weights()
        if self.init_cfg is not None:
            return
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, std=0.001)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.SyncBatchNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> List[torch.Tensor]:
        x = feats[0] if isinstance(feats, (tuple, list)) else feats
        y0 = self.final_layers[0](x)
        x = torch.cat([x, y0], dim=1) if self.cat_output else x
        x = self.deconv_layers[0](x)
        y1 = self.final_layers[1](x)
        return [y0, y1]

    def loss(self, feats, data_samples) -> dict:
        outs = self.forward(feats)
        k = self.num_keypoints
        losses = {}
        names = ['1_4', '1_2']
        for r, out in enumerate(outs):
            gt = torch.stack([torch.as_tensor(d.gt_heatmaps[r])
                              for d in data_samples]).to(out.device)
            mask = torch.stack([torch.as_tensor(d.gt_masks[r]) for d in data_samples]).to(out)
            name = names[r] if r < len(names) else f'res{r}'
            losses[f'loss_hm_{name}'] = self.loss_heatmap(out[:, :k].float(), gt.float(),
                                                          mask.float()) * self.heatmap_weights[r]
        joints = torch.stack([torch.as_tensor(d.gt_joints[0])
                              for d in data_samples]).to(outs[0].device)
        push, pull = self.loss_ae(outs[0][:, k:2 * k], joints)
        losses['loss_push'] = push
        losses['loss_pull'] = pull
        return losses
