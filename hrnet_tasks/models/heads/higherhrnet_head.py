"""HigherHRNet head: 1/4-resolution heatmaps + tags, deconvolution to 1/2-resolution heatmaps,
and the test-time logic of the official code (flip and multi-scale aggregation, decoding).

Submodule names (``final_layers``, ``deconv_layers``) and Sequential nesting follow
the official ``PoseHigherResolutionNet`` so official checkpoints convert by a prefix.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmpretrain.models.backbones.resnet import BasicBlock

from hrnet_tasks.codecs.associative_embedding import back_project
from hrnet_tasks.datasets.coco_keypoints import parse_pose_metainfo
from hrnet_tasks.models.heads.base import BaseHead, View, normal_init_convs, resize
from hrnet_tasks.models.heads.pose_meta import (check_keypoint_count, flip_indices_of,
                                                 known_pose_metainfo)
from hrnet_tasks.registry import MODELS, TASK_UTILS

_DECONV_PAD = {4: (1, 0), 3: (1, 1), 2: (0, 0)}


@MODELS.register_module()
class HigherHRNetHead(BaseHead):
    """Final 1x1 convs + one deconv stage (concat of features and 1/4 predictions).

    Args:
        in_channels (int): channels of the backbone's stride-4 feature (C); the model
            fills it from the backbone when the config leaves it out.
        num_keypoints (int): K. The 1/4 output has 2K channels (K heatmaps + K tags),
            the 1/2 output K heatmaps.
        num_deconvs (int): 1 (HigherHRNet: the deconvolution to the 1/2-resolution
            heatmaps) or 0 (plain HRNet associative embedding, the 1/4 output alone, as
            the official ``NUM_DECONVS: 0`` and mmpose 1.x's AE model).
        deconv_channels (int, optional): channels after the deconvolution (default C).
        deconv_kernel (int): 4, 3 or 2.
        num_basic_blocks (int): BasicBlocks after the deconvolution.
        cat_output (bool): concatenate the 1/4 predictions to the features before the deconv.
        norm_cfg (dict): norm layers (the model passes the backbone's; BN by default).
        loss_heatmap, loss_ae (dict): loss configs.
        heatmap_weights (seq of float): per-resolution heatmap loss factors.
        codec (dict): ``AssociativeEmbedding`` decoding settings (``num_keypoints`` = K).
        metainfo (dict, optional): pose metainfo (keypoint names, flip pairs, grouping
            order); per-sample ``flip_indices`` take precedence. Without it, K = 17
            means COCO: its flip pairs and its grouping order.
        pred_prefix (str): prefix of the prediction field names (see ``BaseHead``).
    """

    backbone_output = 'highest'

    def __init__(self,
                 in_channels: Optional[int] = None,
                 num_keypoints: int = 17,
                 num_deconvs: int = 1,
                 deconv_channels: Optional[int] = None,
                 deconv_kernel: int = 4,
                 num_basic_blocks: int = 4,
                 cat_output: bool = True,
                 norm_cfg: Optional[dict] = None,
                 loss_heatmap: dict = dict(type='MaskedHeatmapMSELoss', loss_weight=1.0),
                 loss_ae: dict = dict(type='AssociativeEmbeddingLoss',
                                      push_type='exp',
                                      push_weight=1e-3,
                                      pull_weight=1e-3),
                 heatmap_weights: Sequence[float] = (1.0, 1.0),
                 codec: Optional[dict] = None,
                 metainfo: Optional[dict] = None,
                 pred_prefix: str = '',
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.pred_prefix = pred_prefix
        if in_channels is None:
            raise ValueError('HigherHRNetHead needs in_channels (the backbone width C); '
                             'BottomUpPoseEstimator fills it from the backbone')
        if num_deconvs not in (0, 1):
            raise ValueError(f'num_deconvs must be 0 or 1, got {num_deconvs}')
        if deconv_kernel not in _DECONV_PAD:
            raise ValueError(
                f'deconv_kernel must be one of {list(_DECONV_PAD)}, got {deconv_kernel}')
        norm_cfg = norm_cfg or dict(type='BN', momentum=0.1)
        c_out = deconv_channels or in_channels
        k = num_keypoints
        self.in_channels = in_channels
        self.num_keypoints = k
        self.cat_output = cat_output
        self.heatmap_weights = tuple(heatmap_weights)
        self.num_deconvs = num_deconvs
        self.final_layers = nn.ModuleList([nn.Conv2d(in_channels, 2 * k, 1, 1, 0)] +
                                          [nn.Conv2d(c_out, k, 1, 1, 0)] * num_deconvs)
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
        self.deconv_layers = nn.ModuleList([nn.Sequential(*stage)] * num_deconvs)
        self.loss_heatmap = MODELS.build(loss_heatmap)
        self.loss_ae = MODELS.build(loss_ae)
        self.metainfo = parse_pose_metainfo(metainfo) if metainfo is not None else None
        codec = dict(codec or dict(type='AssociativeEmbedding'))
        codec.setdefault('num_keypoints', k)
        known = self._known_metainfo()
        if codec.get('joint_order') is None and known is not None:
            codec['joint_order'] = list(known['group_order'])
        self.codec = TASK_UTILS.build(codec)

    def check_dataset_meta(self, meta: Optional[dict], source: str = 'the dataset'):
        check_keypoint_count(self.num_keypoints, meta, source, 'model.head.num_keypoints')

    def _known_metainfo(self) -> Optional[dict]:
        """The head's metainfo; COCO's when none is given and K is COCO's (17), else None."""
        return known_pose_metainfo(self.metainfo, self.num_keypoints)

    def init_weights(self):
        """Official init: every conv / deconv N(0, 0.001), biases 0, norms (1, 0)."""
        super().init_weights()
        if self.init_cfg is None:
            normal_init_convs(self, std=0.001)

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> List[torch.Tensor]:
        x = feats[0] if isinstance(feats, (tuple, list)) else feats
        y0 = self.final_layers[0](x)
        if not self.num_deconvs:
            return [y0]
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

    # ------------------------------------------------------------------ test time
    def test_views(self, test_cfg: Optional[dict]) -> List[View]:
        """``scale_factors`` (largest first), each without and (``flip_test``) with flip."""
        test_cfg = test_cfg or {}
        scales = sorted(test_cfg.get('scale_factors') or [1.0], reverse=True)
        flips = [False, True] if test_cfg.get('flip_test', True) else [False]
        return [(s, f) for s in scales for f in flips]

    def view_size(self, size: Sequence[int], scale: float) -> Tuple[int, int]:
        """Other scales round to a multiple of 32 (the network's total stride)."""
        if scale == 1:
            return tuple(size)
        return tuple(max(32, int(round(side * scale / 32)) * 32) for side in size)

    def flip_indices(self, data_samples=None) -> List[int]:
        """Keypoint permutation of a horizontal flip: per sample, else the metainfo,
        else COCO's for K = 17."""
        return flip_indices_of(data_samples, self.metainfo, self.num_keypoints)

    def _one_view(self, feats) -> Tuple[torch.Tensor, torch.Tensor]:
        """One view: the 1/4 output resized to 1/2, heatmaps averaged over resolutions
        (without the deconvolution: the 1/4 heatmaps and tags)."""
        k = self.num_keypoints
        outs = self.forward(feats)
        if len(outs) == 1:
            return outs[0][:, :k].float(), outs[0][:, k:2 * k].float()
        y0, y1 = outs[:2]
        y0 = resize(y0.float(), y1.shape[-2:])
        return (y0[:, :k] + y1.float()) / 2, y0[:, k:2 * k]

    def aggregate(self, view_feats: Sequence, size: Sequence[int],
                  flip_indices: Optional[Sequence[int]], test_cfg: Optional[dict]):
        """Heatmaps (B, K, H, W) averaged over scales and flips and tags (B, K, H, W, L) of
        scale 1 (else the smallest scale), at the batch input ``size`` (H, W)."""
        views = self.test_views(test_cfg)
        scales = sorted({s for s, _ in views}, reverse=True)
        hm_sum, tags = 0, None
        for scale in scales:
            hm, tag_list = 0, []
            for (s, flip), feats in zip(views, view_feats):
                if s != scale:
                    continue
                view_hm, view_tag = self._one_view(feats)
                if flip:
                    view_hm, view_tag = (view_hm.flip(3)[:, flip_indices],
                                         view_tag.flip(3)[:, flip_indices])
                hm = hm + resize(view_hm, size)
                tag_list.append(resize(view_tag, size))
            hm_sum = hm_sum + hm / len(tag_list)
            if scale == 1 or (scale == scales[-1] and tags is None):
                tags = torch.stack(tag_list, dim=-1)
        return hm_sum / len(scales), tags

    def predict(self, view_feats: Sequence, data_samples, test_cfg: dict):
        """Decoded people per sample: ``pred_keypoints`` (P, K, 2) in original image pixels,
        ``pred_keypoint_scores`` (P, K), ``pred_scores`` (P,)."""
        test_cfg = test_cfg or {}
        flip = self.flip_indices(data_samples) if test_cfg.get('flip_test', True) else None
        h, w = data_samples[0].metainfo['batch_input_shape']
        hms, tags = self.aggregate(view_feats, (h, w), flip, test_cfg)
        sizes = [tuple(d.metainfo.get('input_size') or (w, h)) for d in data_samples]
        for d, (kpts, scores) in zip(data_samples, self.codec.decode(hms, tags, sizes)):
            meta = d.metainfo
            if meta.get('warp_center') is not None and len(kpts):
                xy = back_project(kpts[..., :2], meta['warp_center'], meta['input_size'],
                                  meta['warp_scale'])
                kpts = np.concatenate([xy, kpts[..., 2:]], axis=-1).astype(np.float32)
            d.set_field(kpts[..., :2].astype(np.float32), self.pred_field('pred_keypoints'))
            d.set_field(kpts[..., 2].astype(np.float32), self.pred_field('pred_keypoint_scores'))
            d.set_field(scores.astype(np.float32), self.pred_field('pred_scores'))
        return data_samples
