"""What every task's data preprocessor does: unpack uint8 CHW BGR images, pick the batch
size, normalise to RGB, pad, and pad label maps; the task preprocessors choose the order."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor


class ImageBatchPreprocessor(BaseDataPreprocessor):
    """Base of the task preprocessors.

    Args:
        mean, std (seq of float): RGB normalisation in 0-255 units.
        bgr_to_rgb (bool): swap the channels of 3-channel images (they are decoded BGR).
        size (tuple, optional): minimum padded (H, W) in training (the crop size).
        size_divisor (int, optional): the padded size is rounded up to a multiple of it.
    """

    def __init__(self, mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375), bgr_to_rgb: bool = True,
                 size: Optional[Sequence[int]] = None, size_divisor: Optional[int] = None,
                 non_blocking: bool = False):
        super().__init__(non_blocking)
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1), False)
        self.bgr_to_rgb = bgr_to_rgb
        self.size = tuple(size) if size is not None else None
        self.size_divisor = size_divisor

    def unpack(self, data: dict) -> Tuple[List[torch.Tensor], Optional[list]]:
        """(list of C x H x W images on the model's device, data samples)."""
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, torch.Tensor) and inputs.dim() == 4:
            inputs = list(inputs)
        return inputs, data.get('data_samples')

    def padded_size(self, inputs: Sequence[torch.Tensor], training: bool) -> Tuple[int, int]:
        """The largest image, at least ``size`` in training, rounded up to ``size_divisor``."""
        h = max(x.shape[1] for x in inputs)
        w = max(x.shape[2] for x in inputs)
        if self.size is not None and training:
            h, w = max(h, self.size[0]), max(w, self.size[1])
        if self.size_divisor:
            d = self.size_divisor
            h, w = -(-h // d) * d, -(-w // d) * d
        return h, w

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Float, RGB, mean/std-normalised copy of an image or a batch (channels at -3)."""
        x = x.float()
        if self.bgr_to_rgb and x.shape[-3] == 3:
            x = x[..., [2, 1, 0], :, :]
        return (x - self.mean) / self.std

    def pad_then_normalize(self, inputs: Sequence[torch.Tensor], size) -> torch.Tensor:
        """Batch padded bottom/right with black pixels (as the raw image would be), then
        normalised."""
        batch = inputs[0].new_zeros((len(inputs), inputs[0].shape[0], *size), dtype=torch.float32)
        for i, x in enumerate(inputs):
            batch[i, :, :x.shape[1], :x.shape[2]] = x.float()
        return self.normalize(batch)

    @staticmethod
    def set_batch_meta(samples, inputs: Sequence[torch.Tensor], size):
        """``img_shape`` (unpadded, when absent), ``pad_shape`` and ``batch_input_shape``."""
        for sample, img in zip(samples or [], inputs):
            meta = dict(pad_shape=tuple(size), batch_input_shape=tuple(size))
            if 'img_shape' not in sample.metainfo:
                meta['img_shape'] = tuple(img.shape[1:])
            sample.set_metainfo(meta)

    @staticmethod
    def pad_labels(samples, size, pad_val: int):
        """``gt_sem_seg`` of each sample padded bottom/right with ``pad_val`` to ``size``."""
        for sample in samples or []:
            if 'gt_sem_seg' in sample:
                seg = sample.gt_sem_seg.data
                pad = (0, size[1] - seg.shape[-1], 0, size[0] - seg.shape[-2])
                sample.gt_sem_seg.data = F.pad(seg, pad, value=pad_val)
