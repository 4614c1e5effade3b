"""Facial-landmark accuracy as the face-alignment papers report it: NME, failure rates, AUC.

Per face, NME = mean over the K points of ||pred_k - gt_k|| / norm, where norm is the
distance between two GT points (WFLW 60-72, 300W 36-45, COFW 8-9, the outer eye corners
for the first two) or the face's ``box_size`` (AFLW); the set's choice is the metainfo
``nme_norm``. Like the official evaluation (``compute_nme``), every point counts, labelled
visible or not; ``use_visibility=True`` averages over the visible points only, as mmpose's
``NME`` does.

Reported (``face/`` prefix): ``NME`` (mean over faces, in percent, as the official tables),
``FR@<t>`` (percent of faces whose NME exceeds t, official thresholds 0.08 and 0.10) and
``AUC@<t>`` (area under the cumulative NME curve on [0, t], divided by t: a fraction in
[0, 1], as the WFLW papers write it).
"""
from typing import Optional, Sequence, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from hrnet_tasks.registry import METRICS


def _array(value) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value, np.float64)


def face_nme(pred: np.ndarray, gt: np.ndarray, norm: float,
             visible: Optional[np.ndarray] = None) -> float:
    """NME of one face: mean point error (over ``visible`` points when given) / ``norm``."""
    err = np.linalg.norm(pred - gt, axis=-1)
    if visible is not None:
        err = err[visible > 0]
    return float(err.mean() / norm) if err.size else float('nan')


def failure_rate(nmes: np.ndarray, threshold: float) -> float:
    """Fraction of faces whose NME is above ``threshold``."""
    return float((nmes > threshold).mean())


def auc(nmes: np.ndarray, threshold: float) -> float:
    """Area under the cumulative error distribution F(t) = P(NME <= t) on [0, threshold],
    divided by ``threshold``. The integral of a step function is exact:
    (1/threshold) * integral of F = mean(max(0, 1 - nme / threshold))."""
    return float(np.clip(1 - nmes / threshold, 0, None).mean())


@METRICS.register_module()
class NMEMetric(BaseMetric):
    """NME (%), FR@thresholds (%) and AUC@threshold of facial landmarks.

    Args:
        norm (list | str, optional): two point indices whose GT distance normalises, or
            ``'box_size'`` (the sample's ``box_size``); default: the dataset metainfo
            ``nme_norm``.
        use_visibility (bool): average over visible points only (mmpose); default all
            points (official).
        failure_thresholds (sequence of float): NME thresholds of the failure rates.
        auc_threshold (float): upper end of the AUC integral.
        pred_prefix (str): prefix of the prediction fields (``<prefix>pred_keypoints``).
    """

    default_prefix = 'face'

    def __init__(self,
                 norm: Union[Sequence[int], str, None] = None,
                 use_visibility: bool = False,
                 failure_thresholds: Sequence[float] = (0.08, 0.10),
                 auc_threshold: float = 0.1,
                 pred_prefix: str = '',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if norm is not None:
            self._check_norm(norm, 'NMEMetric(norm=...)')
        self.norm = norm
        self.use_visibility = use_visibility
        self.failure_thresholds = tuple(failure_thresholds)
        self.auc_threshold = auc_threshold
        self.pred_prefix = pred_prefix

    @staticmethod
    def _check_norm(norm, where: str):
        if norm == 'box_size' or (not isinstance(norm, str) and len(norm) == 2):
            return
        raise ValueError(f"{where}: the NME normaliser must be two point indices or 'box_size', "
                         f'got {norm!r}')

    def _norm_spec(self):
        norm = self.norm
        if norm is None:
            norm = (self.dataset_meta or {}).get('nme_norm')
            if norm is None:
                raise ValueError('NMEMetric: the dataset metainfo has no `nme_norm`; set '
                                 "NMEMetric(norm=[i, j]) or norm='box_size'")
            self._check_norm(norm, 'dataset metainfo nme_norm')
        return norm

    def process(self, data_batch, data_samples: Sequence[dict]):
        norm_spec = self._norm_spec()
        key = f'{self.pred_prefix}pred_keypoints'
        for sample in data_samples:
            if key not in sample:
                raise KeyError(f'NMEMetric: the prediction has no {key!r} field (fields: '
                               f'{", ".join(sorted(sample))}); set pred_prefix to match the head')
            gt = _array(sample['gt_keypoints']).reshape(-1, 2)
            pred = _array(sample[key]).reshape(-1, 2)
            if pred.shape != gt.shape:
                raise ValueError(f'NMEMetric: {len(pred)} predicted points for {len(gt)} GT '
                                 f'points (sample {sample.get("id")})')
            if norm_spec == 'box_size':
                norm = float(sample['box_size'])
            else:
                norm = float(np.linalg.norm(gt[norm_spec[0]] - gt[norm_spec[1]]))
            if not norm > 0:
                raise ValueError(f'NMEMetric: normaliser {norm} for face {sample.get("id")} of '
                                 f'{sample.get("img_path")} ({norm_spec}); it must be positive')
            visible = _array(sample['gt_keypoints_visible']).reshape(-1) \
                if self.use_visibility else None
            self.results.append(dict(id=sample.get('id'), nme=face_nme(pred, gt, norm, visible)))

    def compute_metrics(self, results: list) -> dict:
        nmes = np.array([r['nme'] for r in results], np.float64)
        nmes = nmes[np.isfinite(nmes)]  # faces with no visible point (use_visibility)
        if not nmes.size:
            raise ValueError('NMEMetric: no face to evaluate')
        out = {'NME': 100 * float(nmes.mean())}
        for t in self.failure_thresholds:
            out[f'FR@{t:g}'] = 100 * failure_rate(nmes, t)
        out[f'AUC@{self.auc_threshold:g}'] = auc(nmes, self.auc_threshold)
        MMLogger.get_current_instance().info(
            f'NME evaluation on {nmes.size} faces: NME {out["NME"]:.3f} %, ' +
            ', '.join(f'{k} {v:.2f} %' for k, v in out.items() if k.startswith('FR')) +
            f', AUC@{self.auc_threshold:g} {out[f"AUC@{self.auc_threshold:g}"]:.4f}')
        return out
