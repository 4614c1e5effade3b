"""Bottom-up (HigherHRNet) transforms: ignore mask, random affine, flip, targets, resize, packing.

Training order: ``LoadImage -> BottomupRandomAffine -> BottomupRandomFlip ->
GenerateBottomupTargets -> PackBottomupInputs``. Testing: ``LoadImage ->
BottomupResize -> PackBottomupInputs``. Keypoints are (N, K, 3) arrays (x, y, v).
"""
from typing import Optional, Sequence

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from hrnet_tasks.codecs.associative_embedding import bottomup_resize_params, resize_matrix
from hrnet_tasks.datasets.transforms.loading import pack_image
from hrnet_tasks.registry import TASK_UTILS, TRANSFORMS

__all__ = [
    'BottomupRandomAffine', 'BottomupRandomFlip', 'BottomupResize', 'GenerateBottomupTargets',
    'PackBottomupInputs', 'valid_mask_from_segmentations'
]


def valid_mask_from_segmentations(segmentations, height: int, width: int) -> np.ndarray:
    """(H, W) float32, 1 = supervise, 0 = inside a crowd / unlabelled-person region."""
    from pycocotools import mask as mask_utils
    acc = np.zeros((height, width), np.float32)
    for seg in segmentations:
        if isinstance(seg, list):  # polygons
            polys = [p for p in seg if len(p) >= 6]
            if not polys:
                continue
            rle = mask_utils.merge(mask_utils.frPyObjects(polys, height, width))
        elif isinstance(seg, dict) and isinstance(seg.get('counts'), list):  # uncompressed RLE
            rle = mask_utils.frPyObjects(seg, height, width)
        else:
            rle = seg
        acc += mask_utils.decode(rle).astype(np.float32)
    return (acc < 0.5).astype(np.float32)


def affine_matrix(center, crop_side: float, res: int, rot_deg: float) -> np.ndarray:
    """2x3 matrix: a ``crop_side`` square around ``center`` -> ``res x res``, rotated by
    ``rot_deg`` about the output centre."""
    f = res / crop_side
    m = np.array([[f, 0, res / 2 - f * center[0]], [0, f, res / 2 - f * center[1]], [0, 0, 1]],
                 np.float64)
    if rot_deg:
        r = np.vstack([cv2.getRotationMatrix2D((res / 2, res / 2), rot_deg, 1.0), [0, 0, 1]])
        m = r @ m
    return m[:2]


def apply_affine(keypoints: np.ndarray, mat: np.ndarray) -> np.ndarray:
    """(..., 3) keypoints through a 2x3 matrix, in float64 (the encoder truncates these
    to heatmap pixels, and a float32 result can land a pixel away from the official one)."""
    out = np.array(keypoints, np.float64)
    xy = keypoints[..., :2]
    out[..., 0] = mat[0, 0] * xy[..., 0] + mat[0, 1] * xy[..., 1] + mat[0, 2]
    out[..., 1] = mat[1, 0] * xy[..., 0] + mat[1, 1] * xy[..., 1] + mat[1, 2]
    return out


def _ensure_mask(results: dict) -> np.ndarray:
    if 'mask' not in results:
        h, w = results['img'].shape[:2]
        results['mask'] = valid_mask_from_segmentations(results.get('ignore_segmentations', []), h,
                                                        w)
    return results['mask']


