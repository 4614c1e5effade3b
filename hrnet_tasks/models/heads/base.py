"""The head contract every task head follows (see docs/new_head.md), and the helpers a
model uses to build heads and feed them at test time.

A head declares the backbone output it consumes (``backbone_output``: ``'highest'``,
``'concat'`` or ``'all'``) and implements ``forward(feats)``, ``loss(feats,
data_samples)``, ``test_views(test_cfg)`` and ``predict(view_feats, data_samples,
test_cfg)``. The model builds it with :func:`build_head` (widths and norm from the
backbone) and at test time runs the backbone once per input of
:meth:`BaseHead.view_inputs`.
"""
import inspect
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.structures import BaseDataElement

from hrnet_tasks.registry import MODELS

View = Tuple[float, bool]  # (scale factor, horizontal flip)


def resize(x: torch.Tensor, size, align_corners: bool = False) -> torch.Tensor:
    """Bilinear resize of an N x C x H x W map to ``size`` (H, W); no-op at that size."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=align_corners)


class BaseHead(BaseModule):
    """Base of every task head: the test-time views and the inputs that produce them.

    Subclasses set ``backbone_output`` and implement ``forward``, ``loss`` and
    ``predict``; ``test_views`` defaults to the input as it is.
    """

    backbone_output = 'all'

    def forward(self, feats):
        raise NotImplementedError

    def loss(self, feats, data_samples) -> dict:
        raise NotImplementedError

    def predict(self, view_feats: Sequence, data_samples, test_cfg: dict):
        raise NotImplementedError

    def test_views(self, test_cfg: Optional[dict]) -> List[View]:
        """The (scale factor, flip) input views :meth:`predict` needs, in its order."""
        return [(1.0, False)]

    def view_size(self, size: Sequence[int], scale: float) -> Tuple[int, int]:
        """Input size (H, W) of the view at ``scale`` of a batch of size ``size``."""
        return int(size[0] * scale + 0.5), int(size[1] * scale + 0.5)

    def view_inputs(self, inputs: torch.Tensor, test_cfg: Optional[dict]) -> List[torch.Tensor]:
        """One input batch per entry of :meth:`test_views`: resized with :meth:`view_size`
        (bilinear), then flipped horizontally when the view says so. A model runs its
        backbone on each (views of equal size and flip may share one pass)."""
        out = []
        for scale, flip in self.test_views(test_cfg):
            x = resize(inputs, self.view_size(inputs.shape[-2:], scale),
                       getattr(self, 'align_corners', False) or False)
            out.append(x.flip(-1) if flip else x)
        return out


def with_batch_meta(inputs: torch.Tensor, data_samples) -> list:
    """``data_samples`` (made when ``None``) with ``batch_input_shape`` set: the size of the
    padded batch, which :meth:`BaseHead.predict` maps its outputs back to."""
    if data_samples is None:
        size = tuple(inputs.shape[-2:])
        data_samples = [BaseDataElement(metainfo=dict(img_shape=size, ori_shape=size))
                        for _ in range(inputs.shape[0])]
    for sample in data_samples:
        sample.set_metainfo(dict(batch_input_shape=tuple(inputs.shape[-2:])))
    return data_samples


def _accepts(cls, name: str) -> bool:
    return any(name in inspect.signature(klass.__init__).parameters
               for klass in inspect.getmro(cls) if '__init__' in klass.__dict__)


def head_channels(head_cls, backbone):
    """``in_channels`` for a head of class ``head_cls`` on ``backbone``: an int for
    ``'highest'``/``'concat'``, the list of four branch widths for ``'all'``."""
    channels = backbone.output_channels(head_cls.backbone_output)
    return list(channels) if head_cls.backbone_output == 'all' else channels[0]


def build_head(cfg: dict, backbone, **overrides) -> BaseHead:
    """Build a head config on ``backbone``: a missing (``None``) ``in_channels`` becomes the
    width of the output the head declares, a missing ``norm_cfg`` the backbone's; then
    ``overrides`` (e.g. the model's ``align_corners``) are set."""
    cfg = dict(cfg)
    head_cls = MODELS.get(cfg['type']) if isinstance(cfg['type'], str) else cfg['type']
    if head_cls is None:
        raise KeyError(f'head type {cfg["type"]!r} is not registered')
    if cfg.get('in_channels') is None:
        cfg['in_channels'] = head_channels(head_cls, backbone)
    if cfg.get('norm_cfg') is None and _accepts(head_cls, 'norm_cfg'):
        cfg['norm_cfg'] = dict(backbone.norm_cfg)
    cfg.update(overrides)
    return MODELS.build(cfg)
