"""Batching for segmentation: BGR->RGB, normalise, pad images with 0 and labels with 255."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from hrnet_tasks.models.data_preprocessor import ImageBatchPreprocessor
from hrnet_tasks.registry import MODELS


@MODELS.register_module()
class SegDataPreprocessor(ImageBatchPreprocessor):
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
        super().__init__(mean, std, bgr_to_rgb, size, size_divisor, non_blocking)
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs, samples = self.unpack(data)
        h, w = self.padded_size(inputs, training)
        batch = torch.stack([F.pad(self.normalize(i), (0, w - i.shape[2], 0, h - i.shape[1]),
                                   value=self.pad_val) for i in inputs])
        self.set_batch_meta(samples, inputs, (h, w))
        self.pad_labels(samples, (h, w), self.seg_pad_val)
        return dict(inputs=batch, data_samples=samples)
