"""Bottom-up pose estimator (HigherHRNet): backbone + head + AE codec decoding."""
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor, BaseModel
from mmengine.structures import BaseDataElement

from hrnet_tasks.codecs.associative_embedding import back_project
from hrnet_tasks.registry import MODELS, TASK_UTILS


@MODELS.register_module()
class PoseDataPreprocessor(BaseDataPreprocessor):
    """Stacks uint8 HWC->CHW images, padding bottom/right with black pixels to a
    multiple of ``size_divisor``, converts BGR->RGB and normalises.

    Padding happens before normalisation, so padded pixels are black, as in the
    official test-time resize (which pads with zeros on the uint8 image).
    """

    def __init__(self,
                 mean=(123.675, 116.28, 103.53),
                 std=(58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = True,
                 size_divisor: int = 32):
        super().__init__()
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1), False)
        self.bgr_to_rgb = bgr_to_rgb
        self.size_divisor = size_divisor

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, torch.Tensor) and inputs.dim() == 4:
            inputs = list(inputs)
        h = max(x.shape[1] for x in inputs)
        w = max(x.shape[2] for x in inputs)
        d = self.size_divisor
        h, w = -(-h // d) * d, -(-w // d) * d
        batch = inputs[0].new_zeros((len(inputs), inputs[0].shape[0], h, w), dtype=torch.float32)
        for i, x in enumerate(inputs):
            batch[i, :, :x.shape[1], :x.shape[2]] = x.float()
        if self.bgr_to_rgb and batch.shape[1] == 3:
            batch = batch[:, [2, 1, 0]]
        batch = (batch - self.mean) / self.std
        return dict(inputs=batch, data_samples=data.get('data_samples'))


def _resize(x: torch.Tensor, size) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=False)


@MODELS.register_module()
class BottomUpPoseEstimator(BaseModel):
    """HigherHRNet-style bottom-up pose estimation.

    Args:
        backbone (dict): the shared ``HRNet`` (``out_mode='highest'``).
        head (dict): ``HigherHRNetHead``.
        codec (dict): ``AssociativeEmbedding`` (decoding settings).
        test_cfg (dict): ``flip_test`` (bool), ``scale_factors`` (list of float,
            multi-scale test; tags are taken from scale 1 only).
        metainfo (dict, optional): pose metainfo (keypoint names, flip pairs, ...);
            the per-sample ``flip_indices`` packed by the pipeline take precedence.
        data_preprocessor (dict): ``PoseDataPreprocessor``.

    ``mode='tensor'`` returns the raw head outputs ``[(B, 2K, H/4, W/4), (B, K, H/2, W/2)]``.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 codec: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 metainfo: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='PoseDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.head = MODELS.build(head)
        codec = dict(codec or dict(type='AssociativeEmbedding'))
        codec.setdefault('num_keypoints', self.head.num_keypoints)
        self.codec = TASK_UTILS.build(codec)
        self.test_cfg = dict(flip_test=True, scale_factors=[1.0])
        self.test_cfg.update(test_cfg or {})
        from hrnet_tasks.datasets.coco_keypoints import parse_pose_metainfo
        self.metainfo = parse_pose_metainfo(metainfo) if metainfo is not None else None
        if self.metainfo is not None and self.metainfo.get('group_order') is not None \
                and codec.get('joint_order') is None:
            self.codec.joint_order = list(self.metainfo['group_order'])

    # ------------------------------------------------------------------ forward
    def extract_feat(self, inputs: torch.Tensor):
        return self.backbone(inputs)

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'tensor':
            return self.head(self.extract_feat(inputs))
        if mode == 'loss':
            return self.head.loss(self.extract_feat(inputs), data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}"; use "tensor", "loss" or "predict"')

    # ---------------------------------------------------------------- predict
    def _flip_indices(self, data_samples) -> List[int]:
        k = self.head.num_keypoints
        if data_samples:
            meta = data_samples[0].metainfo if hasattr(data_samples[0], 'metainfo') else {}
            if meta.get('flip_indices') is not None:
                return list(meta['flip_indices'])
        if self.metainfo is not None:
            return list(self.metainfo['flip_indices'])
        meta = getattr(self, 'dataset_meta', None) or {}
        if meta.get('flip_indices') is not None:
            return list(meta['flip_indices'])
        if k == 17:
            from hrnet_tasks.datasets.coco_keypoints import COCO_METAINFO, parse_pose_metainfo
            return parse_pose_metainfo(COCO_METAINFO)['flip_indices']
        raise ValueError(
            'flip test needs flip_indices: pass model.metainfo or pack them per sample')

    def _aggregate(self, x: torch.Tensor):
        """One pass: 1/4 output resized to 1/2, heatmaps averaged over resolutions."""
        k = self.head.num_keypoints
        y0, y1 = self.head(self.extract_feat(x))[:2]
        y0 = _resize(y0.float(), y1.shape[-2:])
        return (y0[:, :k] + y1.float()) / 2, y0[:, k:2 * k]

    def forward_test(self, inputs: torch.Tensor, flip_indices: Optional[Sequence[int]] = None):
        """Aggregated heatmaps (B, K, H, W) and tags (B, K, H, W, L) at input size."""
        h, w = inputs.shape[-2:]
        scales = sorted(self.test_cfg.get('scale_factors') or [1.0], reverse=True)
        flip = self.test_cfg.get('flip_test', True)
        hm_sum, tags = 0, None
        for s in scales:
            x = inputs
            if s != 1:
                size = (max(32, int(round(h * s / 32)) * 32), max(32, int(round(w * s / 32)) * 32))
                x = _resize(inputs, size)
            hm, tag = self._aggregate(x)
            hm, tag = _resize(hm, (h, w)), _resize(tag, (h, w))
            tag_list = [tag]
            if flip:
                hm_f, tag_f = self._aggregate(x.flip(3))
                hm_f = _resize(hm_f.flip(3)[:, flip_indices], (h, w))
                tag_f = _resize(tag_f.flip(3)[:, flip_indices], (h, w))
                hm = (hm + hm_f) / 2
                tag_list.append(tag_f)
            hm_sum = hm_sum + hm
            if s == 1 or len(scales) == 1:
                tags = torch.stack(tag_list, dim=-1)
        if tags is None:  # no scale 1 in the list: take the tags of the last (smallest) scale
            tags = torch.stack(tag_list, dim=-1)
        return hm_sum / len(scales), tags

    def predict(self, inputs: torch.Tensor, data_samples=None):
        flip_indices = self._flip_indices(data_samples) if self.test_cfg.get('flip_test',
                                                                             True) else None
        hms, tags = self.forward_test(inputs, flip_indices)
        b = inputs.shape[0]
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(b)]
        sizes = []
        for d in data_samples:
            size = d.metainfo.get('input_size')
            sizes.append(tuple(size) if size is not None else (inputs.shape[3], inputs.shape[2]))
        decoded = self.codec.decode(hms, tags, sizes)
        for d, (kpts, scores) in zip(data_samples, decoded):
            meta = d.metainfo
            if meta.get('warp_center') is not None and len(kpts):
                xy = back_project(kpts[..., :2], meta['warp_center'], meta['input_size'],
                                  meta['warp_scale'])
                kpts = np.concatenate([xy, kpts[..., 2:]], axis=-1).astype(np.float32)
            d.set_field(kpts[..., :2].astype(np.float32), 'pred_keypoints')
            d.set_field(kpts[..., 2].astype(np.float32), 'pred_keypoint_scores')
            d.set_field(scores.astype(np.float32), 'pred_scores')
        return data_samples
