"""COCO box (and mask) AP with pycocotools ``COCOeval(iouType='bbox' | 'segm')``.

A ``BaseMetric``: every rank keeps its predictions, mmengine gathers them (dropping the
sampler's padding), and duplicates by image id are removed before evaluation. Labels map
back to COCO category ids through the dataset's ``cat_ids``; boxes are written as
x, y, w, h with w = x2 - x1 (torchvision's continuous convention).
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from hrnet_tasks.registry import METRICS

IOU_TYPES = ('bbox', 'segm')
# names of COCOeval.stats, in its order, after the iou type ('bbox_mAP', ...)
STAT_NAMES = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l', 'AR@1', 'AR@10', 'AR@100',
              'AR_s@100', 'AR_m@100', 'AR_l@100')


def _get(sample, key):
    return sample[key] if isinstance(sample, dict) else getattr(sample, key)


def _numpy(value) -> np.ndarray:
    return value.detach().cpu().numpy() if hasattr(value, 'detach') else np.asarray(value)


def coco_det_results(results: Sequence[dict], cat_ids: Sequence[int],
                     iou_type: str = 'bbox') -> List[dict]:
    """Predictions as COCO result entries (``image_id``, ``category_id``, ``bbox`` x y w h
    or ``segmentation`` RLE, ``score``); the format ``TopdownCocoDataset(bbox_file=)``
    reads."""
    out = []
    for res in results:
        for k in range(len(res['scores'])):
            entry = dict(image_id=int(res['img_id']),
                         category_id=int(cat_ids[int(res['labels'][k])]),
                         score=float(res['scores'][k]))
            if iou_type == 'bbox':
                x1, y1, x2, y2 = (float(v) for v in res['bboxes'][k])
                entry['bbox'] = [x1, y1, x2 - x1, y2 - y1]
            else:
                entry['segmentation'] = res['masks'][k]
            out.append(entry)
    return out


def write_json(entries: List[dict], path: str):
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(entries, f)


@METRICS.register_module()
class CocoDetMetric(BaseMetric):
    """The standard COCO table per iou type: ``coco/bbox_mAP``, ``coco/bbox_mAP_50``, ...
    ``coco/bbox_AR_l@100`` (12 numbers; the same with ``segm_`` for masks).

    Args:
        ann_file (str, optional): ground-truth COCO json; default: the dataset's.
        metric (str | list): ``'bbox'`` and/or ``'segm'`` (Mask R-CNN).
        results_file (str, optional): write the box results (COCO results format) here;
            ``tools/test.py --out dets.json`` sets it.
        outfile_prefix (str, optional): write ``<prefix>.bbox.json`` (and ``.segm.json``).
        format_only (bool): only write the results (e.g. test-dev), no evaluation.
    """

    default_prefix = 'coco'

    def __init__(self, ann_file: Optional[str] = None, metric='bbox',
                 results_file: Optional[str] = None, outfile_prefix: Optional[str] = None,
                 format_only: bool = False, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.metrics = [metric] if isinstance(metric, str) else list(metric)
        unknown = [m for m in self.metrics if m not in IOU_TYPES]
        if unknown:
            raise ValueError(f'CocoDetMetric metric must be among {IOU_TYPES}, got {unknown}')
        if format_only and not (outfile_prefix or results_file):
            raise ValueError('CocoDetMetric format_only=True needs outfile_prefix or '
                             'results_file to write the results')
        self.ann_file = ann_file
        self.results_file = results_file
        self.outfile_prefix = outfile_prefix
        self.format_only = format_only

    def process(self, data_batch, data_samples: Sequence) -> None:
        from pycocotools import mask as mask_utils
        for sample in data_samples:
            pred = _get(sample, 'pred_instances')
            res = dict(img_id=int(_get(sample, 'img_id')),
                       bboxes=_numpy(_get(pred, 'bboxes')).reshape(-1, 4),
                       scores=_numpy(_get(pred, 'scores')).reshape(-1),
                       labels=_numpy(_get(pred, 'labels')).reshape(-1))
            if 'segm' in self.metrics:
                masks = _numpy(_get(pred, 'masks')).astype(np.uint8)
                rles = mask_utils.encode(np.asfortranarray(masks.transpose(1, 2, 0))) \
                    if len(masks) else []
                res['masks'] = [dict(size=r['size'], counts=r['counts'].decode()) for r in rles]
            self.results.append(res)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        from hrnet_tasks.datasets.base import load_coco
        logger = MMLogger.get_current_instance()
        by_id = {}
        for res in results:
            by_id.setdefault(res['img_id'], res)
        results = [by_id[k] for k in sorted(by_id)]
        meta = self.dataset_meta or {}
        ann_file = self.ann_file or meta.get('ann_file')
        gt = load_coco(ann_file, 'CocoDetMetric reads the ground truth from it') \
            if ann_file else None
        cat_ids = meta.get('cat_ids') or (sorted(gt.getCatIds()) if gt is not None else None)
        if cat_ids is None:
            raise ValueError('CocoDetMetric needs ann_file (or a dataset that provides it) '
                             'to map labels back to COCO category ids')
        dets = {t: coco_det_results(results, cat_ids, t) for t in self.metrics}
        if self.results_file:
            write_json(dets['bbox'] if 'bbox' in dets else dets[self.metrics[0]],
                       self.results_file)
            logger.info(f'wrote {len(dets.get("bbox", []))} detections of {len(results)} '
                        f'images to {self.results_file} (COCO results format)')
        if self.outfile_prefix:
            for iou_type, entries in dets.items():
                write_json(entries, f'{self.outfile_prefix}.{iou_type}.json')
        if self.format_only:
            return {}
        if gt is None:
            raise ValueError('CocoDetMetric needs ann_file (or a dataset that provides it)')
        return {k: v for t in self.metrics
                for k, v in self.evaluate_type(gt, dets[t], t, sorted(by_id), cat_ids).items()}

    @staticmethod
    def evaluate_type(gt, dets: List[dict], iou_type: str, img_ids: List[int],
                      cat_ids: Sequence[int]) -> Dict[str, float]:
        import contextlib
        import io

        from pycocotools.cocoeval import COCOeval
        logger = MMLogger.get_current_instance()
        names = [f'{iou_type}_{n}' for n in STAT_NAMES]
        if not dets:
            logger.warning(f'COCO {iou_type} evaluation on {len(img_ids)} images: nothing '
                           'detected on any of them, AP = 0')
            return {n: 0.0 for n in names}
        with contextlib.redirect_stdout(io.StringIO()):
            dt = gt.loadRes(dets)
        coco_eval = COCOeval(gt, dt, iou_type)
        coco_eval.params.imgIds = list(img_ids)
        coco_eval.params.catIds = list(cat_ids)  # only the classes the dataset kept
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            coco_eval.evaluate()
            coco_eval.accumulate()
            coco_eval.summarize()
        logger.info(f'COCO {iou_type} evaluation on {len(img_ids)} images, '
                    f'{len(cat_ids)} categories:\n{buf.getvalue()}')
        return {n: float(v) for n, v in zip(names, coco_eval.stats)}
