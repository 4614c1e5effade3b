"""Segmentation transforms: image and label map always change together.

Results keys: ``img`` (H x W x 3 uint8 BGR), ``gt_seg_map`` (H x W uint8, 255 =
ignore), ``img_shape``, ``ori_shape``, ``flip``. The geometric steps are mmcv's,
which move ``gt_seg_map`` with the image: ``Resize`` / ``RandomResize`` (with
``keep_ratio=True``: the long/short rule of ``mmcv.rescale_size``; labels nearest),
``RandomFlip`` (``swap_seg_labels`` for left/right classes; sets ``flip``, which
``EncoderDecoder`` undoes on its predictions) and ``Pad`` (labels with
``pad_val=dict(seg=255)``). This module adds what mmcv lacks: label loading and
checking, the ``cat_max_ratio`` crop, photometric distortion and packing.
"""
import os.path as osp
from typing import Optional, Tuple

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData

from hrnet_tasks.datasets.transforms.loading import BadImageError, pack_image
from hrnet_tasks.registry import TRANSFORMS

__all__ = ['BadLabelError', 'LoadSegAnnotations', 'PackSegInputs', 'SegPhotoMetricDistortion',
           'SegRandomCrop']


class BadLabelError(BadImageError):
    """A label map that is missing, unreadable, of the wrong size or has values
    outside the class range (other than the ignore index)."""


@TRANSFORMS.register_module()
class LoadSegAnnotations(BaseTransform):
    """Read ``seg_map_path`` (any 8-bit PNG; palette PNGs give their indices).

    Applies, in order, the dataset's ``label_map`` LUT (e.g. Cityscapes labelIds
    -> trainIds), ``reduce_zero_label`` (0 -> 255, v -> v - 1, never 254), then
    checks the label against the image size and the class range
    ``[0, num_classes) U {ignore_index}``; violations raise
    :class:`BadLabelError` naming the file (the dataset can skip and count them).
    """

    def __init__(self, reduce_zero_label: Optional[bool] = None, ignore_index: int = 255,
                 check: bool = True):
        self.reduce_zero_label = reduce_zero_label
        self.ignore_index = ignore_index
        self.check = check

    def transform(self, results: dict) -> dict:
        path = results['seg_map_path']
        if not osp.isfile(path):
            raise BadLabelError(path, f'label map not found (image {results.get("img_path")})')
        label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if label is None:
            raise BadLabelError(path, 'cannot decode label map')
        if label.ndim == 3:
            raise BadLabelError(path, f'label map has {label.shape[2]} channels; expected a '
                                'single-channel (mode L or P) PNG of class indices')
        if label.dtype != np.uint8:
            if label.max() > 255:
                raise BadLabelError(path, f'label map is {label.dtype} with values up to '
                                    f'{label.max()}; expected 8-bit class indices')
            label = label.astype(np.uint8)
        lut = results.get('label_lut')
        if lut is not None:
            label = np.asarray(lut, dtype=np.uint8)[label]
        reduce = self.reduce_zero_label
        if reduce is None:
            reduce = results.get('reduce_zero_label', False)
        if reduce:
            reduced = label.astype(np.int16) - 1
            reduced[label == 0] = self.ignore_index
            reduced[label == self.ignore_index] = self.ignore_index
            label = reduced.astype(np.uint8)
        if self.check:
            # the image as read (a test-time resize may already have run)
            ori = results.get('ori_shape') or (results['img'].shape if 'img' in results else None)
            if ori is not None and tuple(ori[:2]) != label.shape[:2]:
                raise BadLabelError(path, f'label map size {label.shape[1]}x{label.shape[0]} '
                                    f'differs from its image {ori[1]}x{ori[0]} '
                                    f'({results.get("img_path")})')
            num_classes = results.get('num_classes')
            if num_classes is not None:
                bad = (label >= num_classes) & (label != self.ignore_index)
                if bad.any():
                    values = np.unique(label[bad])
                    raise BadLabelError(path, f'label values {values[:10].tolist()} outside '
                                        f'the {num_classes} classes (0..{num_classes - 1}, '
                                        f'ignore {self.ignore_index})')
        results['gt_seg_map'] = label
        return results


