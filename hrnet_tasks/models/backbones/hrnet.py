"""The one HRNet backbone shared by classification, pose and segmentation.

Module and parameter names follow the official HRNet / timm layout
(``conv1, bn1, conv2, bn2, layer1, transition{1..3}, stage{2..4}``), which is
also what mmpretrain, mmpose and mmseg store under ``backbone.``; so every
released backbone checkpoint maps onto it by at most a prefix.

Output modes (``out_mode``):

* ``'all'``: tuple of the four stage-4 branches (C, 2C, 4C, 8C at strides
  4/8/16/32); classification necks and detection-style consumers.
* ``'highest'``: tuple with only the stride-4 branch; the last stage-4 module
  builds only its first fuse row, as in HigherHRNet/mmpose (pose).
* ``'concat'``: HRNetV2 representation, branches 2-4 bilinearly resized to
  stride 4 and concatenated (15C channels) as a 1-tuple (segmentation).

An ``'all'`` backbone serves heads of every kind in one pass:
:meth:`HRNet.convert_outputs` derives the other two forms from its output and
:meth:`HRNet.output_channels` gives their widths. The arch table lives in
:mod:`hrnet_tasks.models.backbones.arch`.
"""
from typing import List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.logging import MMLogger
from mmengine.model import BaseModule, constant_init, kaiming_init
from mmpretrain.models.backbones.resnet import BasicBlock, Bottleneck
from torch.nn.modules.batchnorm import _BatchNorm

from hrnet_tasks.engine.checkpoint import load_checkpoint_file
from hrnet_tasks.errors import ConfigError, UnknownArchError
from hrnet_tasks.models.backbones.arch import (ARCH_SETTINGS, EXPANSION, arch_name,
                                               check_arch_matches, check_checkpoint_layout,
                                               stage_out_channels)
from hrnet_tasks.models.converters.common import unwrap_state_dict
from hrnet_tasks.registry import MODELS

BLOCKS = {'BASIC': BasicBlock, 'BOTTLENECK': Bottleneck}
OUT_MODES = ('all', 'highest', 'concat')


def _abbrev(keys: List[str], limit: int = 12) -> str:
    shown = ', '.join(keys[:limit])
    return shown + (f', ... (+{len(keys) - limit} more)' if len(keys) > limit else '')


class HRModule(nn.Module):
    """Parallel branches followed by all-to-all fusion (official naming)."""

    def __init__(self, block: str, num_blocks: Sequence[int], channels: Sequence[int],
                 multiscale_output: bool, norm_cfg: dict, conv_cfg: Optional[dict],
                 with_cp: bool, upsample_mode: str, align_corners: Optional[bool]):
        super().__init__()
        self.num_branches = len(channels)
        self.upsample_mode = upsample_mode
        self.align_corners = align_corners
        block_cls = BLOCKS[block]
        self.branches = nn.ModuleList(
            nn.Sequential(*[
                block_cls(c, c, with_cp=with_cp, norm_cfg=norm_cfg, conv_cfg=conv_cfg)
                for _ in range(n)
            ]) for n, c in zip(num_blocks, channels))
        self.fuse_layers = self._make_fuse_layers(channels, multiscale_output, norm_cfg, conv_cfg)
        self.relu = nn.ReLU(inplace=True)

    def _make_fuse_layers(self, channels, multiscale_output, norm_cfg, conv_cfg):
        if self.num_branches == 1:
            return None
        rows = []
        for i in range(self.num_branches if multiscale_output else 1):
            row = []
            for j in range(self.num_branches):
                if j > i:  # lower resolution into higher: 1x1 conv + BN, then resize
                    row.append(nn.Sequential(
                        build_conv_layer(conv_cfg, channels[j], channels[i], 1, bias=False),
                        build_norm_layer(norm_cfg, channels[i])[1]))
                elif j == i:
                    row.append(nn.Identity())
                else:  # higher into lower: (i - j) stride-2 3x3 convs, ReLU on all but the last
                    steps = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        out_c = channels[i] if last else channels[j]
                        layers = [
                            build_conv_layer(conv_cfg, channels[j], out_c, 3, 2, 1, bias=False),
                            build_norm_layer(norm_cfg, out_c)[1]]
                        if not last:
                            layers.append(nn.ReLU(inplace=True))
                        steps.append(nn.Sequential(*layers))
                    row.append(nn.Sequential(*steps))
            rows.append(nn.ModuleList(row))
        return nn.ModuleList(rows)

    def _resize(self, x: torch.Tensor, like: torch.Tensor, scale: int) -> torch.Tensor:
        if self.upsample_mode == 'nearest':
            # Integer-factor nearest is what the ImageNet/pose weights were trained with.
            return F.interpolate(x, scale_factor=scale, mode='nearest')
        return F.interpolate(x, size=like.shape[-2:], mode=self.upsample_mode,
                             align_corners=self.align_corners)

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        # Fresh list: callers (feature hooks, several heads) may hold the input one.
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        if self.fuse_layers is None:
            return xs
        outs = []
        for i, row in enumerate(self.fuse_layers):
            y = None
            for j, layer in enumerate(row):
                if j == i:
                    term = xs[j]
                elif j > i:
                    term = self._resize(layer(xs[j]), xs[i], 2**(j - i))
                else:
                    term = layer(xs[j])
                if y is None:
                    y = term
                elif y is xs[i]:  # never write into a branch output: others still read it
                    y = y + term
                else:
                    y = y.add_(term)
            outs.append(self.relu(y))  # y is a fresh tensor here
        return outs


