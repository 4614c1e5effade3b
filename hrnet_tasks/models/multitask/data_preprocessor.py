"""Batching for the joint model: pose, segmentation and classification samples alike."""
from typing import Optional, Sequence

from hrnet_tasks.models.data_preprocessor import ImageBatchPreprocessor
from hrnet_tasks.registry import MODELS


@MODELS.register_module()
class MultiTaskDataPreprocessor(ImageBatchPreprocessor):
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
        super().__init__(mean, std, bgr_to_rgb, size, size_divisor, non_blocking)
        self.seg_pad_val = seg_pad_val

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs, samples = self.unpack(data)
        size = self.padded_size(inputs, training)
        batch = self.pad_then_normalize(inputs, size)
        self.set_batch_meta(samples, inputs, size)
        if training:  # at test time labels stay at ori_shape
            self.pad_labels(samples, size, self.seg_pad_val)
        return dict(inputs=batch, data_samples=samples)
