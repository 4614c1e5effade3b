"""Top-down (one instance per sample) transforms: box -> crop -> heatmap targets.

Training order (the official pose pipeline, mmpose's names)::

    LoadImage -> GetBBoxCenterScale -> TopdownRandomFlip -> RandomHalfBody
    -> RandomBBoxTransform -> TopdownAffine -> GenerateTarget -> PackTopdownInputs

Testing: ``LoadImage -> GetBBoxCenterScale -> TopdownAffine -> PackTopdownInputs``.

Results keys (N = 1 instance for a dataset sample): ``bbox`` (N, 4) x1 y1 x2 y2 and
``keypoints`` (N, K, 2) in image pixels, ``keypoints_visible`` (N, K), ``flip_indices``
(from the dataset metainfo). ``GetBBoxCenterScale`` adds ``bbox_center`` / ``bbox_scale``
(N, 2) in pixels; ``TopdownAffine`` fits the scale to the input aspect ratio, warps the
image and writes ``transformed_keypoints`` (crop pixels), ``input_center``,
``input_scale`` (2,) and ``warp_mat`` (2 x 3, image -> crop), from which predictions map
back to the image (:func:`crop_to_image`). ``keypoints`` stay in image pixels (the GT of
metrics such as NME and PCK).
"""
from typing import Optional, Sequence

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from hrnet_tasks.datasets.transforms.loading import pack_image
from hrnet_tasks.registry import TASK_UTILS, TRANSFORMS

__all__ = [
    'GenerateTarget', 'GetBBoxCenterScale', 'PackTopdownInputs', 'RandomBBoxTransform',
    'RandomHalfBody', 'TopdownAffine', 'TopdownRandomFlip', 'crop_to_image', 'fix_aspect_ratio',
    'warp_matrix'
]

# COCO's upper body (head, shoulders, arms) and lower body (hips, legs), official ids
COCO_UPPER_BODY = tuple(range(11))
COCO_LOWER_BODY = tuple(range(11, 17))


def fix_aspect_ratio(scale: np.ndarray, aspect: float) -> np.ndarray:
    """Grow the short side of (..., 2) box sizes (w, h) so that w / h = ``aspect`` (the
    official ``_xywh2cs`` rule: the box is never shrunk)."""
    scale = np.array(scale, np.float64)
    w, h = scale[..., 0], scale[..., 1]
    wide = w > aspect * h
    return np.stack([np.where(wide, w, h * aspect), np.where(wide, w / aspect, h)], -1)


def warp_matrix(center, scale, rotation: float, output_size, use_udp: bool = False):
    """2 x 3 affine taking the box (``center``, ``scale`` = (w, h) px, rotated by
    ``rotation`` degrees) to an ``output_size`` (W, H) crop.

    Plain: the official ``get_affine_transform`` (the box width maps to W, its centre to
    (W/2, H/2); only the width sets the factor). UDP: the box edges map to pixel 0 and W-1
    (H-1), per axis (mmpose ``get_udp_warp_matrix``)."""
    out_w, out_h = output_size
    theta = np.deg2rad(rotation)
    cos, sin = np.cos(theta), np.sin(theta)
    if use_udp:
        fx, fy = (out_w - 1) / scale[0], (out_h - 1) / scale[1]
        origin = ((out_w - 1) / 2, (out_h - 1) / 2)
    else:
        fx = fy = out_w / scale[0]
        origin = (out_w / 2, out_h / 2)
    # x' = f R (x - c) + o with R mapping the box's rotated "up" vector onto the crop's
    rot = np.array([[cos, sin], [-sin, cos]])
    lin = np.diag([fx, fy]) @ rot
    shift = np.asarray(origin) - lin @ np.asarray(center, np.float64)
    return np.concatenate([lin, shift[:, None]], 1)


def apply_matrix(points: np.ndarray, mat: np.ndarray) -> np.ndarray:
    """(..., 2) points through a 2 x 3 affine (float64)."""
    pts = np.asarray(points, np.float64)
    return pts @ mat[:, :2].T + mat[:, 2]


def crop_to_image(points: np.ndarray, mat: np.ndarray) -> np.ndarray:
    """(..., 2) crop pixels back to image pixels: the inverse of ``warp_mat``."""
    return apply_matrix(points, cv2.invertAffineTransform(np.asarray(mat, np.float64)))


