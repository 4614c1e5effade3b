"""HRNet-W*-C classification head for models that hold the backbone themselves
(e.g. a multi-task model): mmpretrain's ``HRFuseScales`` neck, global average
pooling and ``LinearClsHead``, on the backbone's ``'all'`` output.

Submodules are named as in an ``ImageClassifier`` (``neck.0.*``, ``head.fc.*``),
so the head's keys are a classification checkpoint's without ``backbone.``.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.models.necks import GlobalAveragePooling, HRFuseScales

from hrnet_tasks.models.heads.base import BaseHead
from hrnet_tasks.registry import MODELS


@MODELS.register_module()
class HRNetClsHead(BaseHead):
    """Classification from the four HRNet branches.

    Args:
        in_channels (seq of int): the four branch widths (C, 2C, 4C, 8C); the model
            fills them from the backbone when the config leaves them out.
        num_classes (int): number of classes.
        fuse_channels (int): width of the fused representation (2048 officially).
        norm_cfg (dict): norm of the fuse neck (the model passes the backbone's).
        loss (dict): mmpretrain loss config.
        topk (seq of int): accuracies logged with the loss when ``cal_acc``.
        cal_acc (bool): log training accuracy.
    """

    backbone_output = 'all'

    def __init__(self,
                 in_channels: Optional[Sequence[int]] = None,
                 num_classes: int = 1000,
                 fuse_channels: int = 2048,
                 norm_cfg: Optional[dict] = None,
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 topk: Sequence[int] = (1, 5),
                 cal_acc: bool = False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if in_channels is None:
            raise ValueError('HRNetClsHead needs in_channels (the four HRNet branch widths); '
                             'a model fills them from its backbone')
        self.in_channels = list(in_channels)
        self.num_classes = num_classes
        self.neck = nn.Sequential(
            HRFuseScales(tuple(in_channels), fuse_channels,
                         norm_cfg=norm_cfg or dict(type='BN', momentum=0.1)),
            GlobalAveragePooling())
        self.head = LinearClsHead(num_classes, fuse_channels, loss=loss, topk=topk,
                                  cal_acc=cal_acc)

    def forward(self, feats) -> torch.Tensor:
        """Class logits (B, num_classes)."""
        return self.head(self.neck(tuple(feats)))

    def loss(self, feats, data_samples) -> dict:
        return self.head.loss(self.neck(tuple(feats)), data_samples)

    def predict(self, view_feats: Sequence, data_samples, test_cfg: Optional[dict]):
        """``pred_score`` (softmax) and ``pred_label`` on each sample, as mmpretrain's
        ``DataSample`` stores them (also on plain data elements of other tasks)."""
        scores = F.softmax(self.forward(view_feats[0]), dim=1)
        for sample, score in zip(data_samples, scores):
            label = score.argmax(dim=0, keepdim=True).detach()
            if hasattr(sample, 'set_pred_score'):
                sample.set_pred_score(score).set_pred_label(label)
            else:
                sample.set_field(score, 'pred_score')
                sample.set_field(label, 'pred_label')
        return data_samples