@TRANSFORMS.register_module()
class SegRandomCrop(BaseTransform):
    """Random ``crop_size`` (H, W) crop; with ``cat_max_ratio`` < 1 retry up to 10 times
    until the crop has > 1 non-ignored class and the largest covers < cat_max_ratio."""

    def __init__(self, crop_size: Tuple[int, int], cat_max_ratio: float = 1.0,
                 ignore_index: int = 255, max_tries: int = 10):
        self.crop_size = tuple(crop_size)
        self.cat_max_ratio = cat_max_ratio
        self.ignore_index = ignore_index
        self.max_tries = max_tries

    def _box(self, h: int, w: int):
        ch, cw = min(self.crop_size[0], h), min(self.crop_size[1], w)
        y = np.random.randint(0, h - ch + 1)
        x = np.random.randint(0, w - cw + 1)
        return y, y + ch, x, x + cw

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        box = self._box(h, w)
        seg = results.get('gt_seg_map')
        if self.cat_max_ratio < 1 and seg is not None:
            for _ in range(self.max_tries - 1):
                y1, y2, x1, x2 = box
                labels, counts = np.unique(seg[y1:y2, x1:x2], return_counts=True)
                counts = counts[labels != self.ignore_index]
                if len(counts) > 1 and counts.max() / counts.sum() < self.cat_max_ratio:
                    break
                box = self._box(h, w)
        y1, y2, x1, x2 = box
        results['img'] = results['img'][y1:y2, x1:x2]
        if seg is not None:
            results['gt_seg_map'] = seg[y1:y2, x1:x2]
        results['img_shape'] = results['img'].shape[:2]
        return results


@TRANSFORMS.register_module()
class SegPhotoMetricDistortion(BaseTransform):
    """mmseg-style photometric distortion on the uint8 BGR image (label untouched):
    brightness +-32, contrast x[0.5, 1.5] (before or after the HSV steps),
    saturation x[0.5, 1.5], hue +-18; each step with probability 0.5."""

    def __init__(self, brightness_delta: int = 32, contrast_range=(0.5, 1.5),
                 saturation_range=(0.5, 1.5), hue_delta: int = 18):
        self.brightness_delta = brightness_delta
        self.contrast_range = contrast_range
        self.saturation_range = saturation_range
        self.hue_delta = hue_delta

    @staticmethod
    def _coin() -> bool:
        return np.random.randint(2) == 1

    def transform(self, results: dict) -> dict:
        img = results['img'].astype(np.float32)
        if self._coin():
            img = np.clip(img + np.random.uniform(-self.brightness_delta, self.brightness_delta),
                          0, 255)
        contrast_first = self._coin()
        if contrast_first and self._coin():
            img = np.clip(img * np.random.uniform(*self.contrast_range), 0, 255)
        sat, hue = self._coin(), self._coin()
        if sat or hue:
            hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV).astype(np.float32)
            if sat:
                hsv[..., 1] = np.clip(hsv[..., 1] * np.random.uniform(*self.saturation_range),
                                      0, 255)
            if hue:
                hsv[..., 0] = (hsv[..., 0] + np.random.randint(-self.hue_delta,
                                                               self.hue_delta + 1)) % 180
            img = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
        if not contrast_first and self._coin():
            img = np.clip(img * np.random.uniform(*self.contrast_range), 0, 255)
        results['img'] = img.astype(np.uint8)
        return results


@TRANSFORMS.register_module()
class PackSegInputs(BaseTransform):
    """``inputs``: uint8 3 x H x W tensor; ``data_samples``: a data element with
    ``gt_sem_seg`` (1 x H x W) and the metainfo keys below."""

    META_KEYS = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                 'reduce_zero_label', 'sample_idx')

    def transform(self, results: dict) -> dict:
        inputs, sample = pack_image(results, self.META_KEYS)
        if 'gt_seg_map' in results:
            seg = torch.from_numpy(np.ascontiguousarray(results['gt_seg_map']).astype(np.int64))
            sample.gt_sem_seg = PixelData(data=seg[None])
        return dict(inputs=inputs, data_samples=sample)
