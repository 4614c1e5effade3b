"""COCO person keypoints for top-down pose: one sample per person box.

Training uses the GT boxes (crowd annotations and people without a labelled joint are
skipped, as in the official code). Testing uses the GT boxes too (``use_gt_bbox=True``,
what the official training validates with) or the boxes of a person detector
(``use_gt_bbox=False`` + ``bbox_file``, the COCO results format; what every published
AP uses; the official test command sets ``TEST.USE_GT_BBOX False``).

Each sample (the per-instance interface of docs/pose_topdown.md): ``img_path``,
``img_id``, ``id`` (annotation id; -1 for a detected box), ``category_id``, ``bbox``
(1, 4) x1 y1 x2 y2, ``bbox_score`` (1,), ``keypoints`` (1, K, 2), ``keypoints_visible``
(1, K) (COCO v > 0 -> 1; all 1 for a detected box, whose keypoints are unknown) and the
metainfo's ``flip_indices``.
"""
import contextlib
import io
import json
import os.path as osp
from typing import List, Optional

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger

from hrnet_tasks.datapaths import PREPARE_HINTS
from hrnet_tasks.datasets.base import CheckedDatasetMixin, DataPathError
from hrnet_tasks.datasets.coco_keypoints import CocoKeypointDataset
from hrnet_tasks.registry import DATASETS

BBOX_RULES = ('official', 'mmpose')


def clean_gt_box(xywh, width: int, height: int, rule: str = 'official'):
    """A GT box clipped to the image, as x1 y1 x2 y2, or None when nothing is left.

    ``'official'`` (``coco.py`` of the official code): x2 = min(W - 1, x1 + max(0, w - 1)),
    so an unclipped box loses one pixel of width and height; ``'mmpose'``: x2 =
    clip(x + w, 0, W - 1). As in the official code a box of zero width (or height) is
    kept (the aspect fit gives it one); one with x2 < x1, or a single point, is not."""
    x, y, w, h = (float(v) for v in xywh)
    if rule == 'official':
        x1, y1 = max(0.0, x), max(0.0, y)
        x2 = min(width - 1.0, x1 + max(0.0, w - 1))
        y2 = min(height - 1.0, y1 + max(0.0, h - 1))
    else:
        x1, y1 = min(max(x, 0.0), width - 1.0), min(max(y, 0.0), height - 1.0)
        x2, y2 = min(max(x + w, 0.0), width - 1.0), min(max(y + h, 0.0), height - 1.0)
    if x2 < x1 or y2 < y1 or (x2 == x1 and y2 == y1):
        return None
    return x1, y1, x2, y2


