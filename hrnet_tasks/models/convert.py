"""Conversion of released HRNet checkpoints into this project's key layout.

Our classification model is mmpretrain's ``ImageClassifier`` around the shared
backbone, so our layout *is* mmpretrain's: ``backbone.<official names>``,
``neck.0.increase_layers``/``downsample_layers``/``final_layer`` and
``head.fc``. The official and timm layouts are identical to each other; they
carry biases on the four head convs that we (like mmpretrain) do not have.
Those biases are folded into the running mean of the BN that follows
(BN(conv(x) + b) with mean mu == BN(conv(x)) with mean mu - b), which is exact;
dropping them changes the logits (0.21 on w18 in the reference study).
"""
import re
from collections import OrderedDict
from typing import Dict, Mapping, Optional

import torch

from hrnet_tasks.models.backbones.hrnet import ARCH_SETTINGS, arch_name

SOURCES = ('official', 'timm', 'mmpretrain')

# official/timm head module -> our neck module (index k of the 3 downsamplers)
_HEAD_RENAMES = (
    (re.compile(r'^incre_modules\.'), 'neck.0.increase_layers.'),
    (re.compile(r'^downsamp_modules\.(\d)\.0\.'), r'neck.0.downsample_layers.\1.conv.'),
    (re.compile(r'^downsamp_modules\.(\d)\.1\.'), r'neck.0.downsample_layers.\1.bn.'),
    (re.compile(r'^final_layer\.0\.'), 'neck.0.final_layer.conv.'),
    (re.compile(r'^final_layer\.1\.'), 'neck.0.final_layer.bn.'),
    (re.compile(r'^classifier\.'), 'head.fc.'),
)
_HEAD_RENAMES_INVERSE = (
    (re.compile(r'^neck\.0\.increase_layers\.'), 'incre_modules.'),
    (re.compile(r'^neck\.0\.downsample_layers\.(\d)\.conv\.'), r'downsamp_modules.\1.0.'),
    (re.compile(r'^neck\.0\.downsample_layers\.(\d)\.bn\.'), r'downsamp_modules.\1.1.'),
    (re.compile(r'^neck\.0\.final_layer\.conv\.'), 'final_layer.0.'),
    (re.compile(r'^neck\.0\.final_layer\.bn\.'), 'final_layer.1.'),
    (re.compile(r'^head\.fc\.'), 'classifier.'),
)
_BACKBONE_KEY = re.compile(r'^(conv1|bn1|conv2|bn2|layer1|transition\d|stage\d)\.')
# Conv biases of the official head and the BN each one is folded into.
_HEAD_BIAS_TO_BN = {f'downsamp_modules.{k}.0.bias': f'downsamp_modules.{k}.1.running_mean'
                    for k in range(3)}
_HEAD_BIAS_TO_BN['final_layer.0.bias'] = 'final_layer.1.running_mean'


def unwrap_state_dict(checkpoint: Mapping) -> Dict[str, torch.Tensor]:
    """The tensor dict inside any of the usual containers, ``module.`` stripped."""
    state = checkpoint
    for key in ('state_dict', 'model', 'net'):
        if isinstance(state, Mapping) and key in state and isinstance(state[key], Mapping):
            state = state[key]
            break
    if not isinstance(state, Mapping) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError('checkpoint holds no state dict of tensors (looked at the top level and '
                         "under 'state_dict'/'model'/'net')")
    return OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                       for k, v in state.items())


