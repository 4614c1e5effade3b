"""HigherHRNet losses: masked heatmap MSE and the associative-embedding pull/push loss."""
import torch
import torch.nn as nn

from hrnet_tasks.registry import MODELS


@MODELS.register_module()
class MaskedHeatmapMSELoss(nn.Module):
    """Per image: mean over (K, H, W) of ``mask * (pred - gt)^2`` (masked pixels stay in
    the denominator, as in the official code); then the batch mean, times ``loss_weight``."""

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if mask.dim() == 3:
            mask = mask[:, None]
        per_image = ((pred - gt)**2 * mask).flatten(1).mean(dim=1)
        return per_image.mean() * self.loss_weight


@MODELS.register_module()
class AssociativeEmbeddingLoss(nn.Module):
    """Pull/push loss on 1-D per-joint tags (Newell et al.), HigherHRNet form.

    Per image, for the N people with at least one valid joint: ``pull = mean_n
    mean_j (t_nj - h_n)^2`` with the person's mean tag ``h_n`` (not detached);
    ``push = 0.5 * sum_{n != m} f(h_n - h_m) / (N (N - 1))`` with ``f = exp(-d^2)``
    ('exp') or ``max(0, 1 - |d|)`` ('max'). N = 0 gives zeros, N = 1 no push.
    Both are averaged over the batch and scaled by their weights. Always computed
    in float32, also under autocast (half-precision tags give NaNs).

    Args:
        push_type (str): 'exp' (HigherHRNet) or 'max'.
        push_weight, pull_weight (float): 1e-3 each in HigherHRNet.
    """

    def __init__(self,
                 push_type: str = 'exp',
                 push_weight: float = 1e-3,
                 pull_weight: float = 1e-3):
        super().__init__()
        if push_type not in ('exp', 'max'):
            raise ValueError(f"push_type must be 'exp' or 'max', got {push_type!r}")
        self.push_type = push_type
        self.push_weight = push_weight
        self.pull_weight = pull_weight

    def _single(self, tags: torch.Tensor, joints: torch.Tensor):
        idx, valid = joints[..., 0].long(), joints[..., 1] > 0  # (P, K)
        keep = valid.any(dim=1)
        idx, valid = idx[keep], valid[keep].float()
        zero = tags.sum() * 0
        num = idx.shape[0]
        if num == 0:
            return zero, zero
        t = tags[idx]  # (N, K)
        cnt = valid.sum(dim=1)
        mean = (t * valid).sum(dim=1) / cnt
        pull = (((t - mean[:, None])**2 * valid).sum(dim=1) / cnt).mean()
        if num < 2:
            return zero, pull
        diff = mean[:, None] - mean[None, :]
        if self.push_type == 'exp':
            f = torch.exp(-diff**2)
        else:
            f = torch.clamp(1 - diff.abs(), min=0)
        off_diag = f.sum() - f.diagonal().sum()
        push = 0.5 * off_diag / (num * (num - 1))
        return push, pull

    def forward(self, tags: torch.Tensor, joints: torch.Tensor):
        """tags: (B, K, H, W) or (B, K*H*W); joints: (B, P, K, 2) int (flat index, valid).

        Returns (push, pull), weighted and batch-averaged, float32.
        """
        with torch.autocast(device_type=tags.device.type, enabled=False):
            tags = tags.float().reshape(tags.shape[0], -1)
            pushes, pulls = zip(*(self._single(t, j) for t, j in zip(tags, joints)))
            push = torch.stack(pushes).mean() * self.push_weight
            pull = torch.stack(pulls).mean() * self.pull_weight
        return push, pull
