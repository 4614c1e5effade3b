"""PCK and end-point error for keypoint sets without COCO sigmas (custom sets, faces)."""
from typing import Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from hrnet_tasks.registry import METRICS

NORM_ITEMS = ('bbox', 'input_size', 'none')


def pck_epe(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, norm: np.ndarray,
            thr: float):
    """(PCK, EPE, joints counted) over visible joints: PCK = the fraction with distance /
    ``norm`` <= ``thr``; EPE = the mean distance in pixels. ``pred``, ``gt`` (N, K, 2),
    ``visible`` (N, K), ``norm`` (N,) in pixels."""
    dist = np.linalg.norm(np.asarray(pred, np.float64) - gt, axis=-1)
    mask = np.asarray(visible) > 0
    if not mask.any():
        return 0.0, 0.0, 0
    ratio = dist / np.maximum(np.asarray(norm, np.float64)[:, None], np.spacing(1))
    return float((ratio[mask] <= thr).mean()), float(dist[mask].mean()), int(mask.sum())


@METRICS.register_module()
class PCKAccuracy(BaseMetric):
    """``PCK`` (percentage of correct keypoints) and ``EPE`` (mean end-point error, image
    pixels) of per-instance predictions against the samples' ``gt_keypoints``.

    A joint counts when its GT is visible; it is correct when its distance is at most
    ``thr`` x the norm: ``norm_item='bbox'`` the longer side of the instance's box
    (mmpose's default), ``'input_size'`` the longer side of the crop box
    (``input_scale``), ``'none'`` 1 (``thr`` in pixels).

    Args:
        thr (float): threshold relative to the norm (default 0.05).
        norm_item (str): ``'bbox'``, ``'input_size'`` or ``'none'``.
        pred_prefix (str): read ``<pred_prefix>pred_keypoints`` (see ``BaseHead``).
    """

    default_prefix = 'pck'
    best_rule = 'greater'

    def __init__(self, thr: float = 0.05, norm_item: str = 'bbox', pred_prefix: str = '',
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if norm_item not in NORM_ITEMS:
            raise ValueError(f'PCKAccuracy: norm_item must be one of {NORM_ITEMS}, got '
                             f'{norm_item!r}')
        self.thr = thr
        self.norm_item = norm_item
        self.pred_prefix = pred_prefix

    def _norm(self, sample: dict) -> float:
        if self.norm_item == 'none':
            return 1.0
        if self.norm_item == 'input_size':
            return float(np.max(sample['input_scale']))
        box = np.asarray(sample['bbox'], np.float64).reshape(4)
        return float(max(box[2] - box[0], box[3] - box[1]))

    def process(self, data_batch, data_samples: Sequence[dict]):
        for sample in data_samples:
            if 'gt_keypoints' not in sample:
                raise KeyError('PCKAccuracy needs gt_keypoints in the data samples '
                               '(PackTopdownInputs packs them when the sample has keypoints)')
            self.results.append(dict(
                pred=np.asarray(sample[f'{self.pred_prefix}pred_keypoints'],
                                np.float32).reshape(-1, 2),
                gt=np.asarray(sample['gt_keypoints'], np.float32).reshape(-1, 2),
                visible=np.asarray(sample['gt_keypoints_visible']).reshape(-1),
                norm=self._norm(sample)))

    def compute_metrics(self, results: list) -> dict:
        if not results:
            return dict(PCK=0.0, EPE=0.0)
        pck, epe, _ = pck_epe(np.stack([r['pred'] for r in results]),
                              np.stack([r['gt'] for r in results]),
                              np.stack([r['visible'] for r in results]),
                              np.array([r['norm'] for r in results]), self.thr)
        return dict(PCK=pck, EPE=epe)
