"""HRNetV2 segmentor: shared backbone (concat output) + FCN head, or + aux FCN and OCR heads.

``decode_head`` is one head config (FCN) or a list ``[aux FCN, OCR]`` (cascade:
the OCR head takes the FCN logits as soft object regions; the aux loss weight is
set on its loss, 0.4). Modes:

* ``loss``: the heads' losses at label resolution (logits resized with
  ``align_corners``), keys ``decode.*`` or ``decode_0.*`` / ``decode_1.*``.
* ``predict``: per-image label maps at the original image size, following
  ``test_cfg``: ``mode='whole'`` or ``'slide'`` (``crop_size``, ``stride``),
  optional ``scales`` (ratios of the test-resized image) and ``flip``; several
  views are fused by averaging softmax probabilities (mmseg), or by summing
  ``exp(logits)`` over scales with logits averaged over flips when
  ``fusion='official'``.
* ``tensor``: raw head logits at 1/4 resolution (OCR: ``(aux, main)``).

A head config without ``in_channels`` gets the backbone's output width (15C of
the HRNetV2 concat), so one config serves every arch. ``align_corners`` given
here overrides the backbone's (fuse-layer and concat upsampling) and the heads'
(loss resize); inference resizes use it too. Heads without their own ``norm_cfg``
take the backbone's (``model.backbone.norm_cfg.type=SyncBN`` switches the whole model).
"""
import copy
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement, PixelData

from hrnet_tasks.errors import ConfigError
from hrnet_tasks.models.heads.fcn_head import resize
from hrnet_tasks.registry import MODELS


