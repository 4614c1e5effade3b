"""Top-down heatmap head: one map per keypoint of one instance crop (pose and faces).

Layout and names follow mmpose's ``HeatmapHead`` (``deconv_layers``, ``conv_layers``,
``final_layer``), so official and mmpose checkpoints convert by a prefix:

* pose (official ``pose_hrnet``): ``backbone_output='highest'``, one 1x1 conv C -> K;
* face (official HRNetV2 face model): ``backbone_output='concat'`` on an HRNet with
  ``upsample_mode='bilinear'``, ``conv_out_channels=(270,)`` (1x1 conv with bias + BN +
  ReLU) then the 1x1 conv -> K; the BN momentum comes from ``norm_cfg`` (the model passes
  the backbone's; the official face model uses 0.01);
* SimpleBaseline-style: ``deconv_out_channels=(256, 256, 256)`` with kernels 4.

The head holds the :class:`~hrnet_tasks.codecs.HeatmapCodec` and owns the flip test
(flip back, swap pairs, shift 1 px right unless UDP, average) and the decoding back to
image pixels through each sample's ``warp_mat``.
"""
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer

from hrnet_tasks.datasets.coco_keypoints import parse_pose_metainfo
from hrnet_tasks.datasets.transforms.topdown import crop_to_image
from hrnet_tasks.models.heads.base import BaseHead, View, normal_init_convs
from hrnet_tasks.models.heads.higherhrnet_head import _DECONV_PAD
from hrnet_tasks.models.heads.pose_meta import check_keypoint_count, flip_indices_of
from hrnet_tasks.registry import MODELS, TASK_UTILS


def shift_right(heatmaps: torch.Tensor) -> torch.Tensor:
    """Every map moved one pixel right, column 0 kept (the official ``SHIFT_HEATMAP``)."""
    out = heatmaps.clone()
    out[..., 1:] = heatmaps[..., :-1]
    return out


