"""Detection transforms: what mmcv's transforms do not do for boxes and instance masks.

Results keys: ``img`` (H x W x 3 uint8 BGR), ``gt_bboxes`` (N, 4) float32 x1 y1 x2 y2,
``gt_bboxes_labels`` (N,) int64, optionally ``gt_segmentations`` (COCO polygons / RLE).
The geometric steps are mmcv's, which move ``gt_bboxes`` with the image: ``Resize``
(``scale=(1333, 800), keep_ratio=True``: the long / short side rule of
``mmcv.rescale_size``; boxes scaled and clipped) and ``RandomFlip`` (x' = W - x). Padding to
a multiple of 32 happens once per batch, in ``DetDataPreprocessor``. Instance masks are
decoded at the original size by :class:`LoadInstanceMasks` and brought to the packed
image's size and flip by :class:`PackDetInputs`.
"""
from typing import Optional, Sequence

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData

from hrnet_tasks.datasets.transforms.loading import pack_image
from hrnet_tasks.registry import TRANSFORMS

__all__ = ['LoadInstanceMasks', 'PackDetInputs']


@TRANSFORMS.register_module()
class LoadInstanceMasks(BaseTransform):
    """``gt_masks`` (N, H, W) uint8 at the original image size from ``gt_segmentations``.

    A missing or malformed segmentation raises ``BadAnnotationError`` naming the image and
    the instance (skipped and counted in training with the dataset's ``skip_bad_images``).
    """

    def transform(self, results: dict) -> dict:
        from pycocotools import mask as mask_utils

        from hrnet_tasks.datasets.coco_person_seg import BadAnnotationError, segmentation_to_rle
        h, w = results['ori_shape'][:2]
        masks = np.zeros((len(results['gt_segmentations']), h, w), np.uint8)
        for i, segmentation in enumerate(results['gt_segmentations']):
            try:
                masks[i] = mask_utils.decode(segmentation_to_rle(segmentation, h, w))
            except ValueError as exc:
                raise BadAnnotationError(results['img_path'],
                                         f'instance {i} of image {results.get("img_id")} '
                                         f'{exc}') from None
        results['gt_masks'] = masks
        return results


def masks_like_image(masks: np.ndarray, results: dict) -> np.ndarray:
    """Original-size masks resized (nearest) to ``img_shape`` and flipped as the image was."""
    h, w = results['img_shape'][:2]
    if masks.shape[1:] != (h, w):
        masks = np.stack([cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST)
                          for m in masks]) if len(masks) else np.zeros((0, h, w), np.uint8)
    if results.get('flip'):
        axis = {'horizontal': 2, 'vertical': 1}.get(results.get('flip_direction'))
        if axis is None:
            raise ValueError(f'PackDetInputs flips masks horizontally or vertically, not '
                             f'{results.get("flip_direction")!r}')
        masks = np.flip(masks, axis)
    return np.ascontiguousarray(masks)


@TRANSFORMS.register_module()
class PackDetInputs(BaseTransform):
    """The image as a uint8 C x H x W tensor and a data sample with ``gt_instances``
    (``bboxes`` (N, 4) float32, ``labels`` (N,) int64, ``masks`` (N, H, W) uint8 when
    loaded) when the results hold boxes, plus the ``meta_keys`` present."""

    DEFAULT_META = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                    'flip_direction')

    def __init__(self, meta_keys: Optional[Sequence[str]] = None):
        self.meta_keys = tuple(meta_keys or self.DEFAULT_META)

    def transform(self, results: dict) -> dict:
        inputs, sample = pack_image(results, self.meta_keys)
        if results.get('gt_bboxes') is not None:
            gt = InstanceData(
                bboxes=torch.from_numpy(np.asarray(results['gt_bboxes'],
                                                   np.float32).reshape(-1, 4)),
                labels=torch.from_numpy(np.asarray(results['gt_bboxes_labels'], np.int64)))
            if 'gt_masks' in results:
                gt.masks = torch.from_numpy(masks_like_image(results['gt_masks'], results))
            sample.gt_instances = gt
        return dict(inputs=inputs, data_samples=sample)
