"""HRNetV2 segmentor: shared backbone (concat output) + FCN head, or + aux FCN and OCR heads.

``decode_head`` is one head config (FCN) or a list ``[aux FCN, OCR]``, built as a
:class:`~hrnet_tasks.models.heads.seg_head.SegHeadCascade` (the OCR head takes
the FCN logits as soft object regions; the aux loss weight is set on its loss,
0.4). Modes:

* ``loss``: the heads' losses at label resolution (logits resized with
  ``align_corners``), keys ``decode.*`` or ``decode_0.*`` / ``decode_1.*``.
* ``predict``: per-image label maps at the original image size, following
  ``test_cfg``: ``mode='whole'`` or ``'slide'`` (``crop_size``, ``stride``),
  optional ``scales`` (ratios of the test-resized image) and ``flip``; the head
  fuses several views (mean softmax probability, or ``fusion='official'``: sum of
  ``exp`` of the flip-averaged logits over scales).
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
from mmengine.model import BaseModel

from hrnet_tasks.errors import ConfigError
from hrnet_tasks.models.heads.base import build_head, resize, with_batch_meta
from hrnet_tasks.models.heads.seg_head import set_seg_predictions
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
        self.cascade = isinstance(decode_head, (list, tuple))
        head = dict(type='SegHeadCascade', heads=list(decode_head)) if self.cascade \
            else decode_head
        self.decode_head = build_head(head, self.backbone, align_corners=align_corners)
        self.num_classes = self.decode_head.num_classes
        self.ignore_index = self.decode_head.ignore_index
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
        return self.decode_head(self.backbone(inputs))

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.head_logits(inputs)
        raise RuntimeError(f'Invalid mode "{mode}". Only supports loss, predict and tensor mode')

    def loss(self, inputs: torch.Tensor, data_samples) -> Dict[str, torch.Tensor]:
        losses = self.decode_head.loss(self.backbone(inputs), data_samples)
        # a cascade names its heads' losses decode_0.*, decode_1.*
        return losses if self.cascade else {f'decode.{k}': v for k, v in losses.items()}

    # ---------------------------------------------------------------- inference
    def encode_decode(self, inputs: torch.Tensor) -> torch.Tensor:
        """Final logits resized to the input size."""
        logits = self.decode_head.seg_logits(self.backbone(inputs))
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
        """Final logits of one view at its input size (whole image or sliding window)."""
        if self.test_cfg.get('mode', 'whole') == 'slide':
            return self.slide_inference(inputs)
        return self.encode_decode(inputs).float()

    def predict_logits(self, inputs: torch.Tensor, data_samples) -> List[torch.Tensor]:
        """Per image: K x H x W scores at ``ori_shape`` (probabilities when several views)."""
        data_samples = with_batch_meta(inputs, data_samples)
        views = self.decode_head.view_inputs(inputs, self.test_cfg)
        return self.decode_head.fuse_views([self.inference(x) for x in views], data_samples,
                                           self.test_cfg)

    def predict(self, inputs: torch.Tensor, data_samples=None) -> list:
        data_samples = with_batch_meta(inputs, data_samples)
        if self.test_cfg.get('mode', 'whole') == 'slide':
            return set_seg_predictions(data_samples, self.predict_logits(inputs, data_samples),
                                       self.test_cfg)
        view_feats = [self.backbone(x)
                      for x in self.decode_head.view_inputs(inputs, self.test_cfg)]
        return self.decode_head.predict(view_feats, data_samples, self.test_cfg)