@MODELS.register_module()
class EncoderDecoder(BaseModel):

    def __init__(self, backbone: dict, decode_head, data_preprocessor: Optional[dict] = None,
                 align_corners: Optional[bool] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor or dict(type='SegDataPreprocessor'),
                         init_cfg=init_cfg)
        backbone = copy.deepcopy(dict(backbone))
        if align_corners is None:
            align_corners = bool(backbone.get('align_corners') or False)
        backbone['align_corners'] = align_corners
        self.align_corners = align_corners
        self.backbone = MODELS.build(backbone)
        heads = decode_head if isinstance(decode_head, (list, tuple)) else [decode_head]
        built = []
        for cfg in heads:
            cfg = dict(copy.deepcopy(cfg))
            cfg['align_corners'] = align_corners
            if cfg.get('in_channels') is None:  # 15C of the HRNetV2 concat, from the arch
                cfg['in_channels'] = sum(self.backbone.out_channels)
            if cfg.get('norm_cfg') is None and backbone.get('norm_cfg') is not None:
                cfg['norm_cfg'] = dict(backbone['norm_cfg'])  # SyncBN for the backbone -> heads too
            built.append(MODELS.build(cfg))
        self.cascade = len(built) > 1
        if len(built) > 2:
            raise ValueError('decode_head: one head, or [auxiliary FCN head, OCR head]')
        self.decode_head = nn.ModuleList(built) if self.cascade else built[0]
        self.num_classes = built[-1].num_classes
        self.ignore_index = built[-1].ignore_index
        self.train_cfg = dict(train_cfg or {})
        self.test_cfg = dict(test_cfg or dict(mode='whole'))
        self.check_test_cfg()

    def check_test_cfg(self):
        cfg = self.test_cfg
        if cfg.get('mode', 'whole') not in ('whole', 'slide'):
            raise ConfigError(f"test_cfg.mode must be 'whole' or 'slide', got {cfg['mode']!r}")
        if cfg.get('mode') == 'slide' and not (cfg.get('crop_size') and cfg.get('stride')):
            raise ConfigError("test_cfg.mode='slide' needs crop_size=(h, w) and stride=(h, w)")
        if cfg.get('fusion', 'mmseg') not in ('mmseg', 'official'):
            raise ConfigError("test_cfg.fusion must be 'mmseg' or 'official', "
                              f"got {cfg['fusion']!r}")

    # ------------------------------------------------------------------ forward
    def head_logits(self, inputs: torch.Tensor):
        feats = self.backbone(inputs)
        if not self.cascade:
            return self.decode_head(feats)
        aux = self.decode_head[0](feats)
        return aux, self.decode_head[1](feats, aux)

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.head_logits(inputs)
        raise RuntimeError(f'Invalid mode "{mode}". Only supports loss, predict and tensor mode')

    def loss(self, inputs: torch.Tensor, data_samples) -> Dict[str, torch.Tensor]:
        labels = torch.stack([s.gt_sem_seg.data for s in data_samples]).squeeze(1).long()
        outs = self.head_logits(inputs)
        if not self.cascade:
            return self.decode_head.loss_by_feat(outs, labels, 'decode.')
        losses = {}
        for i, (head, logits) in enumerate(zip(self.decode_head, outs)):
            losses.update(head.loss_by_feat(logits, labels, f'decode_{i}.'))
        return losses

    # ---------------------------------------------------------------- inference
    def encode_decode(self, inputs: torch.Tensor) -> torch.Tensor:
        """Final logits resized to the input size."""
        outs = self.head_logits(inputs)
        logits = outs[-1] if self.cascade else outs
        return resize(logits, inputs.shape[-2:], self.align_corners)

    def slide_inference(self, inputs: torch.Tensor) -> torch.Tensor:
        """Windows of ``crop_size`` every ``stride``, shifted to end inside the image,
        logits averaged where they overlap; windows are never padded."""
        h_crop, w_crop = self.test_cfg['crop_size']
        h_stride, w_stride = self.test_cfg['stride']
        b, _, h, w = inputs.shape
        rows = max(h - h_crop + h_stride - 1, 0) // h_stride + 1
        cols = max(w - w_crop + w_stride - 1, 0) // w_stride + 1
        out = inputs.new_zeros((b, self.num_classes, h, w))
        count = inputs.new_zeros((b, 1, h, w))
        for r in range(rows):
            for c in range(cols):
                y1, x1 = r * h_stride, c * w_stride
                y2, x2 = min(y1 + h_crop, h), min(x1 + w_crop, w)
                y1, x1 = max(y2 - h_crop, 0), max(x2 - w_crop, 0)
                out[:, :, y1:y2, x1:x2] += self.encode_decode(inputs[:, :, y1:y2, x1:x2]).float()
                count[:, :, y1:y2, x1:x2] += 1
        assert (count > 0).all()
        return out / count

    def inference(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.test_cfg.get('mode', 'whole') == 'slide':
            return self.slide_inference(inputs)
        return self.encode_decode(inputs).float()

    def _views(self):
        scales = self.test_cfg.get('scales') or [1.0]
        flips = [False, True] if self.test_cfg.get('flip') else [False]
        return [(s, f) for s in scales for f in flips]

    def predict_logits(self, inputs: torch.Tensor, data_samples) -> List[torch.Tensor]:
        """Per image: K x H x W scores at ``ori_shape`` (probabilities when several views)."""
        metas = [s.metainfo for s in data_samples] if data_samples is not None else \
            [dict(img_shape=inputs.shape[-2:], ori_shape=inputs.shape[-2:])] * inputs.shape[0]
        views = self._views()
        if views == [(1.0, False)]:
            logits = self.inference(inputs)
            results = []
            for i, meta in enumerate(metas):
                h, w = meta.get('img_shape', inputs.shape[-2:])[:2]
                one = logits[i:i + 1, :, :h, :w]
                if meta.get('flip'):
                    one = one.flip(-1)
                results.append(resize(one, meta.get('ori_shape', (h, w))[:2],
                                      self.align_corners)[0])
            return results
        official = self.test_cfg.get('fusion', 'mmseg') == 'official'
        results = []
        for i, meta in enumerate(metas):
            h, w = meta.get('img_shape', inputs.shape[-2:])[:2]
            ori = meta.get('ori_shape', (h, w))[:2]
            img = inputs[i:i + 1, :, :h, :w]
            total = 0
            for scale in sorted({s for s, _ in views}):
                size = (int(h * scale + 0.5), int(w * scale + 0.5))
                x = resize(img, size, self.align_corners)
                flips = [f for s, f in views if s == scale]
                per_scale = []
                for flip in flips:
                    out = self.inference(x.flip(-1) if flip else x)
                    per_scale.append(out.flip(-1) if flip else out)
                if official:
                    total = total + resize(sum(per_scale) / len(per_scale), ori,
                                           self.align_corners).exp()
                else:
                    for out in per_scale:
                        total = total + resize(out, ori, self.align_corners).softmax(1)
            if not official:
                total = total / len(views)
            if meta.get('flip'):
                total = total.flip(-1)
            results.append(total[0])
        return results

    def predict(self, inputs: torch.Tensor, data_samples=None) -> List[BaseDataElement]:
        scores = self.predict_logits(inputs, data_samples)
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in scores]
        for sample, score in zip(data_samples, scores):
            sample.pred_sem_seg = PixelData(data=score.argmax(0, keepdim=True))
            if self.test_cfg.get('output_logits'):
                sample.seg_logits = PixelData(data=score)
        return data_samples
