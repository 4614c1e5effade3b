"""mmpretrain's ``ImageClassifier`` with the neck and head widths taken from the backbone.

Registered under the same name in the ``hrnet_tasks`` scope, so the classification
configs keep ``type='ImageClassifier'`` (and mmpretrain's forward, loss, predict
and checkpoint layout) while leaving ``in_channels`` out: ``--cfg-options
model.backbone.arch=w18`` then builds a working W18 classifier.
"""
from typing import List, Optional

import torch.nn as nn
from mmpretrain.models import ImageClassifier as MMPretrainImageClassifier
from mmpretrain.models.necks import HRFuseScales

from hrnet_tasks.registry import MODELS


def fill_cls_widths(neck, head: Optional[dict], channels: List[int]):
    """(neck, head) configs with missing ``in_channels`` filled, following the widths from
    the backbone's ``channels`` through the necks: ``HRFuseScales`` takes the branch widths
    and outputs ``out_channels``; pooling keeps widths; the head takes the last width."""
    necks = [] if neck is None else [dict(n) for n in (neck if isinstance(neck, (list, tuple))
                                                      else [neck])]
    for cfg in necks:
        cls = MODELS.get(cfg['type']) if isinstance(cfg['type'], str) else cfg['type']
        if cls is HRFuseScales:
            if cfg.get('in_channels') is None:
                cfg['in_channels'] = tuple(channels)
            channels = [cfg.get('out_channels', 2048)]
        elif cfg['type'] != 'GlobalAveragePooling':
            channels = None  # an unknown neck: its output width must come from the config
            break
    if head is not None and head.get('in_channels') is None and channels is not None:
        head = dict(head, in_channels=channels[-1])
    if neck is not None and not isinstance(neck, (list, tuple)):
        return necks[0], head
    return (necks or None), head


@MODELS.register_module()
class ImageClassifier(MMPretrainImageClassifier):
    """``mmpretrain.models.ImageClassifier``; ``in_channels`` left out of ``HRFuseScales``
    and the head are filled from the backbone's output widths."""

    def __init__(self, backbone, neck=None, head=None, **kwargs):
        if not isinstance(backbone, nn.Module):
            backbone = MODELS.build(backbone)
        neck, head = fill_cls_widths(neck, head, list(backbone.out_channels))
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)