@TRANSFORMS.register_module()
class GetBBoxCenterScale(BaseTransform):
    """``bbox`` (N, 4 xyxy) -> ``bbox_center`` and ``bbox_scale`` (N, 2) = padding x (w, h)
    in pixels (official and mmpose: 1.25). The aspect ratio is fitted in
    :class:`TopdownAffine` (a uniform scaling, so the order does not matter)."""

    def __init__(self, padding: float = 1.25):
        self.padding = padding

    def transform(self, results: dict) -> dict:
        bbox = np.asarray(results['bbox'], np.float64).reshape(-1, 4)
        results['bbox_center'] = (bbox[:, :2] + bbox[:, 2:]) / 2
        results['bbox_scale'] = (bbox[:, 2:] - bbox[:, :2]) * self.padding
        return results


@TRANSFORMS.register_module()
class TopdownRandomFlip(BaseTransform):
    """Horizontal flip of the image, box, centre and keypoints, left/right swapped with
    ``flip_indices`` (the sample's, from the dataset metainfo).

    Args:
        prob (float): flip probability (official 0.5).
        flip_offset (int): x' = W - ``flip_offset`` - x: 1 for the official pose code and
            mmpose, 0 for the official face code (x' = W - x).
    """

    def __init__(self, prob: float = 0.5, flip_offset: int = 1):
        if flip_offset not in (0, 1):
            raise ValueError(f'TopdownRandomFlip: flip_offset must be 0 or 1, got {flip_offset}')
        self.prob = prob
        self.flip_offset = flip_offset

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            results['flip'] = False
            return results
        width = results['img'].shape[1]
        mirror = width - self.flip_offset
        results['img'] = np.ascontiguousarray(results['img'][:, ::-1])
        if 'bbox_center' in results:
            results['bbox_center'] = results['bbox_center'].copy()
            results['bbox_center'][:, 0] = mirror - results['bbox_center'][:, 0]
        if 'bbox' in results:
            box = np.asarray(results['bbox'], np.float32).copy()
            box[:, [0, 2]] = mirror - box[:, [2, 0]]
            results['bbox'] = box
        if 'keypoints' in results:
            flip = list(results['flip_indices'])
            kpts = np.asarray(results['keypoints'], np.float32)[:, flip].copy()
            kpts[..., 0] = mirror - kpts[..., 0]
            results['keypoints'] = kpts
            results['keypoints_visible'] = np.asarray(results['keypoints_visible'])[:, flip]
        results['flip'] = True
        return results


@TRANSFORMS.register_module()
class RandomHalfBody(BaseTransform):
    """Official half-body box: with ``prob`` and more than ``min_total_keypoints`` visible
    joints, the box becomes the extent of the visible upper (or lower) body joints, padded
    by ``padding`` (official 1.5; the centre is their mean).

    The upper body is taken with ``upper_prioritized_prob`` (official ``randn() < 0.5``,
    i.e. Phi(0.5) = 0.6915; mmpose 0.7) when it has more than ``min_part_keypoints`` joints,
    else the lower body if it has more, else the upper; fewer than 2 joints keep the box.

    Args:
        upper_body_ids, lower_body_ids (seq of int, optional): default: the sample's
            metainfo ``upper_body_ids`` / ``lower_body_ids``, else COCO's for 17 keypoints.
    """

    def __init__(self,
                 prob: float = 0.3,
                 min_total_keypoints: int = 8,
                 min_part_keypoints: int = 2,
                 upper_prioritized_prob: float = 0.6915,
                 padding: float = 1.5,
                 upper_body_ids: Optional[Sequence[int]] = None,
                 lower_body_ids: Optional[Sequence[int]] = None):
        self.prob = prob
        self.min_total_keypoints = min_total_keypoints
        self.min_part_keypoints = min_part_keypoints
        self.upper_prioritized_prob = upper_prioritized_prob
        self.padding = padding
        self.upper_body_ids = upper_body_ids
        self.lower_body_ids = lower_body_ids

    def _parts(self, results: dict, k: int):
        upper = self.upper_body_ids or results.get('upper_body_ids')
        lower = self.lower_body_ids or results.get('lower_body_ids')
        if upper is None or lower is None:
            if k != len(COCO_UPPER_BODY) + len(COCO_LOWER_BODY):
                raise ValueError(f'RandomHalfBody: {k} keypoints are not COCO\'s; give '
                                 'upper_body_ids and lower_body_ids')
            upper, lower = COCO_UPPER_BODY, COCO_LOWER_BODY
        return list(upper), list(lower)

    def transform(self, results: dict) -> dict:
        kpts = np.asarray(results['keypoints'], np.float64)
        vis = np.asarray(results['keypoints_visible']) > 0
        centers, scales = results['bbox_center'].copy(), results['bbox_scale'].copy()
        upper_ids, lower_ids = self._parts(results, kpts.shape[1])
        for n in range(len(kpts)):
            if vis[n].sum() <= self.min_total_keypoints or np.random.rand() >= self.prob:
                continue
            upper = [j for j in upper_ids if vis[n, j]]
            lower = [j for j in lower_ids if vis[n, j]]
            prefer_upper = np.random.rand() < self.upper_prioritized_prob
            if prefer_upper and len(upper) > self.min_part_keypoints:
                chosen = upper
            elif len(lower) > self.min_part_keypoints:
                chosen = lower
            else:
                chosen = upper
            if len(chosen) < 2:
                continue
            pts = kpts[n, chosen]
            centers[n] = pts.mean(0)
            scales[n] = (pts.max(0) - pts.min(0)) * self.padding
        results['bbox_center'], results['bbox_scale'] = centers, scales
        return results


