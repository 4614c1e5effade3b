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
import torch.nn as nn
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


# the data-sample field holding the training labels of a head, by the output it consumes
LABEL_FIELDS = {'highest': 'gt_heatmaps', 'concat': 'gt_sem_seg', 'all': 'gt_label'}


class BaseHead(BaseModule):
    """Base of every task head: the test-time views and the inputs that produce them.

    Subclasses set ``backbone_output`` and implement ``forward``, ``loss`` and
    ``predict``; ``test_views`` defaults to the input as it is.

    Attributes every head has:

    * ``metainfo`` (dict or None): the dataset metainfo the head was given (keypoint
      names, flip pairs, ...); None when it needs or has none. Models and the inference
      API read it; a model loaded from a checkpoint falls back to the checkpoint's
      ``dataset_meta``.
    * ``label_field`` (str): the data-sample field holding the head's training labels
      (``MultiTaskModel`` trains the heads whose field a batch carries); by default
      ``gt_heatmaps`` / ``gt_sem_seg`` / ``gt_label`` for ``'highest'`` / ``'concat'`` /
      ``'all'`` heads, a head whose labels differ sets its own.
    * ``pred_prefix`` (str): prepended to the names of the prediction fields the head
      writes (``''``; e.g. ``'body_'`` gives ``body_pred_keypoints``), so two heads of one
      kind in a ``MultiTaskModel`` keep their predictions apart; metrics take the same
      ``pred_prefix``.
    """

    backbone_output = 'all'
    metainfo: Optional[dict] = None
    pred_prefix = ''

    @property
    def label_field(self) -> str:
        return LABEL_FIELDS[self.backbone_output]

    def pred_field(self, name: str) -> str:
        """The data-sample field of prediction ``name`` (with :attr:`pred_prefix`)."""
        return f'{self.pred_prefix}{name}'

    def check_dataset_meta(self, meta: Optional[dict], source: str = 'the dataset'):
        """Raise a one-line error when the dataset ``meta`` does not fit the head (e.g. a
        keypoint count other than the head's); called before training and testing. The
        base head accepts every dataset."""

    def check_checkpoint(self, state, prefix: str, source: str):
        """Raise a one-line error when ``state`` holds another kind of head under this
        head's ``prefix`` (e.g. a detector's for a pose model, or the reverse): tensors are
        there, but none of this head's. Every checkpoint load runs it
        (:func:`hrnet_tasks.engine.arch_check.check_hrnet_archs`); a checkpoint without a
        head there (a backbone, another model's layout) passes."""
        own = [prefix + key for key in self.state_dict()]
        theirs = sorted(k for k in state if k.startswith(prefix))
        if not own or not theirs or any(k in state for k in own):
            return
        from hrnet_tasks.errors import ConfigError
        raise ConfigError(
            f'{source} holds another kind of head under {prefix!r} ({len(theirs)} tensors, e.g. '
            f'{theirs[0]}) than this model\'s {type(self).__name__} ({own[0]}, ...): it is a '
            'checkpoint of another task. Use the config it was trained with, or take only its '
            "backbone: model.backbone.init_cfg=dict(type='Pretrained', checkpoint=..., "
            "prefix='backbone.')")

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


def normal_init_convs(module: nn.Module, std: float = 0.001):
    """The official pose-head init: every conv / deconv weight N(0, ``std``), conv biases 0,
    norm layers weight 1 and bias 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, std=std)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.SyncBatchNorm)):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


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


def head_channels(head_cls, backbone, backbone_output: Optional[str] = None):
    """``in_channels`` for a head of class ``head_cls`` on ``backbone``: an int for
    ``'highest'``/``'concat'``, the list of four branch widths for ``'all'``.
    ``backbone_output`` overrides the class's for heads that take it as an argument."""
    kind = backbone_output or head_cls.backbone_output
    channels = backbone.output_channels(kind)
    return list(channels) if kind == 'all' else channels[0]


def build_head(cfg: dict, backbone, **overrides) -> BaseHead:
    """Build a head config on ``backbone``: a missing (``None``) ``in_channels`` becomes the
    width of the output the head declares (its class's, or the config's
    ``backbone_output`` for heads that take one), a missing ``norm_cfg`` the backbone's; then
    ``overrides`` (e.g. the model's ``align_corners``) are set."""
    cfg = dict(cfg)
    head_cls = MODELS.get(cfg['type']) if isinstance(cfg['type'], str) else cfg['type']
    if head_cls is None:
        raise KeyError(f'head type {cfg["type"]!r} is not registered')
    if cfg.get('in_channels') is None:
        cfg['in_channels'] = head_channels(head_cls, backbone, cfg.get('backbone_output'))
    if cfg.get('norm_cfg') is None and _accepts(head_cls, 'norm_cfg'):
        cfg['norm_cfg'] = dict(backbone.norm_cfg)
    cfg.update(overrides)
    return MODELS.build(cfg)
