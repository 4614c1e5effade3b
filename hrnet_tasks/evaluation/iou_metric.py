"""Semantic segmentation metric: per-class IoU / Acc, mIoU, mAcc, aAcc.

Per image the four histograms (intersection, union, prediction, label areas)
are computed on the pixels whose ground truth is not ``ignore_index`` (the
prediction at ignored pixels never counts), then **summed over the whole
dataset** before dividing (never a mean of per-image IoUs). Results gathered by
mmengine's ``BaseMetric`` from every rank, so distributed evaluation gives the
single-process numbers.

Classes absent from both prediction and ground truth (union 0):

* ``absent='nan'`` (default, mmseg): their IoU is NaN and they are left out of
  the mean (nanmean); a class only predicted gets IoU 0 and counts.
* ``absent='zero'`` (official HRNet-Semantic-Segmentation): IoU 0 and the mean
  runs over all K classes.

On the full Cityscapes / ADE20K val sets every class occurs, so both agree.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log

from hrnet_tasks.registry import METRICS


def intersect_and_union(pred: torch.Tensor, label: torch.Tensor, num_classes: int,
                        ignore_index: int = 255):
    """Histograms (intersect, union, pred, label) of one image, each of length K."""
    pred = torch.as_tensor(pred).reshape(-1).long()
    label = torch.as_tensor(label).reshape(-1).long()
    if pred.shape != label.shape:
        raise ValueError(f'prediction has {pred.numel()} pixels, ground truth {label.numel()}')
    keep = label != ignore_index
    pred, label = pred[keep], label[keep]
    bad = (label < 0) | (label >= num_classes)
    if bad.any():
        raise ValueError(f'ground truth values {label[bad].unique()[:10].tolist()} outside '
                         f'0..{num_classes - 1} (ignore {ignore_index})')
    inside = (pred >= 0) & (pred < num_classes)
    area_pred = torch.bincount(pred[inside], minlength=num_classes)[:num_classes]
    area_label = torch.bincount(label, minlength=num_classes)
    hit = label[(pred == label)]
    area_intersect = torch.bincount(hit, minlength=num_classes)
    area_union = area_pred + area_label - area_intersect
    return area_intersect, area_union, area_pred, area_label


def summarize(intersect, union, label, absent: str = 'nan') -> Dict[str, np.ndarray]:
    """Per-class IoU/Acc (fractions) and the dataset summary (percent)."""
    intersect, union, label = (np.asarray(v, dtype=np.float64) for v in (intersect, union, label))
    with np.errstate(divide='ignore', invalid='ignore'):
        if absent == 'zero':
            iou = intersect / np.maximum(union, 1)
            acc = intersect / np.maximum(label, 1)
            miou, macc = iou.mean(), acc.mean()
        else:
            iou = np.where(union > 0, intersect / union, np.nan)
            acc = np.where(label > 0, intersect / label, np.nan)
            miou = np.nanmean(iou) if np.isfinite(iou).any() else np.nan
            macc = np.nanmean(acc) if np.isfinite(acc).any() else np.nan
        aacc = intersect.sum() / label.sum() if label.sum() > 0 else np.nan
    return dict(IoU=iou, Acc=acc, mIoU=miou * 100, mAcc=macc * 100, aAcc=aacc * 100)


@METRICS.register_module()
class IoUMetric(BaseMetric):
    """mIoU / mAcc / aAcc (percent, 2 decimals; key ``mIoU``) and a per-class table in the log.

    Args:
        ignore_index (int): ground-truth value that never counts (255).
        absent (str): ``'nan'`` (mmseg) or ``'zero'`` (official); see the module doc.
        num_classes (int): default: ``len(dataset_meta['classes'])``.
        per_class (bool): also return ``IoU.<class>`` keys.
    """
    default_prefix = ''
    best_rule = 'greater'  # IoU and Acc (save_best, hrnet_tasks.engine.CheckpointHook)

    def __init__(self, ignore_index: int = 255, absent: str = 'nan',
                 num_classes: Optional[int] = None, per_class: bool = False,
                 collect_device: str = 'cpu', prefix: Optional[str] = None, **kwargs):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if absent not in ('nan', 'zero'):
            raise ValueError(f"absent must be 'nan' (mmseg) or 'zero' (official), got {absent!r}")
        self.ignore_index = ignore_index
        self.absent = absent
        self._num_classes = num_classes
        self.per_class = per_class

    @property
    def num_classes(self) -> int:
        if self._num_classes is not None:
            return self._num_classes
        classes = (self.dataset_meta or {}).get('classes')
        if not classes:
            raise ValueError('IoUMetric: set num_classes or give the dataset classes')
        return len(classes)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = _pixel_data(sample, 'pred_sem_seg')
            label = _pixel_data(sample, 'gt_sem_seg')
            if pred.shape[-2:] != label.shape[-2:]:
                raise ValueError(f'prediction {tuple(pred.shape[-2:])} and ground truth '
                                 f'{tuple(label.shape[-2:])} differ in size for '
                                 f'{_get(sample, "img_path")}')
            self.results.append(tuple(v.cpu().numpy() for v in intersect_and_union(
                pred, label, self.num_classes, self.ignore_index)))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        totals = [np.sum([r[i] for r in results], axis=0) for i in range(4)]
        intersect, union, _, label = totals
        summary = summarize(intersect, union, label, self.absent)
        classes = (self.dataset_meta or {}).get('classes') or \
            [str(i) for i in range(self.num_classes)]
        self._log_table(classes, summary, union)
        metrics = OrderedDict((k, round(float(summary[k]), 2)) for k in ('aAcc', 'mIoU', 'mAcc'))
        if self.per_class:
            for name, iou in zip(classes, summary['IoU']):
                metrics[f'IoU.{name}'] = round(float(iou) * 100, 2)
        return metrics

    def _log_table(self, classes, summary, union):
        width = max(len('class'), *(len(str(c)) for c in classes))
        lines = [f'per-class results ({results_note(self.absent)})',
                 f'{"class":<{width}}  {"IoU":>6}  {"Acc":>6}']
        for name, iou, acc in zip(classes, summary['IoU'], summary['Acc']):
            fmt = lambda v: '   nan' if np.isnan(v) else f'{v * 100:6.2f}'  # noqa: E731
            lines.append(f'{str(name):<{width}}  {fmt(iou)}  {fmt(acc)}')
        absent = int((np.asarray(union) == 0).sum())
        lines.append(f'{absent} of {len(classes)} classes absent from both prediction and '
                     f'ground truth: ' + ('excluded from mIoU/mAcc (nanmean, mmseg)'
                                          if self.absent == 'nan' else
                                          'counted as 0 in mIoU/mAcc (official)'))
        print_log('\n'.join(lines), logger=MMLogger.get_current_instance())


def results_note(absent: str) -> str:
    return ('accumulated over the dataset; absent classes excluded' if absent == 'nan'
            else 'accumulated over the dataset; absent classes count as 0')


def _get(sample, key):
    return sample.get(key) if isinstance(sample, dict) else getattr(sample, key, None)


def _pixel_data(sample, key) -> torch.Tensor:
    value = _get(sample, key)
    if value is None:
        raise KeyError(f'IoUMetric: sample has no {key!r}')
    data = value['data'] if isinstance(value, dict) else getattr(value, 'data', value)
    return torch.as_tensor(data).squeeze()
