"""albumentations inside every task's pipeline, with labels that follow the image.

One transform serves all three tasks; it looks at the results keys each pipeline uses:

* ``img`` (H x W x 3 uint8, BGR as loaded by OpenCV; handed to albumentations as RGB,
  which its colour transforms assume);
* ``gt_seg_map`` (segmentation, H x W uint8): warped with nearest neighbour, every pixel a
  geometric transform fills (padding, rotated-in corners, ``fill_mask`` of a dropout) becomes
  ``seg_ignore_index``;
* bottom-up pose before ``BottomupRandomAffine``: ``keypoints`` (N, K, 3: x, y, visibility) and
  ``mask`` (H x W, 1 = supervise; built from ``ignore_segmentations`` first when absent);
* bottom-up pose after ``BottomupRandomAffine``: ``keypoints_list`` and ``masks`` (one per
  heatmap resolution; both are taken to image scale, transformed once, and taken back; a flip
  there maps x to r - r / R - x at resolution r of an R-pixel input, where
  ``BottomupRandomFlip`` keeps the official r - 1 - x).

Keypoints whose transformed position lies outside the output image become invisible (v = 0).
Filled pixels of the pose masks become 0 (unsupervised), as in ``BottomupRandomAffine``.
A mirroring result (HorizontalFlip, VerticalFlip, Transpose, a flip inside OneOf, ...) swaps
left and right joints with the dataset's ``flip_indices``: the transform follows three probe
points near the image centre and reads the mirror from the sign of their determinant, so it
needs no list of which albumentations classes flip.
"""
import warnings
from typing import Optional, Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from hrnet_tasks.datasets.transforms.bottomup import valid_mask_from_segmentations
from hrnet_tasks.registry import TRANSFORMS

__all__ = ['Albumentations', 'build_albumentations', 'iter_albumentations']

_NEAREST = (cv2.INTER_NEAREST, cv2.INTER_NEAREST_EXACT)
_REFLECT = (cv2.BORDER_REFLECT, cv2.BORDER_REFLECT_101)
_PROBES = 3  # centre, centre + dx, centre + dy: enough to see a mirror


def build_albumentations(cfg):
    """An albumentations object from ``dict(type='ClassName', **kwargs)``; ``transforms``
    inside (``OneOf``, ``SomeOf``, ``Sequential``, ``Compose``) are built recursively."""
    import albumentations
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'an albumentations transform config must be a dict with `type`, got '
                        f'{cfg!r}')
    args = dict(cfg)
    obj_type = args.pop('type')
    if isinstance(obj_type, str):
        obj_cls = getattr(albumentations, obj_type, None)
        if obj_cls is None:
            raise KeyError(f'albumentations {albumentations.__version__} has no transform '
                           f'{obj_type!r}')
    else:
        obj_cls = obj_type
    if 'transforms' in args:
        args['transforms'] = [build_albumentations(t) for t in args['transforms']]
    return obj_cls(**args)


def _is_mirror(probes: np.ndarray) -> bool:
    """The probes (centre, centre + dx, centre + dy) after the transforms: a negative
    determinant of their edges means the picture was mirrored (an odd number of flips)."""
    edges = probes[1:] - probes[0]
    return float(np.linalg.det(edges)) < 0


def iter_albumentations(transform):
    """``transform`` and, depth first, every transform nested inside it."""
    yield transform
    for child in getattr(transform, 'transforms', None) or ():
        yield from iter_albumentations(child)


