"""Pixel-wise segmentation losses: cross-entropy with ignore index and class
weights, and the official HRNet-Semantic-Segmentation OHEM variant.

Reductions:

* ``avg_non_ignore=True`` (default, the official / PyTorch 'mean'): the sum of
  ``w_y * ce`` over non-ignored pixels divided by the sum of their ``w_y``.
  An all-ignore batch gives 0 (PyTorch would give NaN; we guard it).
* ``avg_non_ignore=False`` (mmseg's default): the sum divided by *all* pixels,
  ignored ones included.

OHEM (official ``OhemCrossEntropy``): among non-ignored pixels, with ``p`` the
softmax probability of the ground-truth class, keep those with
``p < max(thresh, p_sorted[min(min_kept, n - 1)])`` and take the unweighted mean
of their (class-weighted) per-pixel CE. ``min_kept`` is per forward call.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from hrnet_tasks.registry import MODELS

# Official Cityscapes class weights (trainId order), used with and without OCR.
CITYSCAPES_CLASS_WEIGHTS = (0.8373, 0.918, 0.866, 1.0345, 1.0166, 0.9969, 0.9754, 1.0489, 0.8786,
                            1.0023, 0.9539, 0.9843, 1.1116, 0.9037, 1.0865, 1.0955, 1.0865, 1.1529,
                            1.0507)


def _weights(class_weight, logits: torch.Tensor) -> Optional[torch.Tensor]:
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        if class_weight != 'cityscapes':
            raise ValueError(f"class_weight: unknown preset {class_weight!r}; use 'cityscapes' "
                             'or a list of per-class weights')
        class_weight = CITYSCAPES_CLASS_WEIGHTS
    weight = torch.as_tensor(class_weight, dtype=torch.float32, device=logits.device)
    if weight.numel() != logits.shape[1]:
        raise ValueError(f'class_weight has {weight.numel()} entries, the logits '
                         f'{logits.shape[1]} classes')
    return weight


@MODELS.register_module()
class PixelCrossEntropyLoss(nn.Module):
    """Per-pixel softmax cross-entropy.

    Args:
        class_weight: ``None``, a list of K weights, or ``'cityscapes'`` (the
            official 19 weights).
        ignore_index (int): label value that never contributes (255).
        avg_non_ignore (bool): see the module doc.
        loss_weight (float): multiplier (0.4 for the OCR auxiliary head).
        loss_name (str): key in the loss dict (must contain ``loss``).
    """

    def __init__(self, class_weight=None, ignore_index: int = 255, avg_non_ignore: bool = True,
                 loss_weight: float = 1.0, loss_name: str = 'loss_ce'):
        super().__init__()
        if isinstance(class_weight, Sequence) and not isinstance(class_weight, str):
            class_weight = tuple(float(w) for w in class_weight)
        self.class_weight = class_weight
        self.ignore_index = ignore_index
        self.avg_non_ignore = avg_non_ignore
        self.loss_weight = loss_weight
        self.loss_name = loss_name

    def pixel_losses(self, logits: torch.Tensor, labels: torch.Tensor):
        """(per-pixel weighted CE with 0 at ignored pixels, per-pixel weight, valid mask)."""
        logits = logits.float()
        labels = labels.long()
        valid = labels != self.ignore_index
        weight = _weights(self.class_weight, logits)
        ce = F.cross_entropy(logits, labels, weight=weight, ignore_index=self.ignore_index,
                             reduction='none')
        if weight is None:
            w = valid.to(ce.dtype)
        else:
            w = weight[labels.clamp(0, logits.shape[1] - 1)] * valid
        return ce, w, valid

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        ce, w, valid = self.pixel_losses(logits, labels)
        if self.avg_non_ignore:
            loss = ce.sum() / w.sum().clamp(min=1e-12) if valid.any() else ce.sum() * 0
        else:
            loss = ce.sum() / max(ce.numel(), 1)
        return self.loss_weight * loss


@MODELS.register_module()
class OhemPixelCrossEntropyLoss(PixelCrossEntropyLoss):
    """Official online hard example mining CE (thresh 0.9, min_kept 131072)."""

    def __init__(self, thresh: float = 0.9, min_kept: int = 131072, **kwargs):
        super().__init__(**kwargs)
        self.thresh = float(thresh)
        self.min_kept = max(1, int(min_kept))

    def keep_mask(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Boolean mask of the kept pixels (exactly the official rule)."""
        with torch.no_grad():
            labels = labels.long()
            valid = labels != self.ignore_index
            prob = F.softmax(logits.float(), dim=1)
            gt = prob.gather(1, labels.clamp(0, logits.shape[1] - 1).unsqueeze(1)).squeeze(1)
            valid_prob = gt[valid]
            if valid_prob.numel() == 0:
                return valid
            ordered = valid_prob.sort()[0]
            kth = ordered[min(self.min_kept, ordered.numel() - 1)]
            threshold = max(kth.item(), self.thresh)
            return valid & (gt < threshold)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        ce, _, _ = self.pixel_losses(logits, labels)
        keep = self.keep_mask(logits, labels)
        if not keep.any():
            return ce.sum() * 0
        return self.loss_weight * ce[keep].mean()
