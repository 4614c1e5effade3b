"""Batching for the joint model: pose, segmentation and classification samples alike."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor

from hrnet_tasks.registry import MODELS


@MODELS.register_module()
class MultiTaskDataPreprocessor(BaseDataPreprocessor):
    """Stack uint8 CHW BGR images into a normalised RGB batch for every task's head.

    Images are padded bottom/right with black pixels (before normalisation, as the
    pose preprocessor and the official bottom-up test do) to the largest image of the
    batch, at least ``size`` (H, W) in training, rounded up to ``size_divisor``.
    In training, ``gt_sem_seg`` labels are padded with ``seg_pad_val`` to the same size (at
    test time they stay at the original size the predictions are made at); each sample
    gets ``img_shape`` (unpadded, when it has none), ``pad_shape`` and
    ``batch_input_shape``. Pose targets and class labels need nothing.
    """

    def __init__(self, mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375), bgr_to_rgb: bool = True,
                 size_divisor: int = 32, size: Optional[Sequence[int]] = None,
                 seg_pad_val: int = 255, non_blocking: bool = False):
        super().__init__(non_blocking)
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1), False)
        self.bgr_to_rgb = bgr_to_rgb
        self.size_divisor = size_divisor
        self.size = tuple(size) if size is not None else None
        self.seg_pad_val = seg_pad_val

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        samples = data.get('data_samples')
        if isinstance(inputs, torch.Tensor) and inputs.dim() == 4:
            inputs = list(inputs)
        h = max(x.shape[1] for x in inputs)
        w = max(x.shape[2] for x in inputs)
        if self.size is not None and training:
            h, w = max(h, self.size[0]), max(w, self.size[1])
        d = self.size_divisor or 1
        h, w = -(-h // d) * d, -(-w // d) * d
        batch = inputs[0].new_zeros((len(inputs), inputs[0].shape[0], h, w), dtype=torch.float32)
        for i, x in enumerate(inputs):
            batch[i, :, :x.shape[1], :x.shape[2]] = x.float()
        if self.bgr_to_rgb and batch.shape[1] == 3:
            batch = batch[:, [2, 1, 0]]
        batch = (batch - self.mean) / self.std
        for sample, img in zip(samples or [], inputs):
            meta = dict(pad_shape=(h, w), batch_input_shape=(h, w))
            if 'img_shape' not in sample.metainfo:
                meta['img_shape'] = tuple(img.shape[1:])
            sample.set_metainfo(meta)
            if training and 'gt_sem_seg' in sample:  # at test time labels stay at ori_shape
                seg = sample.gt_sem_seg.data
                pad = (0, w - seg.shape[-1], 0, h - seg.shape[-2])
                sample.gt_sem_seg.data = F.pad(seg, pad, value=self.seg_pad_val)
        return dict(inputs=batch, data_samples=samples)
