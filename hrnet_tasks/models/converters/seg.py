"""Segmentation checkpoints: official HRNet-Semantic-Segmentation <-> :class:`EncoderDecoder`.

Official checkpoints are saved from ``FullModel`` (every key under ``model.``)
and may hold ``loss.criterion.weight`` (the class-weight buffer, dropped). The
backbone keys are identical to ours under ``backbone.``. Head keys map row by
row (:data:`HEAD_TABLES`); the biases of the convs followed by BN
(``last_layer.0``, ``aux_head.0``, ``conv3x3_ocr.0``) are folded into that BN's
running mean (:func:`~hrnet_tasks.models.converters.common.fold_biases`, exact).
"""
from collections import OrderedDict
from typing import Dict, List, Mapping, Tuple

import torch

from hrnet_tasks.models.converters.common import (BACKBONE_KEY, ConversionError, Converted,
                                                  backbone_arch, fold_biases, unfold_biases)

_BN = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')
_ODB = 'ocr_distri_head.object_context_block.'
_OCB = 'decode_head.1.object_context_block.'


def _conv_bn(official_conv: str, official_bn: str, ours_conv: str, ours_bn: str):
    rows = [(official_conv + '.weight', ours_conv + '.weight')]
    rows += [(f'{official_bn}.{k}', f'{ours_bn}.{k}') for k in _BN]
    return rows


def _fcn_rows(official: str, ours: str) -> List[Tuple[str, str]]:
    """``last_layer`` / ``aux_head``: 0 conv (+bias), 1 BN, 3 classifier."""
    rows = _conv_bn(f'{official}.0', f'{official}.1', f'{ours}.convs.0.conv', f'{ours}.convs.0.bn')
    rows += [(f'{official}.3.weight', f'{ours}.conv_seg.weight'),
             (f'{official}.3.bias', f'{ours}.conv_seg.bias')]
    return rows


def _ocr_rows() -> List[Tuple[str, str]]:
    rows = _fcn_rows('aux_head', 'decode_head.0')
    rows += _conv_bn('conv3x3_ocr.0', 'conv3x3_ocr.1', 'decode_head.1.bottleneck.conv',
                     'decode_head.1.bottleneck.bn')
    for official, ours in (('f_pixel', 'query_project'), ('f_object', 'key_project')):
        for i in range(2):
            rows += _conv_bn(f'{_ODB}{official}.{2 * i}', f'{_ODB}{official}.{2 * i + 1}.0',
                             f'{_OCB}{ours}.{i}.conv', f'{_OCB}{ours}.{i}.bn')
    rows += _conv_bn(f'{_ODB}f_down.0', f'{_ODB}f_down.1.0', f'{_OCB}value_project.conv',
                     f'{_OCB}value_project.bn')
    rows += _conv_bn(f'{_ODB}f_up.0', f'{_ODB}f_up.1.0', f'{_OCB}out_project.conv',
                     f'{_OCB}out_project.bn')
    rows += _conv_bn('ocr_distri_head.conv_bn_dropout.0', 'ocr_distri_head.conv_bn_dropout.1.0',
                     f'{_OCB}bottleneck.conv', f'{_OCB}bottleneck.bn')
    rows += [('cls_head.weight', 'decode_head.1.conv_seg.weight'),
             ('cls_head.bias', 'decode_head.1.conv_seg.bias')]
    return rows


# (official key, our key) per head kind
HEAD_TABLES = {'fcn': _fcn_rows('last_layer', 'decode_head'), 'ocr': _ocr_rows()}
# official conv bias -> official BN running mean it folds into
FOLDS = {'fcn': {'last_layer.0.bias': 'last_layer.1.running_mean'},
         'ocr': {'aux_head.0.bias': 'aux_head.1.running_mean',
                 'conv3x3_ocr.0.bias': 'conv3x3_ocr.1.running_mean'}}
# arch -> the name part of the shipped configs
_CONFIG_ARCH = {'w18_small_v2': 'w18_small', 'w18': 'w18', 'w48': 'w48'}


