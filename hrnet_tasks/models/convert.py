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
from typing import Dict, List, Mapping, Optional

import torch

from hrnet_tasks.errors import ConfigError
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
# Every key of our (== mmpretrain's) classification model starts with one of these.
_OUR_CLS_KEY = re.compile(r'^(backbone\.|neck\.0\.(increase_layers|downsample_layers|final_layer)\.'
                          r'|head\.fc\.)')
# Conv biases of the official head and the BN each one is folded into.
HEAD_BIAS_TO_BN = {f'downsamp_modules.{k}.0.bias': f'downsamp_modules.{k}.1.running_mean'
                   for k in range(3)}
HEAD_BIAS_TO_BN['final_layer.0.bias'] = 'final_layer.1.running_mean'
# The same convs in our layout: mmcls exports from before the bias removal still carry them.
OURS_HEAD_BIAS_TO_BN = {f'neck.0.downsample_layers.{k}.conv.bias':
                        f'neck.0.downsample_layers.{k}.bn.running_mean' for k in range(3)}
OURS_HEAD_BIAS_TO_BN['neck.0.final_layer.conv.bias'] = 'neck.0.final_layer.bn.running_mean'


def unwrap_state_dict(checkpoint: Mapping) -> Dict[str, torch.Tensor]:
    """The tensor dict inside any of the usual containers, ``module.`` stripped."""
    state = checkpoint
    for key in ('state_dict', 'model', 'net'):
        if isinstance(state, Mapping) and key in state and isinstance(state[key], Mapping):
            state = state[key]
            break
    if not isinstance(state, Mapping) or not state or \
            not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError('checkpoint holds no state dict of tensors (looked at the top level and '
                         "under 'state_dict'/'model'/'net')")
    return OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                       for k, v in state.items())


def head_biases(state: Mapping[str, torch.Tensor], src: str) -> List[str]:
    """The head conv biases in ``state`` (``src`` layout) that :func:`convert` folds."""
    table = OURS_HEAD_BIAS_TO_BN if src == 'mmpretrain' else HEAD_BIAS_TO_BN
    return [key for key in table if key in state]


def _fold(state: Dict[str, torch.Tensor], table: Mapping[str, str]):
    """Fold conv biases into the running mean of the BN after them, in place (exact)."""
    for bias_key, mean_key in table.items():
        bias = state.pop(bias_key, None)
        if bias is None:  # timm *_ssld, mmpretrain and some exports have no head bias
            continue
        if mean_key not in state:
            raise KeyError(f'{bias_key!r} is present but {mean_key!r}, the BN statistic it '
                           'folds into, is not: incomplete checkpoint')
        state[mean_key] = state[mean_key] - bias.to(state[mean_key].dtype)


def _add_num_batches_tracked(state: Dict[str, torch.Tensor]):
    """Files from PyTorch < 0.4.1 (or MindSpore ports) lack the BN counter; it is 0 then."""
    for key in [k for k in state if k.endswith('.running_mean')]:
        counter = key[:-len('running_mean')] + 'num_batches_tracked'
        if counter not in state:
            state[counter] = torch.tensor(0, dtype=torch.long)


def official_to_ours(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Official HRNet-Image-Classification (== timm) classification weights to ours."""
    state = OrderedDict(state)
    _fold(state, HEAD_BIAS_TO_BN)
    _add_num_batches_tracked(state)
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
            hint = (" (mmpretrain's layout: use src='mmpretrain')" if _OUR_CLS_KEY.match(key)
                    else '; is it an HRNet classification checkpoint?')
            raise KeyError(f'unexpected key {key!r} in an official/timm HRNet classification '
                           f'checkpoint{hint}')
    return out


def mmpretrain_to_ours(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """mmpretrain ``ImageClassifier`` HRNet weights: already our layout; checked, biases folded."""
    state = OrderedDict(state)
    for key in state:
        if not _OUR_CLS_KEY.match(key):
            official = _BACKBONE_KEY.match(key) or any(p.match(key) for p, _ in _HEAD_RENAMES)
            hint = (" (official/timm layout: use src='official')" if official
                    else '; is it an HRNet classification checkpoint?')
            raise KeyError(f'unexpected key {key!r} in an mmpretrain HRNet classification '
                           f'checkpoint{hint}')
    _fold(state, OURS_HEAD_BIAS_TO_BN)
    _add_num_batches_tracked(state)
    return state


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
    for bias_key, mean_key in HEAD_BIAS_TO_BN.items():
        out[bias_key] = torch.zeros_like(out[mean_key])
    return out


def convert(state: Mapping[str, torch.Tensor], src: str) -> Dict[str, torch.Tensor]:
    """A classification state dict in ``src`` layout, in ours (head conv biases folded).

    Raises ``KeyError`` naming the first key that does not belong to that layout.
    """
    if src in ('official', 'timm'):
        return official_to_ours(state)
    if src == 'mmpretrain':
        return mmpretrain_to_ours(state)
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


def _stage_table(extra: dict) -> dict:
    """``extra`` with lists made tuples, for comparing stage tables of custom archs."""
    return {f'stage{k}': {key: tuple(value) if isinstance(value, (list, tuple)) else value
                          for key, value in extra[f'stage{k}'].items()} for k in (1, 2, 3, 4)}


def check_arch_matches(model_extra: dict, state: Mapping[str, torch.Tensor], prefix: str,
                       source: str):
    """Raise a readable error when ``state`` holds an HRNet of a different arch."""
    found = infer_hrnet_extra(state, prefix)
    if found is None:
        return
    name = arch_name(found)
    if name != arch_name(model_extra) or (
            name == 'custom' and _stage_table(found) != _stage_table(model_extra)):
        advice = (f'Use the config of that arch (configs/cls/hrnet_{name}.py)' if name != 'custom'
                  else f'Build the backbone with extra={_stage_table(found)}')
        raise ConfigError(
            f'HRNet arch mismatch: {source} holds HRNet {describe_extra(found)} but the model '
            f'is HRNet {describe_extra(model_extra)}. {advice} or use a checkpoint of this '
            f'arch. Known archs: {", ".join(ARCH_SETTINGS)}.')