def _draw(dist: str, clip: float) -> float:
    """One standard draw: ``'clipped_normal'`` N(0, 1) clipped to +-``clip``,
    ``'truncated_normal'`` N(0, 1) conditioned on [-1, 1], ``'uniform'`` U(-1, 1)."""
    if dist == 'uniform':
        return float(np.random.uniform(-1, 1))
    if dist == 'clipped_normal':
        return float(np.clip(np.random.randn(), -clip, clip))
    while True:  # truncated normal by rejection (accepts 68 % of draws)
        value = np.random.randn()
        if abs(value) <= 1:
            return float(value)


@TRANSFORMS.register_module()
class RandomBBoxTransform(BaseTransform):
    """Random scale, rotation and shift of the box (``bbox_scale``, ``bbox_rotation``,
    ``bbox_center``).

    Scale: s <- s (1 + ``scale_factor`` d), rotation: r = ``rotate_factor`` d degrees, shift:
    c <- c + ``shift_factor`` d s per axis, each with its probability and ``d`` drawn from
    its distribution (``'clipped_normal'`` clipped at ``*_clip``, ``'truncated_normal'`` on
    [-1, 1], ``'uniform'`` on [-1, 1]).

    Defaults: the official pose yamls (scale N(1, 0.35) clipped to [0.65, 1.35]; rotation
    N(0, 45) clipped to +-90 with p 0.6; no shift). The official face code:
    ``scale_factor=0.25, scale_dist='uniform', rotate_factor=30, rotate_dist='uniform'``
    (p 0.6). mmpose pose: ``scale_factor=0.5, scale_dist='truncated_normal',
    rotate_factor=80, rotate_dist='truncated_normal', shift_factor=0.16, shift_prob=0.3``.
    """

    DISTS = ('clipped_normal', 'truncated_normal', 'uniform')

    def __init__(self,
                 scale_factor: float = 0.35,
                 scale_dist: str = 'clipped_normal',
                 scale_clip: float = 1.0,
                 scale_prob: float = 1.0,
                 rotate_factor: float = 45.0,
                 rotate_dist: str = 'clipped_normal',
                 rotate_clip: float = 2.0,
                 rotate_prob: float = 0.6,
                 shift_factor: float = 0.0,
                 shift_dist: str = 'truncated_normal',
                 shift_prob: float = 0.0):
        for name, dist in (('scale_dist', scale_dist), ('rotate_dist', rotate_dist),
                           ('shift_dist', shift_dist)):
            if dist not in self.DISTS:
                raise ValueError(f'RandomBBoxTransform: {name} must be one of {self.DISTS}, '
                                 f'got {dist!r}')
        self.scale_factor, self.scale_dist = scale_factor, scale_dist
        self.scale_clip, self.scale_prob = scale_clip, scale_prob
        self.rotate_factor, self.rotate_dist = rotate_factor, rotate_dist
        self.rotate_clip, self.rotate_prob = rotate_clip, rotate_prob
        self.shift_factor, self.shift_dist, self.shift_prob = shift_factor, shift_dist, shift_prob

    def transform(self, results: dict) -> dict:
        centers, scales = results['bbox_center'].copy(), results['bbox_scale'].copy()
        rotation = np.zeros(len(centers))
        for n in range(len(centers)):
            if self.shift_prob and np.random.rand() < self.shift_prob:
                centers[n] += [self.shift_factor * _draw(self.shift_dist, 1.0) * s
                               for s in scales[n]]
            if np.random.rand() < self.scale_prob:
                scales[n] *= 1 + self.scale_factor * _draw(self.scale_dist, self.scale_clip)
            if np.random.rand() < self.rotate_prob:
                rotation[n] = self.rotate_factor * _draw(self.rotate_dist, self.rotate_clip)
        results['bbox_center'], results['bbox_scale'] = centers, scales
        results['bbox_rotation'] = rotation
        return results


