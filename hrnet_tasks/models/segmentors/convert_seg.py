"""Official HRNet-Semantic-Segmentation checkpoints <-> this project's segmentors.

Official checkpoints are saved from ``FullModel`` (every key under ``model.``)
and may hold ``loss.criterion.weight`` (the class-weight buffer, dropped). The
backbone keys are identical to ours under ``backbone.``. Head keys map as in
spec §10.2; the biases of the convs followed by BN (``last_layer.0``,
``aux_head.0``, ``conv3x3_ocr.0``) are folded into that BN's running mean:
BN(Wx + b) with mean mu == BN(Wx) with mean mu - b (exact).
"""
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Tuple

import torch

_BACKBONE = re.compile(r'^(conv1|bn1|conv2|bn2|layer1|transition\d|stage\d)\.')
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


HEAD_TABLES = {'fcn': _fcn_rows('last_layer', 'decode_head'), 'ocr': _ocr_rows()}
# official conv bias -> official BN running mean it folds into
FOLDS = {'fcn': {'last_layer.0.bias': 'last_layer.1.running_mean'},
         'ocr': {'aux_head.0.bias': 'aux_head.1.running_mean',
                 'conv3x3_ocr.0.bias': 'conv3x3_ocr.1.running_mean'}}


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
    state = OrderedDict((k, v.clone() if torch.is_tensor(v) else v) for k, v in state.items())
    folded = []
    for bias_key, mean_key in FOLDS[kind].items():
        if bias_key in state:
            if mean_key not in state:
                raise KeyError(f'{bias_key} has no BN running mean {mean_key} to fold into')
            state[mean_key] = state[mean_key] - state.pop(bias_key).to(state[mean_key].dtype)
            folded.append(bias_key)
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
        if _BACKBONE.match(key):
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
    for bias_key, mean_key in FOLDS[kind].items():
        bias = (biases or {}).get(bias_key)
        if bias is None:
            bias = torch.zeros_like(out[mean_key])
        out[bias_key] = bias.clone()
        out[mean_key] = out[mean_key] + bias
    return OrderedDict((prefix + k, v) for k, v in out.items())