@MODELS.register_module()
class HRNet(BaseModule):
    """High-Resolution Network (Wang et al., TPAMI 2020), shared by every task.

    Args:
        arch (str): one of :data:`ARCH_SETTINGS` (``w18_small_v1 ... w64``).
        extra (dict, optional): custom stage table in the mmpretrain / mmpose
            ``extra`` format (``stage1..stage4`` with ``num_modules, num_branches,
            block, num_blocks, num_channels``); overrides ``arch``.
        in_channels (int): input image channels.
        out_mode (str): ``'all'`` | ``'highest'`` | ``'concat'`` (see module doc).
        upsample_mode (str): fuse-layer upsampling, ``'nearest'`` (integer factor,
            classification/pose weights) or ``'bilinear'`` (resize to the target
            size, as the official segmentation code does).
        align_corners (bool): for bilinear fuse upsampling and the HRNetV2 concat.
        norm_cfg (dict): norm layer, e.g. ``dict(type='BN')`` or ``dict(type='SyncBN')``.
        norm_eval (bool): keep norm layers in eval mode (frozen statistics) in training.
        frozen_stages (int): -1 trains everything; 0 freezes the stem; k >= 1 also
            freezes stages 1..k (with the transitions that feed them); 4 = linear probe.
        with_cp (bool): gradient checkpointing inside the residual blocks.
        zero_init_residual (bool): zero the last norm of each residual block.
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.
    """

    def __init__(self,
                 arch: str = 'w32',
                 extra: Optional[dict] = None,
                 in_channels: int = 3,
                 out_mode: str = 'all',
                 upsample_mode: str = 'nearest',
                 align_corners: Optional[bool] = None,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', momentum=0.1),
                 norm_eval: bool = False,
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 zero_init_residual: bool = False,
                 init_cfg=(dict(type='Kaiming', layer='Conv2d', mode='fan_out',
                                nonlinearity='relu'),
                           dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']))):
        super().__init__(init_cfg=list(init_cfg) if isinstance(init_cfg, tuple) else init_cfg)
        if extra is None:
            if arch not in ARCH_SETTINGS:
                raise UnknownArchError(f'Unknown HRNet arch {arch!r}; valid archs: '
                               f'{", ".join(ARCH_SETTINGS)} (or pass a custom `extra` dict).')
            extra = ARCH_SETTINGS[arch]
        else:
            self._check_extra(extra)
            arch = arch_name(extra)
        if out_mode not in OUT_MODES:
            raise ValueError(f"out_mode must be 'all', 'highest' or 'concat', got {out_mode!r}")
        if upsample_mode not in ('nearest', 'bilinear'):
            raise ValueError(
                f"upsample_mode must be 'nearest' or 'bilinear', got {upsample_mode!r}")
        if not -1 <= frozen_stages <= 4:
            raise ValueError(f'frozen_stages must be in [-1, 4], got {frozen_stages}')
        self.arch = arch
        self.extra = extra
        self.out_mode = out_mode
        self.align_corners = align_corners
        self.norm_cfg = norm_cfg  # heads built on this backbone take the same norm
        self.norm_eval = norm_eval
        self.frozen_stages = frozen_stages
        self.zero_init_residual = zero_init_residual

        self.conv1 = build_conv_layer(conv_cfg, in_channels, 64, 3, 2, 1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, 64)[1]
        self.conv2 = build_conv_layer(conv_cfg, 64, 64, 3, 2, 1, bias=False)
        self.bn2 = build_norm_layer(norm_cfg, 64)[1]
        self.relu = nn.ReLU(inplace=True)

        s1 = extra['stage1']
        block = BLOCKS[s1['block']]
        out_c = s1['num_channels'][0] * EXPANSION[s1['block']]
        blocks = []
        for k in range(s1['num_blocks'][0]):
            in_c = 64 if k == 0 else out_c
            downsample = None
            if in_c != out_c:
                downsample = nn.Sequential(
                    build_conv_layer(conv_cfg, in_c, out_c, 1, bias=False),
                    build_norm_layer(norm_cfg, out_c)[1])
            blocks.append(block(in_c, out_c, downsample=downsample, with_cp=with_cp,
                                norm_cfg=norm_cfg, conv_cfg=conv_cfg))
        self.layer1 = nn.Sequential(*blocks)

        prev = [out_c]
        for k in (2, 3, 4):
            cfg = extra[f'stage{k}']
            channels = [c * EXPANSION[cfg['block']] for c in cfg['num_channels']]
            self.add_module(f'transition{k - 1}',
                            self._make_transition(prev, channels, norm_cfg, conv_cfg))
            modules = []
            for m in range(cfg['num_modules']):
                last_of_net = k == 4 and m == cfg['num_modules'] - 1
                modules.append(HRModule(
                    cfg['block'], cfg['num_blocks'], channels,
                    multiscale_output=not (last_of_net and out_mode == 'highest'),
                    norm_cfg=norm_cfg, conv_cfg=conv_cfg, with_cp=with_cp,
                    upsample_mode=upsample_mode, align_corners=align_corners))
            self.add_module(f'stage{k}', nn.Sequential(*modules))
            prev = channels
        self.out_channels = self.output_channels(out_mode)
        self._freeze_stages()

    @staticmethod
    def _check_extra(extra: dict):
        for k in range(1, 5):
            cfg = extra.get(f'stage{k}')
            if cfg is None:
                raise KeyError(f'HRNet `extra` lacks stage{k}; it needs stage1..stage4.')
            keys = {'num_modules', 'num_branches', 'block', 'num_blocks', 'num_channels'}
            missing = keys - set(cfg)
            if missing:
                raise KeyError(f'HRNet extra.stage{k} lacks {sorted(missing)}')
            if cfg['block'] not in BLOCKS:
                raise KeyError(f"HRNet extra.stage{k}.block {cfg['block']!r} is not one of "
                               f'{list(BLOCKS)}')
            if not (cfg['num_branches'] == len(cfg['num_blocks']) == len(cfg['num_channels']) == k):
                raise ValueError(f'HRNet extra.stage{k} must have {k} branch(es) with one entry '
                                 f'each in num_blocks and num_channels, got {cfg}')

    @staticmethod
    def _make_transition(prev: List[int], cur: List[int], norm_cfg, conv_cfg) -> nn.ModuleList:
        layers = []
        for i, c in enumerate(cur):
            if i < len(prev):
                layers.append(nn.Identity() if c == prev[i] else nn.Sequential(
                    build_conv_layer(conv_cfg, prev[i], c, 3, 1, 1, bias=False),
                    build_norm_layer(norm_cfg, c)[1], nn.ReLU(inplace=True)))
            else:  # a new branch is fed from the lowest-resolution existing branch
                layers.append(nn.Sequential(nn.Sequential(
                    build_conv_layer(conv_cfg, prev[-1], c, 3, 2, 1, bias=False),
                    build_norm_layer(norm_cfg, c)[1], nn.ReLU(inplace=True))))
        return nn.ModuleList(layers)

    def stage_modules(self, stage: int) -> List[nn.Module]:
        """Modules that make up stage ``stage`` (0 = stem) for freezing/lr rules."""
        if stage == 0:
            return [self.conv1, self.bn1, self.conv2, self.bn2]
        if stage == 1:
            return [self.layer1]
        return [getattr(self, f'transition{stage - 1}'), getattr(self, f'stage{stage}')]

    def _freeze_stages(self):
        for stage in range(self.frozen_stages + 1):
            for module in self.stage_modules(stage):
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False

    def init_weights(self):
        pretrained = self._pretrained_cfg()
        if pretrained is None:
            super().init_weights()
            if self.zero_init_residual:
                for m in self.modules():
                    if isinstance(m, (BasicBlock, Bottleneck)):
                        last_norm = m.norm3 if isinstance(m, Bottleneck) else m.norm2
                        nn.init.constant_(last_norm.weight, 0)
            return
        # Tensors the checkpoint lacks keep the scratch init, not PyTorch's default.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                kaiming_init(m, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, (_BatchNorm, nn.GroupNorm)):
                constant_init(m, 1)
        self.load_pretrained(pretrained['checkpoint'], pretrained.get('prefix', ''))
        self._is_init = True

    def _pretrained_cfg(self) -> Optional[dict]:
        cfgs = self.init_cfg if isinstance(self.init_cfg, list) else [self.init_cfg]
        found = [c for c in cfgs if isinstance(c, dict) and c.get('type') == 'Pretrained']
        return found[0] if found else None

    def load_pretrained(self, checkpoint: str, prefix: str = '') -> dict:
        """Load backbone weights from any task's checkpoint, naming what was not used.

        ``prefix`` selects the backbone inside a full model (``'backbone.'`` for
        checkpoints of this project, mmpretrain, mmpose and mmseg; ``''`` for the
        official/timm classification files). Returns the key report.
        """
        state = unwrap_state_dict(load_checkpoint_file(checkpoint))
        if prefix:
            state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            if not state:
                raise KeyError(f'no key of {checkpoint} starts with prefix {prefix!r}; '
                               "use prefix='' for official/timm files, 'backbone.' for full models")
        check_arch_matches(self.extra, state, '', checkpoint)
        own = self.state_dict()
        if not any(k in own for k in state):
            raise ConfigError(
                f'no HRNet tensor of {checkpoint} matches the backbone with prefix {prefix!r}; '
                "use prefix='backbone.' for checkpoints of this project, mmpretrain, mmpose and "
                "mmseg, prefix='' for official/timm classification files")
        report = dict(loaded=[k for k in state if k in own],
                      missing=[k for k in own if k not in state],
                      unexpected=[k for k in state if k not in own])
        self.load_state_dict({k: state[k] for k in report['loaded']}, strict=False)
        logger = MMLogger.get_current_instance()
        logger.info(f'HRNet {self.arch}: loaded {len(report["loaded"])} tensors from {checkpoint} '
                    f'(prefix {prefix!r}); {len(report["unexpected"])} not used by this model'
                    + (f': {_abbrev(report["unexpected"])}' if report['unexpected'] else ''))
        if report['missing']:
            logger.warning(f'HRNet {self.arch}: {len(report["missing"])} tensors missing from '
                           f'{checkpoint}, left at their init: {_abbrev(report["missing"])}')
        return report

    def check_checkpoint(self, state: Mapping[str, torch.Tensor], prefix: str, source: str):
        """Raise a readable error when ``state`` holds this backbone (under ``prefix``) in
        another arch or in the unconverted official layout; used by the runner's arch check."""
        check_checkpoint_layout(self.extra, state, prefix, source)

    def output_channels(self, mode: Optional[str] = None) -> List[int]:
        """Channels of each map of the ``mode`` output (default: this backbone's ``out_mode``).

        A backbone built with ``out_mode='highest'`` only computes the stride-4 branch of the
        last module, so it serves no other mode; ``'all'`` serves every mode.
        """
        mode = mode or self.out_mode
        if mode not in OUT_MODES:
            raise ValueError(f"mode must be 'all', 'highest' or 'concat', got {mode!r}")
        if self.out_mode == 'highest' and mode != 'highest':
            raise ValueError(f"an HRNet built with out_mode='highest' has no {mode!r} output; "
                             "build it with out_mode='all' to serve several heads")
        branches = stage_out_channels(self.extra)
        return {'all': branches, 'highest': branches[:1], 'concat': [sum(branches)]}[mode]

    def convert_outputs(self, feats_all: Sequence[torch.Tensor],
                        mode: str) -> Tuple[torch.Tensor, ...]:
        """The ``mode`` output from the four stage-4 branches of an ``'all'`` forward.

        ``'highest'`` is branch 0 (the same tensor a ``'highest'`` backbone with these
        weights computes: the other fuse rows do not feed it); ``'concat'`` resizes
        branches 1-3 bilinearly with this backbone's ``align_corners`` and concatenates.
        """
        self.output_channels(mode)  # validates the mode for this backbone
        if mode == 'highest':
            return (feats_all[0], )
        if mode == 'concat':
            size = feats_all[0].shape[-2:]
            ups = [feats_all[0]] + [
                F.interpolate(x, size=size, mode='bilinear', align_corners=bool(self.align_corners))
                for x in feats_all[1:]]
            return (torch.cat(ups, dim=1), )
        return tuple(feats_all)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        xs = [self.layer1(x)]
        for k in (2, 3, 4):
            transition = getattr(self, f'transition{k - 1}')
            # Existing branches pass through (or get a width change); the new one
            # comes from the last existing branch.
            xs = [t(xs[i] if i < len(xs) else xs[-1]) for i, t in enumerate(transition)]
            xs = getattr(self, f'stage{k}')(xs)
        return self.convert_outputs(xs, self.out_mode)

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
