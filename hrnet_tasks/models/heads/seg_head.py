"""Base class of the segmentation heads (on the HRNetV2 ``'concat'`` output) and the
cascade that chains them (auxiliary FCN -> OCR).

Test time: every view's logits are brought to the view's input size, un-flipped,
cropped to each image's valid (unpadded) region and resized to its original size;
one view gives those logits, several are fused by averaging softmax
probabilities (``fusion='mmseg'``) or by summing ``exp`` of the flip-averaged
logits over scales (``fusion='official'``).
"""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.structures import PixelData

from hrnet_tasks.models.heads.base import BaseHead, View, resize
from hrnet_tasks.registry import MODELS


class BaseSegHead(BaseHead):
    """Loss, accuracy, test-time views and predictions shared by the segmentation heads.

    A subclass builds its layers, calls :meth:`build_loss` and implements
    ``forward(feats, prev_logits=None) -> logits`` at 1/4 resolution
    (``prev_logits``: the logits of the previous head of a :class:`SegHeadCascade`).
    It sets ``num_classes``, ``ignore_index`` and ``align_corners``.
    """

    backbone_output = 'concat'

    def build_loss(self, loss: Optional[dict]):
        loss = dict(loss or dict(type='PixelCrossEntropyLoss'))
        self.loss_decode = MODELS.build(loss)

    def seg_logits(self, feats) -> torch.Tensor:
        """The logits predictions are made from (the last stage of a cascade)."""
        return self.forward(feats)

    def loss_by_feat(self, logits: torch.Tensor, labels: torch.Tensor,
                     prefix: str = '') -> Dict[str, torch.Tensor]:
        """Logits (at 1/4) resized to the label size with the head's align_corners."""
        logits = resize(logits, labels.shape[-2:], self.align_corners)
        name = getattr(self.loss_decode, 'loss_name', 'loss_ce')
        losses = {prefix + name: self.loss_decode(logits, labels)}
        with torch.no_grad():
            valid = labels != self.ignore_index
            correct = (logits.argmax(1) == labels) & valid
            acc = correct.sum().float() / valid.sum().clamp(min=1).float() * 100
        losses[prefix + 'acc_seg'] = acc
        return losses

    def loss(self, feats, data_samples) -> Dict[str, torch.Tensor]:
        return self.loss_by_feat(self.forward(feats), stack_labels(data_samples))

    # ------------------------------------------------------------------ test time
    def test_views(self, test_cfg: Optional[dict]) -> List[View]:
        """``test_cfg.scales`` (ratios, ascending) x ``test_cfg.flip``."""
        test_cfg = test_cfg or {}
        scales = sorted(set(test_cfg.get('scales') or [1.0]))
        flips = [False, True] if test_cfg.get('flip') else [False]
        return [(s, f) for s in scales for f in flips]

    def predict(self, view_feats: Sequence, data_samples, test_cfg: dict):
        scores = self.fuse_views([self.seg_logits(f) for f in view_feats], data_samples,
                                 test_cfg)
        return set_seg_predictions(data_samples, scores, test_cfg)

    def fuse_views(self, view_logits: Sequence[torch.Tensor], data_samples,
                   test_cfg: Optional[dict]) -> List[torch.Tensor]:
        """Per image, K x H x W scores at ``ori_shape`` from the logits of each view of
        :meth:`test_views` (any resolution; the samples carry ``batch_input_shape``):
        logits for one view, fused probabilities (or sums of exp) for several."""
        test_cfg = test_cfg or {}
        views = self.test_views(test_cfg)
        batch = tuple(data_samples[0].metainfo['batch_input_shape'])
        outs = []
        for (scale, flip), logits in zip(views, view_logits):
            logits = resize(logits, self.view_size(batch, scale), self.align_corners).float()
            outs.append(logits.flip(-1) if flip else logits)
        official = test_cfg.get('fusion', 'mmseg') == 'official'
        results = []
        for i, sample in enumerate(data_samples):
            meta = sample.metainfo
            h, w = meta.get('img_shape', batch)[:2]
            ori = meta.get('ori_shape', (h, w))[:2]

            def at_ori(out):  # this image's valid region of one view, at the original size
                vh = int(h * out.shape[-2] / batch[0] + 0.5)
                vw = int(w * out.shape[-1] / batch[1] + 0.5)
                return resize(out[i:i + 1, :, :vh, :vw], ori, self.align_corners)

            if views == [(1.0, False)]:
                total = at_ori(outs[0])
            elif official:
                total = 0
                for scale in sorted({s for s, _ in views}):
                    same = [o for (s, _), o in zip(views, outs) if s == scale]
                    total = total + at_ori(sum(same) / len(same)).exp()
            else:
                total = sum(at_ori(o).softmax(1) for o in outs) / len(outs)
            if meta.get('flip'):
                total = total.flip(-1)
            results.append(total[0])
        return results


