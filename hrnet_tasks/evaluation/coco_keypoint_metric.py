"""COCO keypoint AP with pycocotools ``COCOeval(iouType='keypoints')``.

A ``BaseMetric``: every rank keeps its own predictions and mmengine gathers them
(dropping the sampler's padding), so each image is counted once under ``--dist``;
duplicates by image id are removed again before evaluation.
"""
import contextlib
import io
import json
import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from hrnet_tasks.registry import METRICS

STAT_NAMES = ('AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR', 'AR .5', 'AR .75', 'AR (M)',
              'AR (L)')


def coco_results(results: Sequence[dict], category_id: int = 1) -> List[dict]:
    """Predictions as COCO keypoint result entries (x, y, score per joint; person score)."""
    out = []
    for res in results:
        kpts, kscores, scores = res['keypoints'], res['keypoint_scores'], res['scores']
        for p in range(len(scores)):
            triplets = np.concatenate([kpts[p], kscores[p][:, None]], axis=1).reshape(-1)
            out.append(
                dict(image_id=int(res['img_id']),
                     category_id=category_id,
                     keypoints=[float(v) for v in triplets],
                     score=float(scores[p])))
    return out


@METRICS.register_module()
class CocoKeypointMetric(BaseMetric):
    """Standard COCO keypoint table (``coco/AP``, ``coco/AP .5``, ... ``coco/AR (L)``).

    Args:
        ann_file (str, optional): ground-truth COCO json; default: the dataset's
            (``dataset_meta['ann_file']``).
        outfile_prefix (str, optional): write ``<prefix>.keypoints.json`` (COCO results format).
        format_only (bool): only dump the results (e.g. test-dev), no evaluation.
        pred_prefix (str): read the fields ``<pred_prefix>pred_keypoints`` etc., those of
            a head with that ``pred_prefix`` (two pose heads in one model).

    Subclasses change what one result is (:meth:`process`) and how results become the
    people of each image (:meth:`image_results`) and which images are scored
    (:meth:`eval_image_ids`); the COCO evaluation is this class's.
    """

    default_prefix = 'coco'
    best_rule = 'greater'  # every AP / AR (save_best, hrnet_tasks.engine.CheckpointHook)

    def __init__(self,
                 ann_file: Optional[str] = None,
                 outfile_prefix: Optional[str] = None,
                 format_only: bool = False,
                 pred_prefix: str = '',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.pred_prefix = pred_prefix
        self.ann_file = ann_file
        self.outfile_prefix = outfile_prefix
        self.format_only = format_only
        if format_only and not outfile_prefix:
            raise ValueError('format_only=True needs outfile_prefix to write the results')

    def predictions(self, sample: dict):
        """(keypoints, keypoint scores, scores) of a sample, read with ``pred_prefix``."""
        p = self.pred_prefix
        return (np.asarray(sample[f'{p}pred_keypoints'], np.float32),
                np.asarray(sample[f'{p}pred_keypoint_scores'], np.float32),
                np.asarray(sample[f'{p}pred_scores'], np.float32).reshape(-1))

    def process(self, data_batch, data_samples: Sequence[dict]):
        for sample in data_samples:
            kpts, kscores, scores = self.predictions(sample)
            num = len(scores)
            k = kpts.size // (2 * num) if num else 0
            self.results.append(
                dict(img_id=int(sample['img_id']),
                     keypoints=kpts.reshape(num, k, 2),
                     keypoint_scores=kscores.reshape(num, k),
                     scores=scores))

    def image_results(self, results: list) -> dict:
        """img_id -> that image's people (``keypoints`` (P, K, 2), ``keypoint_scores``,
        ``scores``): one result per image, duplicates (padded copies) dropped."""
        by_id = {}
        for res in results:
            by_id.setdefault(res['img_id'], res)
        return by_id

    def eval_image_ids(self, gt, by_id: dict) -> list:
        """The images COCOeval scores: those with a result (each image gives one)."""
        return sorted(by_id)

    def compute_metrics(self, results: list) -> dict:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
        logger = MMLogger.get_current_instance()
        by_id = self.image_results(results)
        results = [by_id[k] for k in sorted(by_id)]
        meta = self.dataset_meta or {}
        ann_file = self.ann_file or meta.get('ann_file')
        with contextlib.redirect_stdout(io.StringIO()):
            gt = COCO(ann_file) if ann_file else None
        cat_id = gt.getCatIds()[0] if gt is not None and gt.getCatIds() else 1
        dets = coco_results(results, cat_id)
        if self.outfile_prefix:
            path = f'{self.outfile_prefix}.keypoints.json'
            os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
            with open(path, 'w') as f:
                json.dump(dets, f)
            logger.info(f'wrote {len(dets)} detections to {path}')
        if self.format_only:
            return {}
        if gt is None:
            raise ValueError('CocoKeypointMetric needs ann_file (or a dataset that provides it)')
        names = [f'{n}' for n in STAT_NAMES]
        img_ids = self.eval_image_ids(gt, by_id)
        if not dets:
            logger.warning(f'COCO keypoint evaluation on {len(img_ids)} images: no person '
                           'detected on any of them, AP = 0')
            return {n: 0.0 for n in names}
        with contextlib.redirect_stdout(io.StringIO()):
            dt = gt.loadRes(dets)
        coco_eval = COCOeval(gt, dt, 'keypoints')
        coco_eval.params.useSegm = None
        coco_eval.params.imgIds = img_ids
        if meta.get('sigmas') is not None:
            coco_eval.params.kpt_oks_sigmas = np.asarray(meta['sigmas'], np.float64)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            coco_eval.evaluate()
            coco_eval.accumulate()
            coco_eval.summarize()
        logger.info(f'COCO keypoint evaluation on {len(img_ids)} images:\n{buf.getvalue()}')
        return {n: float(v) for n, v in zip(names, coco_eval.stats)}