@DATASETS.register_module()
class TopdownCocoDataset(CheckedDatasetMixin, BaseDataset):
    """COCO keypoints, one person per sample.

    Args:
        ann_file (str): COCO keypoint annotations (relative to ``data_root``).
        data_prefix (dict): ``dict(img='val2017/')``.
        metainfo (dict): keypoint metainfo (default COCO; see ``CocoKeypointDataset``).
        use_gt_bbox (bool): test with the GT boxes (default); False: with ``bbox_file``.
            Training always uses GT boxes.
        bbox_file (str, optional): detections as COCO results (a list of ``image_id``,
            ``category_id``, ``bbox`` x y w h, ``score``), read when ``use_gt_bbox=False``;
            entries of another category than the keypoint category are skipped.
        det_score_thr (float): drop detections below it (official yamls: 0.0, keep all;
            the code default 0.1 loses recall).
        bbox_rule (str): GT box clipping, ``'official'`` (default) or ``'mmpose'``
            (:func:`clean_gt_box`); boxes left with no area are skipped and counted.
        skip_bad_images (bool): drop (and count) the samples of absent images.

    Counts after loading: ``num_skipped_boxes`` (GT boxes of no area or detections of
    zero or negative size), ``num_missing_images``.
    """

    METAINFO = CocoKeypointDataset.METAINFO
    PREPARE_HINT = PREPARE_HINTS['CocoKeypointDataset']

    def __init__(self,
                 ann_file: str = '',
                 data_root: str = '',
                 data_prefix: dict = dict(img=''),
                 metainfo: Optional[dict] = None,
                 use_gt_bbox: bool = True,
                 bbox_file: Optional[str] = None,
                 det_score_thr: float = 0.0,
                 bbox_rule: str = 'official',
                 skip_bad_images: bool = False,
                 test_mode: bool = False,
                 **kwargs):
        self.check_paths(data_root=data_root, data_prefix=data_prefix, ann_file=ann_file,
                         use_gt_bbox=use_gt_bbox, bbox_file=bbox_file)
        if bbox_rule not in BBOX_RULES:
            raise ValueError(f'TopdownCocoDataset: bbox_rule must be one of {BBOX_RULES}, got '
                             f'{bbox_rule!r}')
        if not use_gt_bbox and not test_mode:
            raise ValueError('TopdownCocoDataset: use_gt_bbox=False (detected boxes) is for '
                             'testing; training uses the GT boxes (set test_mode=True)')
        self.use_gt_bbox = use_gt_bbox
        self.bbox_file = bbox_file
        self.det_score_thr = det_score_thr
        self.bbox_rule = bbox_rule
        self.skip_bad_images = skip_bad_images
        self.num_skipped_boxes = 0
        self.num_missing_images = 0
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                         metainfo=metainfo, test_mode=test_mode, **kwargs)

    @classmethod
    def required_paths(cls, use_gt_bbox: bool = True, bbox_file: Optional[str] = None,
                       **dataset_cfg):
        paths = super().required_paths(**dataset_cfg)
        if not use_gt_bbox:
            if not bbox_file:
                raise DataPathError(f'{cls.__name__}: use_gt_bbox=False needs bbox_file (the '
                                    'person detections, COCO results json)')
            paths.append(('bbox file', bbox_file))
        return paths

    @classmethod
    def _load_metainfo(cls, metainfo: dict = None) -> dict:
        # the same metainfo rules (COCO default, from_file, partial overrides)
        return CocoKeypointDataset._load_metainfo.__func__(cls, metainfo)

    def _load_coco(self):
        from pycocotools.coco import COCO
        if not osp.isfile(self.ann_file):
            raise DataPathError(
                f'annotation file not found: {self.ann_file!r}. {self.PREPARE_HINT}')
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                return COCO(self.ann_file)
            except Exception as exc:
                raise ValueError(f'cannot read COCO annotations {self.ann_file}: {exc}') from exc

    def load_data_list(self) -> List[dict]:
        coco = self._load_coco()
        self._metainfo['ann_file'] = self.ann_file
        self.coco = coco
        img_root = self.data_prefix.get('img', '')
        images = {i: coco.loadImgs(i)[0] for i in sorted(coco.getImgIds())}
        if self.use_gt_bbox:
            data_list = self._gt_instances(coco, images, img_root)
        else:
            data_list = self._detected_instances(coco, images, img_root)
        if self.num_skipped_boxes:
            what = 'GT boxes with nothing left after clipping' if self.use_gt_bbox else \
                'detections of zero or negative size'
            MMLogger.get_current_instance().warning(
                f'{self.bbox_file if not self.use_gt_bbox else self.ann_file}: skipped '
                f'{self.num_skipped_boxes} {what}')
        return self.drop_missing_images(data_list, self.ann_file)

    def _sample(self, img, img_root, **fields) -> dict:
        k = self._metainfo['num_keypoints']
        sample = dict(img_id=int(img['id']), img_path=osp.join(img_root, img['file_name']),
                      ori_shape=(img['height'], img['width']),
                      flip_indices=self._metainfo['flip_indices'],
                      keypoints=np.zeros((1, k, 2), np.float32),
                      keypoints_visible=np.ones((1, k), np.float32))
        sample.update(fields)
        return sample

    def _gt_instances(self, coco, images, img_root) -> List[dict]:
        k = self._metainfo['num_keypoints']
        data_list = []
        for img_id, img in images.items():
            for ann in coco.loadAnns(coco.getAnnIds(imgIds=img_id, iscrowd=False)):
                kpts = ann.get('keypoints')
                if kpts is None or ann.get('iscrowd', 0):
                    continue
                if len(kpts) != 3 * k:
                    raise ValueError(
                        f'{self.ann_file}: annotation id {ann.get("id")} (image {img_id}) has '
                        f'{len(kpts)} keypoint numbers, expected {3 * k} ({k} keypoints x 3) '
                        'for this dataset metainfo')
                kpts = np.asarray(kpts, np.float32).reshape(k, 3)
                if kpts.max() <= 0:  # no labelled joint: nothing to learn or score
                    continue
                box = clean_gt_box(ann['bbox'], img['width'], img['height'], self.bbox_rule)
                if box is None or ann.get('area', 1) <= 0:
                    self.num_skipped_boxes += 1
                    continue
                data_list.append(self._sample(
                    img, img_root, id=int(ann['id']), category_id=int(ann['category_id']),
                    bbox=np.array([box], np.float32), bbox_score=np.ones(1, np.float32),
                    keypoints=kpts[None, :, :2].copy(),
                    keypoints_visible=np.minimum(kpts[None, :, 2], 1).astype(np.float32),
                    num_keypoints=int((kpts[:, 2] > 0).sum())))
        return data_list

    def _read_detections(self) -> list:
        try:
            with open(self.bbox_file) as f:
                dets = json.load(f)
        except (OSError, ValueError) as exc:
            raise ValueError(f'cannot read the bbox file {self.bbox_file}: {exc}') from None
        needed = ('image_id', 'bbox', 'score')
        if not isinstance(dets, list) or not all(
                isinstance(d, dict) and all(n in d for n in needed) for d in dets):
            raise ValueError(f'{self.bbox_file}: expected COCO detection results, a list of '
                             f'{{image_id, category_id, bbox [x, y, w, h], score}}')
        return dets

    def _detected_instances(self, coco, images, img_root) -> List[dict]:
        cats = [c['id'] for c in coco.loadCats(coco.getCatIds()) if c.get('keypoints')] or [1]
        person = cats[0]
        dets = [d for d in self._read_detections()
                if int(d.get('category_id', person)) == person
                and float(d['score']) >= self.det_score_thr]
        unknown = sorted({int(d['image_id']) for d in dets} - set(images))
        if unknown:
            boxes = sum(int(d['image_id']) in set(unknown) for d in dets)
            raise ValueError(f'{self.bbox_file}: {boxes} boxes on {len(unknown)} image ids '
                             f'that are not in {self.ann_file} (e.g. {unknown[0]}; the file has '
                             f'{len(images)} images): use the detections of this split')
        data_list = []
        for det in dets:
            x, y, w, h = (float(v) for v in det['bbox'])
            if w <= 0 or h <= 0:
                self.num_skipped_boxes += 1
                continue
            data_list.append(self._sample(
                images[int(det['image_id'])], img_root, id=-1, category_id=person,
                bbox=np.array([[x, y, x + w, y + h]], np.float32),
                bbox_score=np.array([det['score']], np.float32)))
        MMLogger.get_current_instance().info(
            f'{self.bbox_file}: {len(data_list)} person boxes with score >= '
            f'{self.det_score_thr} on {len({d["img_id"] for d in data_list})} of '
            f'{len(images)} images')
        return data_list