def strip_official(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Drop the ``model.`` prefix and the loss buffers of a FullModel checkpoint."""
    out = OrderedDict()
    for key, value in state.items():
        if key.startswith('loss.'):
            continue
        out[key[len('model.'):] if key.startswith('model.') else key] = value
    return out


def head_type(state: Mapping[str, torch.Tensor]) -> str:
    if any(k.startswith(('cls_head.', 'ocr_distri_head.', 'conv3x3_ocr.')) for k in state):
        return 'ocr'
    if any(k.startswith('last_layer.') for k in state):
        return 'fcn'
    raise KeyError('no HRNet segmentation head found (expected last_layer.* for HRNetV2 or '
                   'aux_head/conv3x3_ocr/ocr_distri_head/cls_head for OCR); is it an '
                   'HRNet-Semantic-Segmentation checkpoint?')


def official_seg_to_ours(state: Mapping[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor],
                                                                      str, List[str]]:
    """(our state dict, 'fcn' | 'ocr', the official biases that were folded)."""
    state = strip_official(state)
    kind = head_type(state)
    state = OrderedDict((k, v.clone()) for k, v in state.items())
    folded = fold_biases(state, FOLDS[kind])
    out = OrderedDict()
    mapped = set()
    for official, ours in HEAD_TABLES[kind]:
        if official in state:
            out[ours] = state[official]
            mapped.add(official)
        elif official.endswith('num_batches_tracked'):
            out[ours] = torch.tensor(0, dtype=torch.long)
        else:
            raise KeyError(f'missing key {official!r} in the official {kind.upper()} checkpoint')
    for key, value in state.items():
        if key in mapped:
            continue
        if BACKBONE_KEY.match(key):
            out['backbone.' + key] = value
        else:
            raise KeyError(f'unexpected key {key!r} in an official HRNet {kind.upper()} '
                           'segmentation checkpoint')
    return out, kind, folded


def ours_to_official_seg(state: Mapping[str, torch.Tensor], prefix: str = 'model.',
                         biases: Mapping[str, torch.Tensor] = None) -> Dict[str, torch.Tensor]:
    """Inverse map (for tests and export). ``biases`` (official key -> tensor) are
    un-folded: the BN running mean is raised by the bias, so the official model
    computes the same function; missing biases are zero."""
    kind = 'ocr' if any(k.startswith('decode_head.1.') for k in state) else 'fcn'
    inverse = {ours: official for official, ours in HEAD_TABLES[kind]}
    out = OrderedDict()
    for key, value in state.items():
        if key.startswith('backbone.'):
            out[key[len('backbone.'):]] = value.clone()
        elif key in inverse:
            out[inverse[key]] = value.clone()
        else:
            raise KeyError(f'unexpected key {key!r} in our {kind.upper()} segmentor')
    unfold_biases(out, FOLDS[kind], biases)
    return OrderedDict((prefix + k, v) for k, v in out.items())


def convert_checkpoint(state: Mapping[str, torch.Tensor], src: str) -> Converted:
    """Official HRNet-Semantic-Segmentation HRNetV2 / HRNetV2+OCR -> configs/seg/*.py
    (19 classes -> the Cityscapes config, 150 -> ADE20K)."""
    if src != 'official':
        raise ConversionError(f'--task seg converts official HRNet-Semantic-Segmentation '
                              f'checkpoints (--src official), not {src!r}')
    try:
        out, kind, folded = official_seg_to_ours(state)
    except KeyError as exc:
        raise ConversionError(exc.args[0] if exc.args else str(exc)) from None
    arch = backbone_arch(out)
    num_classes = out['decode_head.conv_seg.weight' if kind == 'fcn' else
                      'decode_head.1.conv_seg.weight'].shape[0]
    dataset = {150: 'ade20k_512x512'}.get(num_classes, 'cityscapes_512x1024')
    name = _CONFIG_ARCH.get(arch)
    config = f'configs/seg/{kind}_hrnetv2_{name}_{dataset}.py' if name else None
    return Converted(out, arch, config, folded)
