"""Object detector: the shared HRNet (all four branches) + a :class:`DetectionHead`
(HRFPN + a torchvision detector)."""
from typing import Optional

import torch
from mmengine.model import BaseModel

from hrnet_tasks.models.heads.base import build_head, with_batch_meta
from hrnet_tasks.models.segmentors.data_preprocessor import SegDataPreprocessor
from hrnet_tasks.registry import MODELS


@MODELS.register_module()
class DetDataPreprocessor(SegDataPreprocessor):
    """Detection batching: BGR -> RGB, normalise, then pad bottom/right with 0 (the mean
    colour, as mmdet pads after normalising) to the largest image rounded up to
    ``size_divisor`` (32, so every HRNet branch and HRFPN level divides evenly). Images
    come resized by the pipeline; nothing here resizes them."""

    def __init__(self, mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = True, size_divisor: int = 32, pad_val: float = 0,
                 non_blocking: bool = False):
        super().__init__(mean, std, bgr_to_rgb, size_divisor=size_divisor, pad_val=pad_val,
                         non_blocking=non_blocking)


@MODELS.register_module()
class Detector(BaseModel):
    """HRNetV2p detector: backbone (``out_mode='all'``) + ``DetectionHead``.

    Modes: ``loss`` -> the head's named losses; ``predict`` -> ``pred_instances`` on every
    data sample (boxes in original image pixels); ``tensor`` -> the head's raw dense
    outputs (:meth:`DetectionHead.forward`).
    """

    def __init__(self, backbone: dict, head: dict, test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor or dict(type='DetDataPreprocessor'),
                         init_cfg=init_cfg)
        self.backbone = MODELS.build(dict(backbone, out_mode='all'))
        self.head = build_head(head, self.backbone)
        self.test_cfg = dict(test_cfg or {})

    def check_dataset_meta(self, meta: Optional[dict], source: str = 'the dataset'):
        """One-line error when the dataset does not fit the head (its class count)."""
        self.head.check_dataset_meta(meta, source)

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'tensor':
            return self.head(self.backbone(inputs))
        if mode == 'loss':
            return self.head.loss(self.backbone(inputs), data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}"; use "tensor", "loss" or "predict"')

    def export_detections(self, inputs: torch.Tensor) -> tuple:
        """Boxes (N, 4) in input pixels, scores and 0-based labels of one normalised image
        (1, 3, H, W): the traceable inference ``tools/export_onnx.py`` exports."""
        if inputs.shape[0] != 1:
            raise ValueError(f'export_detections takes one image, got a batch of '
                             f'{inputs.shape[0]}')
        return self.head.image_detections(self.backbone(inputs), inputs.shape[-2:])

    def predict(self, inputs: torch.Tensor, data_samples=None):
        data_samples = with_batch_meta(inputs, data_samples)
        view_feats = [self.backbone(x) for x in self.head.view_inputs(inputs, self.test_cfg)]
        return self.head.predict(view_feats, data_samples, self.test_cfg)