@TRANSFORMS.register_module()
class TopdownAffine(BaseTransform):
    """Crop the (first) instance's box to ``input_size`` (W, H) with one bilinear
    ``cv2.warpAffine``; keypoints move with the same matrix.

    The box scale is first fitted to the input aspect ratio (short side grown). Writes
    ``img``, ``img_shape``, ``input_size``, ``input_center``, ``input_scale`` (2,),
    ``warp_mat`` and ``transformed_keypoints`` (N, K, 2).

    Args:
        input_size (tuple): (W, H), e.g. (192, 256).
        use_udp (bool): the UDP crop (box edges on the first and last pixel centres).
    """

    def __init__(self, input_size: Sequence[int], use_udp: bool = False):
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.use_udp = use_udp

    def transform(self, results: dict) -> dict:
        w, h = self.input_size
        scale = fix_aspect_ratio(results['bbox_scale'], w / h)
        center = np.asarray(results['bbox_center'], np.float64)
        rotation = results.get('bbox_rotation')
        rot = float(rotation[0]) if rotation is not None else 0.0
        mat = warp_matrix(center[0], scale[0], rot, (w, h), self.use_udp)
        results['img'] = cv2.warpAffine(results['img'], mat, (w, h), flags=cv2.INTER_LINEAR)
        results['img_shape'] = (h, w)
        if 'keypoints' in results:
            results['transformed_keypoints'] = apply_matrix(results['keypoints'],
                                                            mat).astype(np.float32)
        results['bbox_scale'] = scale
        results['input_size'] = (w, h)
        results['input_center'] = center[0]
        results['input_scale'] = scale[0]
        results['warp_mat'] = mat
        return results


@TRANSFORMS.register_module()
class GenerateTarget(BaseTransform):
    """Heatmaps (K, H, W) and ``keypoint_weights`` (N, K) of ``transformed_keypoints``
    with the codec ``encoder`` (a :class:`~hrnet_tasks.codecs.HeatmapCodec` config)."""

    def __init__(self, encoder: dict):
        self.encoder = TASK_UTILS.build(encoder) if isinstance(encoder, dict) else encoder

    def transform(self, results: dict) -> dict:
        targets = self.encoder.encode(results['transformed_keypoints'],
                                      results['keypoints_visible'])
        results['heatmaps'] = targets['heatmaps']
        results['keypoint_weights'] = targets['keypoint_weights']
        return results


@TRANSFORMS.register_module()
class PackTopdownInputs(BaseTransform):
    """The crop as a (3, H, W) uint8 tensor and a data sample: ``gt_heatmaps`` (K, H, W)
    and ``keypoint_weights`` (1, K) tensors when targets were made, ``gt_keypoints``
    (1, K, 2, image pixels) and ``gt_keypoints_visible`` (1, K) when the sample has
    keypoints, and the ``meta_keys`` present."""

    DEFAULT_META = ('img_id', 'id', 'img_path', 'category_id', 'ori_shape', 'img_shape',
                    'input_size', 'input_center', 'input_scale', 'warp_mat', 'bbox',
                    'bbox_score', 'box_size', 'flip', 'flip_indices', 'dataset_name')

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        inputs, sample = pack_image(results, self.meta_keys)
        if 'heatmaps' in results:
            sample.gt_heatmaps = torch.from_numpy(np.ascontiguousarray(results['heatmaps']))
            sample.keypoint_weights = torch.from_numpy(
                np.asarray(results['keypoint_weights'], np.float32).reshape(1, -1))
        if 'keypoints' in results:
            sample.gt_keypoints = np.asarray(results['keypoints'], np.float32)[:1]
            sample.gt_keypoints_visible = np.asarray(results['keypoints_visible'],
                                                     np.float32)[:1]
        return dict(inputs=inputs, data_samples=sample)
