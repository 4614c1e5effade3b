"""Face checkpoints: official HRNet-Facial-Landmark-Detection (``HR18-*.pth``) -> our
``TopdownPoseEstimator`` + face ``HeatmapHead``.

The official ``HighResolutionNet`` keeps the backbone at the top level (``conv1 ...
stage4``, all four stage-4 fuse rows) and its head as ``head.0`` (1x1 conv 270 -> 270),
``head.1`` (BN), ``head.3`` (1x1 conv -> K; ``head.2`` is the ReLU). Ours nests the backbone
under ``backbone.`` and names the head layers as mmpose does: ``head.conv_layers.0`` /
``head.conv_layers.1`` / ``head.final_layer``. mmpose 1.x face checkpoints already use that
layout (``backbone.*`` + ``head.conv_layers.*`` + ``head.final_layer.*``) and pass through
unchanged. The number of points picks the config (98 WFLW, 68 300W, 29 COFW, 19 AFLW).
"""
import re
from collections import OrderedDict
from typing import Dict, Mapping

import torch

from hrnet_tasks.models.converters.common import (BACKBONE_KEY, ConversionError, Converted,
                                                  backbone_arch)

# official head layer index -> ours
OFFICIAL_HEAD = {'0': 'conv_layers.0', '1': 'conv_layers.1', '3': 'final_layer'}
OFFICIAL_HEAD_KEY = re.compile(r'^head\.(\d+)\.(.+)$')
# number of points -> the config of that face set (all HRNetV2-W18)
CONFIGS = {98: 'configs/face/hrnetv2_w18_wflw_256x256.py',
           68: 'configs/face/hrnetv2_w18_300w_256x256.py',
           29: 'configs/face/hrnetv2_w18_cofw_256x256.py',
           19: 'configs/face/hrnetv2_w18_aflw_256x256.py'}
CONFIG_ARCH = 'w18'


def face_official_to_ours(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Official face state dict -> ours (floats cast to fp32)."""
    out = OrderedDict()
    for key, value in state.items():
        head = OFFICIAL_HEAD_KEY.match(key)
        if head:
            if head.group(1) not in OFFICIAL_HEAD:
                raise ConversionError(f'{key}: the official face head has layers head.0, head.1 '
                                      'and head.3 only')
            key = f'head.{OFFICIAL_HEAD[head.group(1)]}.{head.group(2)}'
        elif BACKBONE_KEY.match(key):
            key = 'backbone.' + key
        else:
            raise ConversionError(f'{key}: neither an HRNet backbone key nor head.<n>.*; not an '
                                  'official face checkpoint')
        out[key] = value.float() if value.is_floating_point() else value
    return out


def face_ours_to_official(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Ours -> the official layout (the inverse of :func:`face_official_to_ours`)."""
    ours_to_official = {v: k for k, v in OFFICIAL_HEAD.items()}
    out = OrderedDict()
    for key, value in state.items():
        if key.startswith('backbone.'):
            out[key[len('backbone.'):]] = value
            continue
        layer, _, rest = key[len('head.'):].rpartition('.')
        if not key.startswith('head.') or layer not in ours_to_official:
            raise KeyError(f'{key}: not a backbone./head. key of the face model')
        out[f'head.{ours_to_official[layer]}.{rest}'] = value
    return out


def convert_checkpoint(state: Mapping[str, torch.Tensor], src: str) -> Converted:
    """Official (or mmpose 1.x) HRNetV2 face model -> configs/face/hrnetv2_w18_<set>_256x256.py."""
    if src == 'official':
        out = face_official_to_ours(state)
    elif src == 'mmpose':
        out = OrderedDict((k, v.float() if v.is_floating_point() else v) for k, v in state.items())
    else:
        raise ConversionError(f'--task face converts --src official (HRNet-Facial-Landmark-'
                              f'Detection) or mmpose checkpoints, not {src!r}')
    final = out.get('head.final_layer.weight')
    if final is None or 'head.conv_layers.0.weight' not in out:
        raise ConversionError('no face head (official head.0/head.3, mmpose head.conv_layers / '
                              'head.final_layer) in the checkpoint: not a face landmark model')
    arch = backbone_arch(out)
    # another backbone or point count converts the same way but has no shipped config
    config = CONFIGS.get(final.shape[0]) if arch == CONFIG_ARCH else None
    return Converted(out, arch, config, [])
