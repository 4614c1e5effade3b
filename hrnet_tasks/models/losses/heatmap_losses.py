"""Top-down heatmap loss: MSE weighted by the per-joint target weight."""
from typing import Optional

import torch
import torch.nn as nn

from hrnet_tasks.registry import MODELS


@MODELS.register_module()
class KeypointMSELoss(nn.Module):
    """``loss_weight * mean over (B, K, H, W) of (w P - w G)^2`` with the per-joint target
    weights ``w`` (B, K) (``use_target_weight``), else the plain mean of (P - G)^2.

    The official top-down ``JointsMSELoss`` is this with ``loss_weight=0.5`` (it halves the
    mean; the pose configs use 0.5, so logged losses match official logs); mmpose's
    ``KeypointMSELoss`` is ``loss_weight=1`` (for 0/1 weights exactly 2x the official value
    and gradients). The official face loss is ``use_target_weight=False, loss_weight=1``.
    Computed in float32 (also under autocast).
    """

    def __init__(self, use_target_weight: bool = True, loss_weight: float = 0.5):
        super().__init__()
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                target_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        pred, target = pred.float(), target.float()
        if self.use_target_weight:
            if target_weight is None:
                raise ValueError('KeypointMSELoss(use_target_weight=True) needs the target '
                                 'weights (B, K)')
            w = target_weight.float().reshape(*pred.shape[:2], 1, 1)
            pred, target = pred * w, target * w
        return ((pred - target)**2).mean() * self.loss_weight
