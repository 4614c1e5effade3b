"""Batching for segmentation: BGR->RGB, normalise, pad images with 0 and labels with 255."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor

from hrnet_tasks.registry import MODELS


@MODELS.register_module()
class SegDataPreprocessor(BaseDataPreprocessor):
    """Stack ``inputs`` (uint8 CHW BGR) into a normalised float batch.

    Images are padded bottom/right *after* normalisation (value ``pad_val``,
    0 = the mean colour) to ``size`` (H, W) when given (training crops), else
    to the largest image of the batch rounded up to ``size_divisor``. Labels in
    ``data_samples[i].gt_sem_seg`` are padded with ``seg_pad_val`` (255) to the
    same size. ``img_shape`` keeps the unpadded size; ``pad_shape`` and
    ``batch_input_shape`` are added to each sample's metainfo.
    """

    def __init__(self, mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375), bgr_to_rgb: bool = True,
                 size: Optional[Tuple[int, int]] = None, size_divisor: Optional[int] = None,
                 pad_val: float = 0, seg_pad_val: int = 255, non_blocking: bool = False):
        super().__init__(non_blocking)
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1), False)
        self.bgr_to_rgb = bgr_to_rgb
        self.size = tuple(size) if size is not None else None
        self.size_divisor = size_divisor
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        samples = data.get('data_samples')
        if isinstance(inputs, torch.Tensor) and inputs.dim() == 4:
            inputs = list(inputs)
        imgs = []
        for img in inputs:
            img = img.float()
            if self.bgr_to_rgb and img.shape[0] == 3:
                img = img[[2, 1, 0]]
            imgs.append((img - self.mean) / self.std)
        h = max(i.shape[1] for i in imgs)
        w = max(i.shape[2] for i in imgs)
        if self.size is not None and training:
            h, w = max(h, self.size[0]), max(w, self.size[1])
        if self.size_divisor:
            d = self.size_divisor
            h, w = (h + d - 1) // d * d, (w + d - 1) // d * d
        batch = torch.stack([F.pad(i, (0, w - i.shape[2], 0, h - i.shape[1]), value=self.pad_val)
                             for i in imgs])
        if samples is not None:
            for sample, img in zip(samples, imgs):
                sample.set_metainfo(dict(img_shape=tuple(img.shape[1:]), pad_shape=(h, w),
                                         batch_input_shape=(h, w)))
                if 'gt_sem_seg' in sample:
                    seg = sample.gt_sem_seg.data
                    pad = (0, w - seg.shape[-1], 0, h - seg.shape[-2])
                    sample.gt_sem_seg.data = F.pad(seg, pad, value=self.seg_pad_val)
        return dict(inputs=batch, data_samples=samples)