@TRANSFORMS.register_module()
class Albumentations(BaseTransform):
    """Apply a list of albumentations transforms to the image and the task's labels.

    Args:
        transforms (list[dict]): albumentations transforms, ``dict(type=<class name>, ...)``.
        bgr_to_rgb (bool): the image in ``results`` is BGR (the project's loaders); it is
            converted for albumentations and back.
        seg_ignore_index (int): value of filled pixels in ``gt_seg_map``.
        flip_indices (list[int], optional): joint order after a mirror; default: the sample's
            ``flip_indices`` (the pose dataset packs them from its metainfo).
    """

    def __init__(self,
                 transforms: Sequence[dict],
                 bgr_to_rgb: bool = True,
                 seg_ignore_index: int = 255,
                 flip_indices: Optional[Sequence[int]] = None):
        import albumentations
        self.transforms = [dict(t) for t in transforms]
        self.bgr_to_rgb = bgr_to_rgb
        self.seg_ignore_index = seg_ignore_index
        self.flip_indices = None if flip_indices is None else list(flip_indices)
        built = [build_albumentations(t) for t in self.transforms]
        with warnings.catch_warnings():
            # a purely photometric list moves no points; the keypoint set-up is then idle
            warnings.filterwarnings('ignore', message='Got processor for keypoints')
            # label_fields identify the points after the call: the order alone is no contract
            self.aug = albumentations.Compose(
                built,
                keypoint_params=albumentations.KeypointParams(
                    format='xy', label_fields=['point_ids'], remove_invisible=False))
        steps = list(iter_albumentations(self.aug))[1:]
        # None: a OneOf / Compose leaving its children's setting alone
        smooth = [type(t).__name__ for t in steps
                  if getattr(t, 'mask_interpolation', None) not in (None, ) + _NEAREST]
        if smooth:
            raise ValueError(f'{smooth}: mask_interpolation must be nearest (0), label maps and '
                             'masks must keep their values')
        # reflect padding adds mirrored copies of the people and of their keypoints
        self._reflecting = [type(t).__name__ for t in steps
                            if getattr(t, 'border_mode', None) in _REFLECT]
        # one mask plane holds this value everywhere; where it is lost, pixels were filled
        fills = set()
        for t in steps:
            fill = getattr(t, 'fill_mask', None)
            if fill is not None:
                fills.update(float(v) for v in np.ravel(fill))
        self._valid_value = next(v for v in range(1, 256) if float(v) not in fills)

    def transform(self, results: dict) -> dict:
        # albumentations keeps its own generator, seeded from OS entropy when built; drawing
        # its seed from numpy follows mmengine's seeding (reproducible runs, and workers forked
        # from one dataset no longer repeat each other's augmentations)
        self.aug.set_random_seed(int(np.random.randint(2**31 - 1)))
        img = results['img']
        height, width = img.shape[:2]
        rgb = self.bgr_to_rgb and img.ndim == 3 and img.shape[2] == 3
        image = cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if rgb else img

        warped = 'keypoints_list' in results
        raw = not warped and 'keypoints' in results
        if (raw or warped) and self._reflecting:
            raise ValueError(f'{self._reflecting} use a reflecting border_mode, which mirrors '
                             'people into the padding without keypoints; use border_mode=0 '
                             '(cv2.BORDER_CONSTANT) in pose pipelines')

        # masks: uint8 planes handed over as albumentations `masks`, warped one by one (OpenCV's
        # nearest warp of a multi-channel image rounds differently from a single channel's)
        planes = []
        if 'gt_seg_map' in results:
            planes.append(results['gt_seg_map'])
        if raw:
            if 'mask' not in results:
                results['mask'] = valid_mask_from_segmentations(
                    results.get('ignore_segmentations', []), height, width)
            pose_masks = [results['mask']]
        elif warped:
            pose_masks = [
                cv2.resize(m, (width, height), interpolation=cv2.INTER_NEAREST)
                for m in results['masks']
            ]
        else:
            pose_masks = []
        planes += [(m > 0.5).astype(np.uint8) for m in pose_masks]

        # points: all joints at image scale, then the probes
        if raw:
            kpt_sets = [np.asarray(results['keypoints'], np.float32)]
            scales = [(1.0, 1.0)]
        elif warped:
            kpt_sets = [np.asarray(k, np.float32) for k in results['keypoints_list']]
            scales = [(width / m.shape[1], height / m.shape[0]) for m in results['masks']]
        else:
            kpt_sets, scales = [], []
        step = max(1.0, min(height, width) / 8)
        cx, cy = (width - 1) / 2, (height - 1) / 2
        probes = np.array([[cx, cy], [cx + step, cy], [cx, cy + step]], np.float32)
        points = [k[..., :2].reshape(-1, 2) * np.float32(s) for k, s in zip(kpt_sets, scales)]
        points = np.concatenate(points + [probes])

        data = dict(image=image, keypoints=points, point_ids=np.arange(len(points)))
        if planes:
            planes.append(np.full((height, width), self._valid_value, np.uint8))
            data['masks'] = np.stack(planes)
        out = self.aug(**data)

        new_img = out['image']
        results['img'] = cv2.cvtColor(new_img, cv2.COLOR_RGB2BGR) if rgb else new_img
        new_h, new_w = new_img.shape[:2]
        results['img_shape'] = (new_h, new_w)

        moved = points.copy()
        found = np.zeros(len(points), bool)
        ids = np.asarray(out['point_ids'], np.int64)
        moved[ids] = np.asarray(out['keypoints'], np.float32)[:, :2]
        found[ids] = True

        if planes:
            mask = out['masks']
            filled = mask[-1] != self._valid_value
            plane = 0
            if 'gt_seg_map' in results:
                seg = np.ascontiguousarray(mask[0])
                seg[filled] = self.seg_ignore_index
                results['gt_seg_map'] = seg
                plane = 1
            new_masks = []
            for i in range(len(pose_masks)):
                m = mask[plane + i].astype(np.float32)
                m[filled] = 0
                if warped:
                    sx, sy = scales[i]
                    size = (max(1, round(new_w / sx)), max(1, round(new_h / sy)))
                    m = cv2.resize(m, size, interpolation=cv2.INTER_NEAREST)
                new_masks.append(m)
            if raw:
                results['mask'] = new_masks[0]
            elif warped:
                results['masks'] = new_masks

        if kpt_sets:
            mirrored = _is_mirror(moved[-_PROBES:])
            flip = None
            if mirrored:
                flip = self.flip_indices if self.flip_indices is not None \
                    else results.get('flip_indices')
                if flip is None:
                    raise KeyError('a mirroring albumentations transform needs flip_indices '
                                   '(from the dataset metainfo or the transform argument)')
            start = 0
            new_sets = []
            for kpts, (sx, sy) in zip(kpt_sets, scales):
                count = kpts.shape[0] * kpts.shape[1]
                kpts = kpts.copy()
                xy = moved[start:start + count].reshape(kpts.shape[:2] + (2, ))
                kpts[..., 0] = xy[..., 0] / sx
                kpts[..., 1] = xy[..., 1] / sy
                lost = ~found[start:start + count].reshape(kpts.shape[:2])
                outside = ((xy[..., 0] < 0) | (xy[..., 0] >= new_w) | (xy[..., 1] < 0) |
                           (xy[..., 1] >= new_h))
                kpts[..., 2][lost | outside] = 0
                if mirrored:
                    kpts = kpts[:, flip]
                new_sets.append(kpts)
                start += count
            if raw:
                results['keypoints'] = new_sets[0]
            else:
                results['keypoints_list'] = new_sets
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(transforms={self.transforms!r})'