def official_to_ours(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Official HRNet-Image-Classification (== timm) classification weights to ours."""
    state = OrderedDict(state)
    for bias_key, mean_key in _HEAD_BIAS_TO_BN.items():
        bias = state.pop(bias_key, None)
        if bias is not None:  # timm *_ssld and some exports have no head bias
            state[mean_key] = state[mean_key] - bias
    out = OrderedDict()
    for key, value in state.items():
        if _BACKBONE_KEY.match(key):
            out['backbone.' + key] = value
            continue
        for pattern, repl in _HEAD_RENAMES:
            if pattern.match(key):
                out[pattern.sub(repl, key)] = value
                break
        else:
            raise KeyError(f'unexpected key {key!r} in an official/timm HRNet classification '
                           'checkpoint; is it a classification checkpoint?')
    return out


def ours_to_official(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Inverse of :func:`official_to_ours`: official/timm layout with zero head biases."""
    out = OrderedDict()
    for key, value in state.items():
        if key.startswith('backbone.'):
            out[key[len('backbone.'):]] = value
            continue
        for pattern, repl in _HEAD_RENAMES_INVERSE:
            if pattern.match(key):
                out[pattern.sub(repl, key)] = value
                break
        else:
            raise KeyError(f'unexpected key {key!r}: not part of an HRNet classification model')
    for bias_key, mean_key in _HEAD_BIAS_TO_BN.items():
        out[bias_key] = torch.zeros_like(out[mean_key])
    return out


def convert(state: Mapping[str, torch.Tensor], src: str) -> Dict[str, torch.Tensor]:
    if src in ('official', 'timm'):
        return official_to_ours(state)
    if src == 'mmpretrain':  # already our layout
        return OrderedDict(state)
    raise ValueError(f'unknown source {src!r}; choose one of {SOURCES}')


def infer_hrnet_extra(state: Mapping[str, torch.Tensor], prefix: str = '') -> Optional[dict]:
    """Recover the stage table of the HRNet stored under ``prefix`` in ``state``.

    Returns ``None`` when there is no HRNet there. Used to name an arch mismatch
    instead of reporting hundreds of shape errors.
    """
    def has(key):
        return prefix + key in state

    if not has('layer1.0.conv1.weight'):
        return None
    extra = {}
    n1 = 0
    while has(f'layer1.{n1}.conv1.weight'):
        n1 += 1
    planes = state[prefix + 'layer1.0.conv1.weight'].shape[0]
    block1 = 'BOTTLENECK' if has('layer1.0.conv3.weight') else 'BASIC'
    extra['stage1'] = dict(num_modules=1, num_branches=1, block=block1, num_blocks=(n1, ),
                           num_channels=(planes, ))
    for k in (2, 3, 4):
        modules = 0
        while has(f'stage{k}.{modules}.branches.0.0.conv1.weight'):
            modules += 1
        if modules == 0:
            return None
        blocks, channels = [], []
        for b in range(k):
            n = 0
            while has(f'stage{k}.0.branches.{b}.{n}.conv1.weight'):
                n += 1
            blocks.append(n)
            channels.append(state[f'{prefix}stage{k}.0.branches.{b}.0.conv1.weight'].shape[0])
        extra[f'stage{k}'] = dict(num_modules=modules, num_branches=k, block='BASIC',
                                  num_blocks=tuple(blocks), num_channels=tuple(channels))
    return extra


def describe_extra(extra: dict) -> str:
    name = arch_name(extra)
    widths = '/'.join(str(c) for c in extra['stage4']['num_channels'])
    modules = '/'.join(str(extra[f'stage{k}']['num_modules']) for k in (2, 3, 4))
    return f"'{name}' (stage-4 widths {widths}, HR modules {modules})"


def check_arch_matches(model_extra: dict, state: Mapping[str, torch.Tensor], prefix: str,
                       source: str):
    """Raise a readable error when ``state`` holds an HRNet of a different arch."""
    found = infer_hrnet_extra(state, prefix)
    if found is None:
        return
    if arch_name(found) != arch_name(model_extra) or arch_name(found) == 'custom' and \
            any(found[k]['num_channels'] != tuple(model_extra[k]['num_channels'])
                for k in ('stage2', 'stage3', 'stage4')):
        raise ValueError(
            f'HRNet arch mismatch: {source} holds HRNet {describe_extra(found)} but the model '
            f'is HRNet {describe_extra(model_extra)}. Use the config of that arch '
            f"(configs/cls/hrnet_{arch_name(found)}.py) or a checkpoint of this one. "
            f'Known archs: {", ".join(ARCH_SETTINGS)}.')