@MODELS.register_module()
class HeatmapHead(BaseHead):
    """Heatmaps (B, K, H, W) of one instance per crop.

    Args:
        in_channels (int): width of the backbone output (the model fills it).
        num_keypoints (int): K.
        backbone_output (str): ``'highest'`` (pose) or ``'concat'`` (face, 15C channels).
        deconv_out_channels, deconv_kernel_sizes (seq of int): ConvTranspose (stride 2,
            no bias) + norm + ReLU layers; none by default.
        conv_out_channels, conv_kernel_sizes (seq of int): conv (bias) + norm + ReLU
            layers after them; none by default.
        final_kernel_size (int): kernel of the last conv (official 1).
        norm_cfg (dict): norm layers (the model passes the backbone's).
        loss (dict): default ``KeypointMSELoss(use_target_weight=True, loss_weight=0.5)``,
            the official pose loss (mmpose's has loss_weight 1).
        codec (dict): a ``HeatmapCodec`` config.
        metainfo (dict, optional): keypoint metainfo (flip pairs); per-sample
            ``flip_indices`` take precedence; 17 keypoints without one mean COCO.
        pred_prefix (str): prefix of the prediction field names (see ``BaseHead``).

    ``test_cfg``: ``flip_test`` (default True), ``shift_heatmap`` (default: the codec's
    rule, on for plain / DARK, off for UDP), ``output_heatmaps`` (also store the averaged
    maps as ``pred_heatmaps``).
    """

    backbone_output = 'highest'
    label_field = 'gt_heatmaps'

    def __init__(self,
                 in_channels: Optional[int] = None,
                 num_keypoints: int = 17,
                 backbone_output: str = 'highest',
                 deconv_out_channels: Sequence[int] = (),
                 deconv_kernel_sizes: Sequence[int] = (),
                 conv_out_channels: Sequence[int] = (),
                 conv_kernel_sizes: Sequence[int] = (),
                 final_kernel_size: int = 1,
                 norm_cfg: Optional[dict] = None,
                 loss: dict = dict(type='KeypointMSELoss', use_target_weight=True,
                                   loss_weight=0.5),
                 codec: Optional[dict] = None,
                 metainfo: Optional[dict] = None,
                 pred_prefix: str = '',
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if in_channels is None:
            raise ValueError('HeatmapHead needs in_channels (the backbone width); '
                             'TopdownPoseEstimator fills it from the backbone')
        if backbone_output not in ('highest', 'concat'):
            raise ValueError(f"HeatmapHead: backbone_output must be 'highest' or 'concat', "
                             f'got {backbone_output!r}')
        for what, chans, kernels in (('deconv', deconv_out_channels, deconv_kernel_sizes),
                                     ('conv', conv_out_channels, conv_kernel_sizes)):
            if len(chans) != len(kernels):
                raise ValueError(f'HeatmapHead: {len(chans)} {what}_out_channels but '
                                 f'{len(kernels)} {what}_kernel_sizes')
        bad = [k for k in deconv_kernel_sizes if k not in _DECONV_PAD]
        if bad:
            raise ValueError(f'HeatmapHead: deconv kernels must be in {list(_DECONV_PAD)}, '
                             f'got {bad}')
        self.backbone_output = backbone_output
        self.in_channels = in_channels
        self.num_keypoints = num_keypoints
        self.pred_prefix = pred_prefix
        norm_cfg = norm_cfg or dict(type='BN', momentum=0.1)
        layers, c = [], in_channels
        for out, kernel in zip(deconv_out_channels, deconv_kernel_sizes):
            pad, out_pad = _DECONV_PAD[kernel]
            layers += [nn.ConvTranspose2d(c, out, kernel, 2, pad, out_pad, bias=False),
                       build_norm_layer(norm_cfg, out)[1], nn.ReLU(inplace=True)]
            c = out
        self.deconv_layers = nn.Sequential(*layers) if layers else nn.Identity()
        layers = []
        for out, kernel in zip(conv_out_channels, conv_kernel_sizes):
            layers += [nn.Conv2d(c, out, kernel, 1, (kernel - 1) // 2),
                       build_norm_layer(norm_cfg, out)[1], nn.ReLU(inplace=True)]
            c = out
        self.conv_layers = nn.Sequential(*layers) if layers else nn.Identity()
        self.final_layer = nn.Conv2d(c, num_keypoints, final_kernel_size, 1,
                                     (final_kernel_size - 1) // 2)
        self.loss_module = MODELS.build(loss)
        self.codec = TASK_UTILS.build(dict(codec or dict(type='HeatmapCodec')))
        self.metainfo = parse_pose_metainfo(metainfo) if metainfo is not None else None

    def init_weights(self):
        """Convs and deconvs N(0, 0.001), biases 0, norms (1, 0) (official pose, mmpose)."""
        super().init_weights()
        if self.init_cfg is None:
            normal_init_convs(self, std=0.001)

    def check_dataset_meta(self, meta: Optional[dict], source: str = 'the dataset'):
        check_keypoint_count(self.num_keypoints, meta, source, 'model.head.num_keypoints')

    def forward(self, feats) -> torch.Tensor:
        x = feats[0] if isinstance(feats, (tuple, list)) else feats
        return self.final_layer(self.conv_layers(self.deconv_layers(x)))

    def loss(self, feats, data_samples) -> dict:
        pred = self.forward(feats)
        gt = torch.stack([torch.as_tensor(d.gt_heatmaps) for d in data_samples]).to(pred)
        weights = torch.stack([torch.as_tensor(d.keypoint_weights)
                               for d in data_samples]).to(pred).reshape(len(data_samples), -1)
        h, w = gt.shape[-2:]
        if gt.shape[1] != pred.shape[1] or pred.shape[-2] < h or pred.shape[-1] < w:
            raise ValueError(f'HeatmapHead: target heatmaps {tuple(gt.shape[1:])} but the head '
                             f'outputs {tuple(pred.shape[1:])}; the codec heatmap_size (W, H) '
                             'must be the input size / 4 (times 2 per deconv layer)')
        # a batch padded bottom/right beyond the crop (a multi-task preprocessor's minimum
        # size) gives larger maps whose top-left part is the crop's
        return dict(loss_kpt=self.loss_module(pred[..., :h, :w], gt, weights))

    # ------------------------------------------------------------------ test time
    def test_views(self, test_cfg: Optional[dict]) -> List[View]:
        """The crop, and (``flip_test``, default on) the crop flipped."""
        flip = (test_cfg or {}).get('flip_test', True)
        return [(1.0, False), (1.0, True)] if flip else [(1.0, False)]

    def flip_indices(self, data_samples=None) -> List[int]:
        return flip_indices_of(data_samples, self.metainfo, self.num_keypoints)

    def test_heatmaps(self, view_feats: Sequence, data_samples=None,
                      test_cfg: Optional[dict] = None) -> torch.Tensor:
        """(B, K, H, W) maps of the views: with a flip view, the flipped output flipped
        back with its pairs swapped, shifted 1 px right (``shift_heatmap``) and averaged."""
        test_cfg = test_cfg or {}
        heatmaps = self.forward(view_feats[0]).float()
        if len(view_feats) > 1:
            flipped = self.forward(view_feats[1]).float().flip(-1)[:, self.flip_indices(
                data_samples)]
            shift = test_cfg.get('shift_heatmap')
            if self.codec.shift_flipped_heatmap if shift is None else shift:
                flipped = shift_right(flipped)
            heatmaps = (heatmaps + flipped) / 2
        return heatmaps

    def predict(self, view_feats: Sequence, data_samples, test_cfg: dict):
        """Per sample (one instance): ``pred_keypoints`` (1, K, 2) in image pixels (crop
        pixels for a sample without ``warp_mat``), ``pred_keypoint_scores`` (1, K) (the
        heatmap peaks) and ``pred_scores`` (1,) = the box score (1 without one); the COCO
        metric rescores instances itself."""
        test_cfg = test_cfg or {}
        heatmaps = self.test_heatmaps(view_feats, data_samples, test_cfg)
        keypoints, scores = self.codec.batch_decode(heatmaps.detach().cpu().numpy())
        for i, sample in enumerate(data_samples):
            meta = sample.metainfo
            kpts = keypoints[i:i + 1]
            if meta.get('warp_mat') is not None:
                kpts = crop_to_image(kpts, meta['warp_mat']).astype(np.float32)
            box_score = meta.get('bbox_score')
            box_score = np.ones(1, np.float32) if box_score is None else \
                np.asarray(box_score, np.float32).reshape(1)
            sample.set_field(kpts, self.pred_field('pred_keypoints'))
            sample.set_field(scores[i:i + 1], self.pred_field('pred_keypoint_scores'))
            sample.set_field(box_score, self.pred_field('pred_scores'))
            if test_cfg.get('output_heatmaps'):
                sample.set_field(heatmaps[i].detach().cpu(), self.pred_field('pred_heatmaps'))
        return data_samples