def stack_labels(data_samples) -> torch.Tensor:
    """B x H x W long labels from ``gt_sem_seg`` (already padded to one size)."""
    return torch.stack([s.gt_sem_seg.data for s in data_samples]).squeeze(1).long()


def set_seg_predictions(data_samples, scores: Sequence[torch.Tensor], test_cfg: Optional[dict]):
    """``pred_sem_seg`` (1 x H x W arg-max) on each sample, and ``seg_logits`` (the K x H x W
    scores) when ``test_cfg.output_logits`` (they are large: K floats per pixel)."""
    for sample, score in zip(data_samples, scores):
        sample.pred_sem_seg = PixelData(data=score.argmax(0, keepdim=True))
        if (test_cfg or {}).get('output_logits'):
            sample.seg_logits = PixelData(data=score)
    return data_samples


@MODELS.register_module()
class SegHeadCascade(BaseSegHead):
    """Segmentation heads applied in turn, each seeing the backbone features and the
    previous head's logits (HRNetV2 + OCR: ``[FCNHead, OCRHead]``, the FCN logits
    being OCR's soft object regions). Every head is trained with its own loss
    (keys ``decode_{i}.*``); predictions come from the last one.

    Sub-heads are stored as ``0``, ``1``, ... (as a ``ModuleList`` would), so
    ``decode_head.1.conv_seg.weight`` keeps its checkpoint name. Missing
    ``in_channels`` / ``norm_cfg`` of the sub-heads are taken from the cascade's.
    """

    def __init__(self, heads: Sequence[dict], in_channels: Optional[int] = None,
                 norm_cfg: Optional[dict] = None, align_corners: bool = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if len(heads) < 2:
            raise ValueError('SegHeadCascade needs at least two heads, e.g. [FCNHead, OCRHead]')
        for i, cfg in enumerate(heads):
            cfg = dict(cfg, align_corners=align_corners)
            if cfg.get('in_channels') is None:
                cfg['in_channels'] = in_channels
            if cfg.get('norm_cfg') is None:
                cfg['norm_cfg'] = norm_cfg
            self.add_module(str(i), MODELS.build(cfg))
        self.align_corners = align_corners
        self.num_classes = self[-1].num_classes
        self.ignore_index = self[-1].ignore_index

    def __getitem__(self, index: int) -> BaseSegHead:
        return list(self.children())[index]

    def __iter__(self):
        return iter(self.children())

    def __len__(self) -> int:
        return len(self._modules)

    def forward(self, feats, prev_logits: Optional[torch.Tensor] = None):
        """The logits of every head, in order (``(aux, main)`` for FCN -> OCR)."""
        outs = []
        for head in self:
            prev_logits = head(feats, prev_logits)
            outs.append(prev_logits)
        return tuple(outs)

    def seg_logits(self, feats) -> torch.Tensor:
        return self.forward(feats)[-1]

    def loss(self, feats, data_samples) -> Dict[str, torch.Tensor]:
        labels = stack_labels(data_samples)
        losses = {}
        for i, (head, logits) in enumerate(zip(self, self.forward(feats))):
            losses.update(head.loss_by_feat(logits, labels, f'decode_{i}.'))
        return losses
