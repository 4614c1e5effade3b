"""Pose checkpoints: official HigherHRNet (or mmpose 0.x) <-> :class:`BottomUpPoseEstimator`.

The official ``PoseHigherResolutionNet`` keeps the backbone at the top level
(``conv1 ... stage4``) next to ``final_layers`` / ``deconv_layers``; ours nests
them under ``backbone.`` and ``head.`` with the same inner names, so the mapping
is a pure prefix. Official 640 checkpoints were saved from the fp16 wrapper
(``1.`` prefix, half weights); training checkpoints carry ``module.``. mmpose 0.x
files use ``backbone.`` + ``keypoint_head.``.

mmpose 1.x has no HigherHRNet; its associative-embedding model is HRNet-W32 with one 1x1
conv to 17 heatmaps + 17 tags (``backbone.*`` + ``head.final_layer.*``), which is our
``HigherHRNetHead(num_deconvs=0)`` (``final_layers.0``): ``--src mmpose`` converts it to
``configs/pose/hrnet_w32_coco_512_ae.py`` (and 0.x files as ``--src official`` does).
"""
from collections import OrderedDict
from typing import Dict, Mapping

import torch

from hrnet_tasks.models.converters.common import ConversionError, Converted, backbone_arch

HEAD_PREFIXES = ('final_layers.', 'deconv_layers.')
# arch -> the shipped config of that arch
CONFIGS = {'w32': 'configs/pose/higherhrnet_w32_coco_512.py',
           'w48': 'configs/pose/higherhrnet_w48_coco_640.py'}
# arch -> the config of the plain-HRNet AE model (mmpose 1.x)
AE_CONFIGS = {'w32': 'configs/pose/hrnet_w32_coco_512_ae.py'}


def _strip(key: str) -> str:
    for prefix in ('module.', '1.'):
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key


def pose_official_to_ours(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Official (or mmpose 0.x) HigherHRNet state dict -> ours, floats cast to fp32."""
    out = OrderedDict()
    for key, value in state.items():
        key = _strip(key)
        if key.startswith('keypoint_head.'):
            key = 'head.' + key[len('keypoint_head.'):]
        elif key.startswith(HEAD_PREFIXES):
            key = 'head.' + key
        elif not key.startswith(('backbone.', 'head.')):
            key = 'backbone.' + key
        out[key] = value.float() if value.is_floating_point() else value
    return out


def pose_ours_to_official(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Ours -> the official key layout (the inverse of :func:`pose_official_to_ours`)."""
    out = OrderedDict()
    for key, value in state.items():
        for prefix in ('backbone.', 'head.'):
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
        else:
            raise KeyError(f'{key}: not a backbone./head. key of a BottomUpPoseEstimator')
        out[key] = value
    return out


def pose_mmpose_ae_to_ours(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """mmpose 1.x AE HRNet (``backbone.*`` + ``head.final_layer.*``) -> ours."""
    out = OrderedDict()
    for key, value in state.items():
        key = _strip(key)
        if key.startswith('head.final_layer.'):
            key = 'head.final_layers.0.' + key[len('head.final_layer.'):]
        elif not key.startswith('backbone.'):
            raise ConversionError(f'{key}: an mmpose 1.x associative-embedding checkpoint has '
                                  'backbone.* and head.final_layer.* keys only')
        out[key] = value.float() if value.is_floating_point() else value
    return out


def convert_checkpoint(state: Mapping[str, torch.Tensor], src: str) -> Converted:
    """Official HigherHRNet (or mmpose 0.x) -> configs/pose/higherhrnet_<arch>_coco_*.py;
    mmpose 1.x AE HRNet -> configs/pose/hrnet_<arch>_coco_512_ae.py."""
    if src not in ('official', 'mmpose'):
        raise ConversionError(f'--task pose converts --src official checkpoints (official '
                              f'HigherHRNet or mmpose 0.x) or --src mmpose (1.x '
                              f'associative embedding), not {src!r}')
    if src == 'mmpose' and any(_strip(k).startswith('head.final_layer.') for k in state):
        out = pose_mmpose_ae_to_ours(state)
        arch = backbone_arch(out)
        return Converted(out, arch, AE_CONFIGS.get(arch), [])
    out = pose_official_to_ours(state)
    if not any(k.startswith('head.final_layers.') for k in out):
        raise ConversionError('no final_layers.* in the checkpoint: not a HigherHRNet pose model')
    arch = backbone_arch(out)
    return Converted(out, arch, CONFIGS.get(arch), [])
