"""COCO pose + person segmentation from one ``person_keypoints_*.json``.

Every person annotation carries its ``segmentation`` (polygons, or RLE for crowds).
:class:`CocoPoseSegDataset` is :class:`CocoKeypointDataset` plus, per image, the
checked segmentations of all its people; :class:`LoadPersonMask` turns them into a
label map with pycocotools (0 background, 1 person, 255 crowd), and
:class:`BottomupWarpSegMap` moves it through the same random affine and flip as the
image and keypoints.
"""
from typing import List, Optional, Sequence

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.logging import MMLogger
from mmengine.structures import PixelData

from hrnet_tasks.datasets.coco_keypoints import CocoKeypointDataset
from hrnet_tasks.datasets.transforms.bottomup import PackBottomupInputs, affine_matrix
from hrnet_tasks.datasets.transforms.loading import BadImageError
from hrnet_tasks.registry import DATASETS, TRANSFORMS

PERSON_CLASSES = ('background', 'person')
PERSON_PALETTE = [(0, 0, 0), (220, 20, 60)]
CROWD_LABEL = 255


class BadAnnotationError(BadImageError):
    """A person annotation whose segmentation is missing or malformed."""


def segmentation_to_rle(segmentation, height: int, width: int):
    """One annotation's segmentation as a pycocotools RLE; ``ValueError`` when it is
    missing or malformed (never an empty mask in its place).

    Polygon parts with fewer than 3 points have no area and are dropped (real COCO has
    a few); an annotation left with no polygon is malformed.
    """
    from pycocotools import mask as mask_utils
    if segmentation is None or (isinstance(segmentation, (list, dict)) and not segmentation):
        raise ValueError('has no segmentation')
    if isinstance(segmentation, list):
        polygons = []
        for part in segmentation:
            if not isinstance(part, (list, tuple)) or len(part) % 2 or \
                    not all(isinstance(v, (int, float)) for v in part):
                raise ValueError('has a malformed polygon (expected a flat list of x, y numbers)')
            if len(part) >= 6:
                polygons.append([float(v) for v in part])
        if not polygons:
            raise ValueError('has no polygon with 3 or more points')
        return mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    if isinstance(segmentation, dict):
        if 'counts' not in segmentation or 'size' not in segmentation:
            raise ValueError('has an RLE without "counts" and "size"')
        if [int(v) for v in segmentation['size']] != [height, width]:
            raise ValueError(f'has an RLE of size {segmentation["size"]} for a '
                             f'{height}x{width} image')
        try:
            if isinstance(segmentation['counts'], list):  # uncompressed RLE
                return mask_utils.frPyObjects(segmentation, height, width)
            rle = dict(segmentation)
            if isinstance(rle['counts'], str):
                rle['counts'] = rle['counts'].encode()
            mask_utils.area(rle)  # decodes the counts: raises on garbage
            return rle
        except Exception as exc:  # pycocotools raises several types for bad counts
            raise ValueError(f'has an unreadable RLE ({exc})') from exc
    raise ValueError(f'has a segmentation of type {type(segmentation).__name__}')


def person_label_map(people: Sequence[dict], height: int, width: int) -> np.ndarray:
    """(H, W) uint8: 1 where any non-crowd person is, 255 on crowd regions (crowd
    wins where both overlap: those pixels are not reliably labelled), 0 elsewhere.

    ``people``: dicts with ``rle`` (or ``segmentation``) and ``iscrowd``.
    """
    from pycocotools import mask as mask_utils
    label = np.zeros((height, width), np.uint8)
    crowd = np.zeros((height, width), bool)
    for person in people:
        rle = person.get('rle')
        if rle is None:
            rle = segmentation_to_rle(person['segmentation'], height, width)
        region = mask_utils.decode(rle).astype(bool)
        if person.get('iscrowd', 0):
            crowd |= region
        else:
            label[region] = 1
    label[crowd] = CROWD_LABEL
    return label


@DATASETS.register_module()
class CocoPoseSegDataset(CocoKeypointDataset):
    """COCO keypoints + person segmentation (``person_segmentations`` per sample).

    Same arguments as :class:`CocoKeypointDataset`. An annotation whose segmentation is
    missing or malformed raises :class:`BadAnnotationError` naming the image and the
    annotation id; with ``skip_bad_images=True`` the image is dropped and counted
    (``num_bad_annotations``) instead. The metainfo adds ``classes``
    (background, person) for the segmentation metric.
    """

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        self._metainfo.update(classes=PERSON_CLASSES, palette=PERSON_PALETTE)
        kept, bad = [], []
        for info in data_list:
            people = []
            try:
                for ann in self.coco.loadAnns(self.coco.getAnnIds(imgIds=info['img_id'],
                                                                  iscrowd=None)):
                    try:
                        rle = segmentation_to_rle(ann.get('segmentation'), info['height'],
                                                  info['width'])
                    except ValueError as exc:
                        raise BadAnnotationError(
                            info['img_path'], f'{self.ann_file}: person annotation id '
                            f'{ann.get("id")} (image id {info["img_id"]}) {exc}') from None
                    people.append(dict(rle=rle, iscrowd=int(ann.get('iscrowd', 0))))
            except BadAnnotationError as err:
                if not self.skip_bad_images:
                    raise
                bad.append(err.filename)
                continue
            info['person_segmentations'] = people
            kept.append(info)
        self.num_bad_annotations = len(bad)
        if bad:
            MMLogger.get_current_instance().warning(
                f'{self.ann_file}: skipped {len(bad)} image(s) with a missing or malformed '
                f'person segmentation, e.g. {bad[0]}')
        return kept


@TRANSFORMS.register_module()
class LoadPersonMask(BaseTransform):
    """``gt_seg_map`` (H, W) uint8 from ``person_segmentations`` at the image size."""

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        results['gt_seg_map'] = person_label_map(results['person_segmentations'], h, w)
        return results


@TRANSFORMS.register_module()
class BottomupWarpSegMap(BaseTransform):
    """Warp ``gt_seg_map`` with the affine that ``BottomupRandomAffine`` drew, then flip
    it when ``BottomupRandomFlip`` flipped the sample (place it after both).

    Nearest-neighbour keeps labels discrete; pixels from outside the image become
    ``ignore_index`` (the image is black there, nothing to learn).

    Args:
        stride (int): the map is ``input_size // stride`` square (1: input size).
    """

    def __init__(self, stride: int = 1, ignore_index: int = CROWD_LABEL):
        self.stride = stride
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        affine = results['affine']
        size = results['img'].shape[0] // self.stride
        mat = affine_matrix(affine['center'], affine['side'], size, affine['rot'])
        seg = cv2.warpAffine(results['gt_seg_map'], mat, (size, size), flags=cv2.INTER_NEAREST,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=self.ignore_index)
        if results.get('flip'):
            seg = seg[:, ::-1]
        results['gt_seg_map'] = np.ascontiguousarray(seg)
        return results


@TRANSFORMS.register_module()
class PackMultiTaskInputs(PackBottomupInputs):
    """:class:`PackBottomupInputs` plus ``gt_sem_seg`` (1 x H x W) when a label map exists,
    and the sample's ``task`` (for mixed datasets) in the metainfo."""

    def __init__(self, meta_keys: Optional[Sequence[str]] = None):
        super().__init__(tuple(meta_keys or PackBottomupInputs.DEFAULT_META) + ('task', ))

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        if 'gt_seg_map' in results:
            seg = torch.from_numpy(np.ascontiguousarray(results['gt_seg_map']).astype(np.int64))
            packed['data_samples'].gt_sem_seg = PixelData(data=seg[None])
        return packed
