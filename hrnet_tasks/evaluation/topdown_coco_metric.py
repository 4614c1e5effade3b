"""COCO keypoint AP of top-down predictions: one result per box, many per image.

Per image, as the official ``coco.py::evaluate`` (and mmpose ``CocoMetric``):

1. rescoring: instance score = box score x mean of the joint scores above
   ``keypoint_score_thr`` (0.2; 0 when none is);
2. OKS-NMS at ``nms_thr`` (0.9): greedy, best first, a candidate is dropped when its OKS
   with a kept one is above the threshold; ``nms_mode='soft_oks_nms'`` rescores the others
   by exp(-OKS^2 / thr) after each pick instead and keeps at most 20; the area of an
   instance is its padded, aspect-fitted crop box (``input_scale`` w x h);
3. ``COCOeval`` over every image of the GT file (an image without any kept person counts
   as a miss), through :class:`CocoKeypointMetric`.
"""
from typing import Sequence

import numpy as np

from hrnet_tasks.evaluation.coco_keypoint_metric import CocoKeypointMetric
from hrnet_tasks.registry import METRICS

NMS_MODES = ('oks_nms', 'soft_oks_nms', 'none')


def oks(ref: np.ndarray, others: np.ndarray, ref_area: float, other_areas: np.ndarray,
        sigmas: Sequence[float]) -> np.ndarray:
    """Object keypoint similarity of pose ``ref`` (K, 2) with each of ``others`` (M, K, 2):
    the mean over all K joints of exp(-d^2 / (2 (2 sigma)^2 s)) with s the mean of the two
    areas (the official ``oks_iou``, no visibility filter)."""
    variances = (2 * np.asarray(sigmas, np.float64))**2
    d2 = ((np.asarray(others, np.float64) - np.asarray(ref, np.float64))**2).sum(-1)
    scale = (ref_area + np.asarray(other_areas, np.float64))[:, None] / 2 + np.spacing(1)
    return np.exp(-d2 / variances / scale / 2).mean(-1)


def oks_nms(keypoints: np.ndarray, scores: np.ndarray, areas: np.ndarray,
            sigmas: Sequence[float], thr: float = 0.9) -> list:
    """Indices kept by greedy OKS-NMS: best score first, others with OKS > ``thr`` dropped."""
    order = np.argsort(-np.asarray(scores), kind='stable')
    keep = []
    while len(order):
        best, rest = order[0], order[1:]
        keep.append(int(best))
        overlap = oks(keypoints[best], keypoints[rest], areas[best], areas[rest], sigmas)
        order = rest[overlap <= thr]
    return keep


def soft_oks_nms(keypoints: np.ndarray, scores: np.ndarray, areas: np.ndarray,
                 sigmas: Sequence[float], thr: float = 0.9, max_keep: int = 20) -> list:
    """Indices kept by Gaussian soft OKS-NMS (the official ``SOFT_NMS``): after each pick
    the others' scores decay by exp(-OKS^2 / ``thr``) and are re-sorted; at most
    ``max_keep``. The kept instances keep their original scores."""
    order = np.argsort(-np.asarray(scores), kind='stable')
    current = np.asarray(scores, np.float64)[order]
    keep = []
    while len(order) and len(keep) < max_keep:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        overlap = oks(keypoints[best], keypoints[rest], areas[best], areas[rest], sigmas)
        current = current[1:] * np.exp(-overlap**2 / thr)
        resort = np.argsort(-current, kind='stable')
        order, current = rest[resort], current[resort]
    return keep


def rescore(box_scores: np.ndarray, keypoint_scores: np.ndarray, thr: float) -> np.ndarray:
    """box score x the mean of each instance's joint scores above ``thr`` (0 if none)."""
    above = keypoint_scores > thr
    count = above.sum(-1)
    mean = np.where(count > 0, (keypoint_scores * above).sum(-1) / np.maximum(count, 1), 0)
    return np.asarray(box_scores, np.float64) * mean