@TRANSFORMS.register_module()
class BottomupRandomAffine(BaseTransform):
    """Official HigherHRNet random affine, one warp per resolution.

    The square crop has side ``aug_s * min(H, W)`` (``aug_s ~ U(scale_range)``)
    around the image centre shifted by an integer up to ``max_shift`` of the crop
    side, rotated by ``U(-max_rotate, max_rotate)`` degrees. The image is warped
    to ``input_size``, mask and keypoints to every ``input_size // stride``.
    Writes ``img``, ``masks`` (list) and ``keypoints_list`` (list, same order as strides).
    """

    def __init__(self,
                 input_size: int = 512,
                 heatmap_strides: Sequence[int] = (4, 2),
                 max_rotate: float = 30.0,
                 scale_range=(0.75, 1.5),
                 max_shift: float = 0.2):
        self.input_size = input_size
        self.heatmap_sizes = [input_size // s for s in heatmap_strides]
        self.max_rotate = max_rotate
        self.scale_range = scale_range
        self.max_shift = max_shift

    def sample(self, height: int, width: int):
        aug_s = np.random.uniform(*self.scale_range)
        side = aug_s * min(height, width)
        bound = self.max_shift * side
        if bound >= 1:
            dx = np.random.randint(int(-bound), int(bound))
            dy = np.random.randint(int(-bound), int(bound))
        else:
            dx = dy = 0
        rot = np.random.uniform(-self.max_rotate, self.max_rotate)
        return side, (width / 2.0 + dx, height / 2.0 + dy), rot

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        mask = _ensure_mask(results)
        side, center, rot = self.sample(h, w)
        mat = affine_matrix(center, side, self.input_size, rot)
        results['img'] = cv2.warpAffine(img,
                                        mat, (self.input_size, self.input_size),
                                        flags=cv2.INTER_LINEAR,
                                        borderValue=0)
        mask_u8 = (mask * 255).astype(np.uint8)
        kpts = np.asarray(results.get('keypoints', np.zeros((0, 0, 3))), np.float64)
        masks, kpt_list = [], []
        for r in self.heatmap_sizes:
            m = affine_matrix(center, side, r, rot)
            masks.append((cv2.warpAffine(mask_u8, m, (r, r)) / 255.0 > 0.5).astype(np.float32))
            kpt_list.append(apply_affine(kpts, m))
        results['masks'] = masks
        results['keypoints_list'] = kpt_list
        results['img_shape'] = results['img'].shape[:2]
        results['affine'] = dict(center=center, side=side, rot=rot)
        return results


@TRANSFORMS.register_module()
class BottomupRandomFlip(BaseTransform):
    """Horizontal flip of image, masks and per-resolution keypoints with the joint flip map.

    Keypoints at resolution r become ``x <- r - 1 - x`` (the official rule, kept to
    match released numbers) with joints re-ordered by ``flip_indices`` (from the
    sample, packed by the dataset from its metainfo).
    """

    def __init__(self, prob: float = 0.5, flip_indices: Optional[Sequence[int]] = None):
        self.prob = prob
        self.flip_indices = flip_indices

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            results['flip'] = False
            return results
        flip = self.flip_indices if self.flip_indices is not None else results['flip_indices']
        results['img'] = np.ascontiguousarray(results['img'][:, ::-1])
        results['masks'] = [np.ascontiguousarray(m[:, ::-1]) for m in results['masks']]
        out = []
        for m, k in zip(results['masks'], results['keypoints_list']):
            k = k[:, flip].copy()
            k[..., 0] = m.shape[1] - 1 - k[..., 0]
            out.append(k)
        results['keypoints_list'] = out
        results['flip'] = True
        return results


@TRANSFORMS.register_module()
class GenerateBottomupTargets(BaseTransform):
    """Heatmaps and AE joint targets for every resolution with the codec."""

    def __init__(self, codec: dict):
        self.codec = TASK_UTILS.build(codec) if isinstance(codec, dict) else codec

    def transform(self, results: dict) -> dict:
        sizes = [m.shape[::-1] for m in results['masks']]
        targets = self.codec.encode(results['keypoints_list'], sizes)
        results['heatmaps'] = targets['heatmaps']
        results['joints'] = targets['joints']
        return results


@TRANSFORMS.register_module()
class BottomupResize(BaseTransform):
    """Test-time resize: short side to ``input_size`` (at the smallest scale), long
    side padded up to a multiple of ``size_factor``, centred, zero padding.

    Stores ``input_size`` (W, H), ``warp_center`` and ``warp_scale`` for back-projection.
    """

    def __init__(self,
                 input_size: int = 512,
                 scale_factors: Sequence[float] = (1.0, ),
                 size_factor: int = 64):
        self.input_size = input_size
        self.min_scale = min(scale_factors)
        self.size_factor = size_factor

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        out_size, center, s = bottomup_resize_params(h, w, self.input_size, 1.0, self.min_scale,
                                                     self.size_factor)
        mat = resize_matrix(center, out_size, s)
        results['img'] = cv2.warpAffine(img, mat, out_size, flags=cv2.INTER_LINEAR, borderValue=0)
        results['img_shape'] = results['img'].shape[:2]
        results['ori_shape'] = (h, w)
        results['input_size'] = out_size
        results['warp_center'] = center
        results['warp_scale'] = s
        return results


@TRANSFORMS.register_module()
class PackBottomupInputs(BaseTransform):
    """Image as a (3, H, W) uint8 tensor and a data sample with targets and metainfo."""

    DEFAULT_META = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size', 'warp_center',
                    'warp_scale', 'flip_indices', 'flip')

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        inputs, sample = pack_image(results, self.meta_keys)
        if 'heatmaps' in results:
            sample.gt_heatmaps = [torch.from_numpy(h) for h in results['heatmaps']]
            sample.gt_masks = [torch.from_numpy(m) for m in results['masks']]
            sample.gt_joints = [torch.from_numpy(j) for j in results['joints']]
        return dict(inputs=inputs, data_samples=sample)
