"""COCO object detection (``instances_*.json``): boxes, labels and optionally instance masks.

Classes are the file's categories in id order (or the ``classes`` of the metainfo, chosen
by name); their COCO ids map to contiguous labels 0..K-1, and the metainfo keeps the
mapping (``cat_ids[label]`` is the COCO id, which ``CocoDetMetric`` writes back).

Boxes follow torchvision's continuous convention: x2 = x + w (mmdet 1.x used x + w - 1;
see docs/detection.md). Each box is clipped to its image; one left narrower or lower than
one pixel (w or h <= 0, or outside the image) is skipped. Both are counted
(``num_clipped_boxes``, ``num_skipped_boxes``) and reported in one log line; crowd regions
are left out of training (pycocotools' evaluation ignores them itself) and counted in
``num_crowd_boxes``.
"""
import copy
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger

from hrnet_tasks.datapaths import PREPARE_HINTS
from hrnet_tasks.datasets.base import CheckedDatasetMixin, load_coco
from hrnet_tasks.registry import DATASETS

MIN_BOX_SIZE = 1.0  # pixels, as mmdet: thinner boxes carry no trainable signal
# the 80 COCO detection classes in category-id order (labels 0-79), for a model whose
# checkpoint carries no dataset metainfo
COCO_CLASSES = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog',
    'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella',
    'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite',
    'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
    'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich',
    'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
    'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote',
    'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book',
    'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush')


def clip_box(xywh: Sequence[float], width: int, height: int):
    """(x1, y1, x2, y2 clipped to the image, whether clipping changed it), or None when
    the box is narrower or lower than :data:`MIN_BOX_SIZE` after clipping."""
    x, y, w, h = (float(v) for v in xywh)
    box = (x, y, x + w, y + h)
    x1, y1 = min(max(box[0], 0.0), width), min(max(box[1], 0.0), height)
    x2, y2 = min(max(box[2], 0.0), width), min(max(box[3], 0.0), height)
    if w <= 0 or h <= 0 or x2 - x1 < MIN_BOX_SIZE or y2 - y1 < MIN_BOX_SIZE:
        return None
    return (x1, y1, x2, y2), (x1, y1, x2, y2) != box


@DATASETS.register_module()
class CocoDetDataset(CheckedDatasetMixin, BaseDataset):
    """COCO-format detection, one sample per image.

    Args:
        ann_file (str): COCO instances annotations (relative to ``data_root``).
        data_prefix (dict): ``dict(img='val2017/')``.
        metainfo (dict, optional): ``classes`` (names) to keep a subset of the file's
            categories, e.g. ``dict(classes=('person', ))``.
        filter_empty_gt (bool, optional): drop images without a (kept) box; default: in
            training only, so evaluation keeps every image.
        with_mask (bool): also load each instance's ``segmentation`` (Mask R-CNN).
        skip_bad_images (bool): drop (and count) images that are referenced but absent,
            instead of raising, and skip undecodable ones in training.

    Each sample: ``img_id``, ``img_path``, ``width``, ``height``, ``gt_bboxes`` (N, 4)
    float32 x1 y1 x2 y2, ``gt_bboxes_labels`` (N,) int64, and with masks
    ``gt_segmentations`` (the N COCO segmentations, decoded by ``LoadInstanceMasks``).
    """

    METAINFO = dict(dataset_name='coco')
    PREPARE_HINT = PREPARE_HINTS['CocoDetDataset']

    def __init__(self,
                 ann_file: str = '',
                 data_root: str = '',
                 data_prefix: dict = dict(img=''),
                 metainfo: Optional[dict] = None,
                 filter_empty_gt: Optional[bool] = None,
                 with_mask: bool = False,
                 skip_bad_images: bool = False,
                 **kwargs):
        self.check_paths(data_root=data_root, data_prefix=data_prefix, ann_file=ann_file)
        self.filter_empty_gt = filter_empty_gt
        self.with_mask = with_mask
        self.skip_bad_images = skip_bad_images
        self.num_clipped_boxes = self.num_skipped_boxes = self.num_crowd_boxes = 0
        self.num_missing_images = 0
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                         metainfo=metainfo, **kwargs)

    @classmethod
    def _load_metainfo(cls, metainfo: dict = None) -> dict:
        return {**copy.deepcopy(cls.METAINFO), **dict(metainfo or {})}

    def _categories(self, coco) -> List[dict]:
        """The kept categories in COCO id order: all, or those the metainfo names."""
        cats = [coco.cats[i] for i in sorted(coco.cats)]
        if not cats:
            raise ValueError(f'{self.ann_file} lists no categories; a detection set needs them')
        wanted = self._metainfo.get('classes')
        if wanted is None:
            return cats
        by_name = {c['name']: c for c in cats}
        unknown = [n for n in wanted if n not in by_name]
        if unknown:
            raise ValueError(f'metainfo classes {unknown} are not categories of '
                             f'{self.ann_file}; its categories: {sorted(by_name)}')
        return sorted((by_name[n] for n in wanted), key=lambda c: c['id'])

    def load_data_list(self) -> List[dict]:
        coco = load_coco(self.ann_file, self.PREPARE_HINT)
        self.coco = coco
        cats = self._categories(coco)
        cat2label = {c['id']: i for i, c in enumerate(cats)}
        self._metainfo.update(classes=tuple(c['name'] for c in cats),
                              cat_ids=[c['id'] for c in cats], ann_file=self.ann_file)
        filter_empty = (not self.test_mode) if self.filter_empty_gt is None \
            else self.filter_empty_gt
        img_root = self.data_prefix.get('img', '')
        data_list = []
        clipped = skipped = crowd = 0
        for img_id in sorted(coco.getImgIds()):
            img = coco.imgs[img_id]
            boxes, labels, segmentations = [], [], []
            for ann in coco.imgToAnns.get(img_id, []):
                if ann.get('category_id') not in coco.cats:
                    raise ValueError(
                        f'{self.ann_file}: annotation id {ann.get("id")} (image {img_id}) has '
                        f'category_id {ann.get("category_id")}, which is not in the file\'s '
                        f'categories (ids {sorted(coco.cats)}); fix the annotation or add the '
                        'category')
                if ann['category_id'] not in cat2label:
                    continue
                if ann.get('iscrowd', 0):
                    crowd += 1
                    continue
                kept = clip_box(ann['bbox'], img['width'], img['height'])
                if kept is None:
                    skipped += 1
                    continue
                clipped += kept[1]
                boxes.append(kept[0])
                labels.append(cat2label[ann['category_id']])
                segmentations.append(ann.get('segmentation'))
            if filter_empty and not boxes:
                continue
            info = dict(img_id=img_id, img_path=osp.join(img_root, img['file_name']),
                        width=img['width'], height=img['height'],
                        gt_bboxes=np.asarray(boxes, np.float32).reshape(-1, 4),
                        gt_bboxes_labels=np.asarray(labels, np.int64))
            if self.with_mask:
                info['gt_segmentations'] = segmentations
            data_list.append(info)
        self.num_clipped_boxes, self.num_skipped_boxes = clipped, skipped
        self.num_crowd_boxes = crowd
        if clipped or skipped:
            MMLogger.get_current_instance().warning(
                f'{self.ann_file}: {clipped} box(es) clipped to their image, {skipped} '
                f'skipped (w or h <= 0, or less than {MIN_BOX_SIZE:g} px inside the image)')
        return self.drop_missing_images(data_list, self.ann_file)
