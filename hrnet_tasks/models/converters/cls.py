"""Classification checkpoints: official HRNet-Image-Classification / timm / mmpretrain -> ours.

Ours is mmpretrain's ``ImageClassifier`` layout (``backbone.``, ``neck.0.`` =
``HRFuseScales``, ``head.fc.``). The official and timm layouts are identical to
each other; they carry biases on the four head convs that we (like mmpretrain)
do not have. Those biases are folded into the BN that follows
(:func:`~hrnet_tasks.models.converters.common.fold_biases`, exact); dropping
them changes the logits (0.21 on w18 in the reference study).
"""
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional

import torch

from hrnet_tasks.models.converters.common import (BACKBONE_KEY, ConversionError, Converted,
                                                  add_num_batches_tracked, backbone_arch,
                                                  fold_biases, unfold_biases)

SOURCES = ('official', 'timm', 'mmpretrain')

# official/timm head module prefix <-> ours; {i} is a downsampler index (0..2)
_HEAD_PREFIXES = (
    ('incre_modules.', 'neck.0.increase_layers.'),
    ('downsamp_modules.{i}.0.', 'neck.0.downsample_layers.{i}.conv.'),
    ('downsamp_modules.{i}.1.', 'neck.0.downsample_layers.{i}.bn.'),
    ('final_layer.0.', 'neck.0.final_layer.conv.'),
    ('final_layer.1.', 'neck.0.final_layer.bn.'),
    ('classifier.', 'head.fc.'),
)


def _renames(pairs) -> tuple:
    """(compiled prefix pattern, replacement) for each (from, to) prefix pair."""
    index = re.escape('{i}')
    return tuple((re.compile('^' + re.escape(src).replace(index, r'(\d)')),
                  dst.replace('{i}', r'\1')) for src, dst in pairs)


def _rename(key: str, renames) -> Optional[str]:
    """``key`` with the first matching prefix replaced; ``None`` when none matches."""
    for pattern, repl in renames:
        if pattern.match(key):
            return pattern.sub(repl, key)
    return None


_HEAD_RENAMES = _renames(_HEAD_PREFIXES)
_HEAD_RENAMES_INVERSE = _renames((ours, official) for official, ours in _HEAD_PREFIXES)
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


def head_biases(state: Mapping[str, torch.Tensor], src: str) -> List[str]:
    """The head conv biases in ``state`` (``src`` layout) that :func:`convert` folds."""
    table = OURS_HEAD_BIAS_TO_BN if src == 'mmpretrain' else HEAD_BIAS_TO_BN
    return [key for key in table if key in state]


def official_to_ours(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Official HRNet-Image-Classification (== timm) classification weights to ours."""
    state = OrderedDict(state)
    fold_biases(state, HEAD_BIAS_TO_BN)
    add_num_batches_tracked(state)
    out = OrderedDict()
    for key, value in state.items():
        new_key = 'backbone.' + key if BACKBONE_KEY.match(key) else _rename(key, _HEAD_RENAMES)
        if new_key is None:
            hint = (" (mmpretrain's layout: use src='mmpretrain')" if _OUR_CLS_KEY.match(key)
                    else '; is it an HRNet classification checkpoint?')
            raise KeyError(f'unexpected key {key!r} in an official/timm HRNet classification '
                           f'checkpoint{hint}')
        out[new_key] = value
    return out


def mmpretrain_to_ours(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """mmpretrain ``ImageClassifier`` HRNet weights: already our layout; checked, biases folded."""
    state = OrderedDict(state)
    for key in state:
        if not _OUR_CLS_KEY.match(key):
            official = BACKBONE_KEY.match(key) or any(p.match(key) for p, _ in _HEAD_RENAMES)
            hint = (" (official/timm layout: use src='official')" if official
                    else '; is it an HRNet classification checkpoint?')
            raise KeyError(f'unexpected key {key!r} in an mmpretrain HRNet classification '
                           f'checkpoint{hint}')
    fold_biases(state, OURS_HEAD_BIAS_TO_BN)
    add_num_batches_tracked(state)
    return state


def ours_to_official(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Inverse of :func:`official_to_ours`: official/timm layout with zero head biases."""
    out = OrderedDict()
    for key, value in state.items():
        new_key = key[len('backbone.'):] if key.startswith('backbone.') else \
            _rename(key, _HEAD_RENAMES_INVERSE)
        if new_key is None:
            raise KeyError(f'unexpected key {key!r}: not part of an HRNet classification model')
        out[new_key] = value
    unfold_biases(out, HEAD_BIAS_TO_BN)
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


def convert_checkpoint(state: Mapping[str, torch.Tensor], src: str) -> Converted:
    """ImageNet classification (official, timm, mmpretrain) -> configs/cls/hrnet_<arch>.py."""
    folded = head_biases(state, src)
    try:
        out = convert(state, src)
    except KeyError as exc:
        raise ConversionError(exc.args[0] if exc.args else str(exc)) from None
    arch = backbone_arch(out)
    config = None if arch == 'custom' else f'configs/cls/hrnet_{arch}.py'
    return Converted(out, arch, config, folded)