@METRICS.register_module()
class TopdownCocoMetric(CocoKeypointMetric):
    """COCO keypoint AP of per-instance (top-down) predictions (``coco/AP`` ...).

    Args:
        score_mode (str): ``'bbox_keypoint'`` (box score x mean joint score above
            ``keypoint_score_thr``, official), ``'bbox'`` (box score) or ``'keypoint'``
            (mean joint score above the threshold).
        keypoint_score_thr (float): official ``IN_VIS_THRE`` 0.2.
        nms_mode (str): ``'oks_nms'`` (official), ``'soft_oks_nms'`` or ``'none'``.
        nms_thr (float): official ``OKS_THRE`` 0.9.
        ann_file, outfile_prefix, format_only, pred_prefix: as ``CocoKeypointMetric``.
    """

    def __init__(self,
                 score_mode: str = 'bbox_keypoint',
                 keypoint_score_thr: float = 0.2,
                 nms_mode: str = 'oks_nms',
                 nms_thr: float = 0.9,
                 **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ('bbox_keypoint', 'bbox', 'keypoint'):
            raise ValueError(f"TopdownCocoMetric: score_mode must be 'bbox_keypoint', 'bbox' "
                             f"or 'keypoint', got {score_mode!r}")
        if nms_mode not in NMS_MODES:
            raise ValueError(f'TopdownCocoMetric: nms_mode must be one of {NMS_MODES}, got '
                             f'{nms_mode!r}')
        self.score_mode = score_mode
        self.keypoint_score_thr = keypoint_score_thr
        self.nms_mode = nms_mode
        self.nms_thr = nms_thr

    def process(self, data_batch, data_samples: Sequence[dict]):
        for sample in data_samples:
            kpts, kscores, box_score = self.predictions(sample)
            scale = sample.get('input_scale')
            if scale is None:
                box = np.asarray(sample['bbox'], np.float64).reshape(4)
                scale = box[2:] - box[:2]
            self.results.append(dict(
                img_id=int(sample['img_id']),
                key=(int(sample['img_id']), int(sample.get('id', -1)),
                     tuple(np.round(np.asarray(sample['bbox'], np.float64).reshape(-1), 3))),
                keypoints=kpts.reshape(-1, 2), keypoint_scores=kscores.reshape(-1),
                box_score=float(box_score[0]), area=float(np.prod(scale))))

    def image_results(self, results: list) -> dict:
        """Per image: its instances (padded copies dropped), rescored, then OKS-NMS."""
        unique = {}
        for res in results:
            unique.setdefault(res['key'], res)
        per_image = {}
        for res in unique.values():
            per_image.setdefault(res['img_id'], []).append(res)
        sigmas = (self.dataset_meta or {}).get('sigmas')
        out = {}
        for img_id, items in per_image.items():
            kpts = np.stack([r['keypoints'] for r in items])
            kscores = np.stack([r['keypoint_scores'] for r in items])
            boxes = np.array([r['box_score'] for r in items])
            areas = np.array([r['area'] for r in items])
            if self.score_mode == 'bbox':
                scores = boxes
            else:
                scores = rescore(boxes if self.score_mode == 'bbox_keypoint' else
                                 np.ones_like(boxes), kscores, self.keypoint_score_thr)
            keep = list(range(len(items)))
            if self.nms_mode != 'none':
                if sigmas is None:
                    raise ValueError('TopdownCocoMetric: OKS-NMS needs the keypoint sigmas in '
                                     "the dataset metainfo ('sigmas'), or nms_mode='none'")
                nms = oks_nms if self.nms_mode == 'oks_nms' else soft_oks_nms
                keep = nms(kpts, scores, areas, sigmas, self.nms_thr)
            out[img_id] = dict(img_id=img_id, keypoints=kpts[keep], keypoint_scores=kscores[keep],
                               scores=scores[keep].astype(np.float32))
        return out

    def eval_image_ids(self, gt, by_id: dict) -> list:
        """Every image of the GT file, as the official evaluation: an image whose people
        were not detected (no box) counts as a miss."""
        return sorted(gt.getImgIds())


def instance_score(box_score: float, keypoint_scores: np.ndarray, thr: float = 0.2) -> float:
    """The official instance score of one prediction (what ``TopdownCocoMetric`` ranks
    by; the inference API reports it)."""
    return float(rescore(np.asarray([box_score]), np.asarray(keypoint_scores).reshape(1, -1),
                         thr)[0])
