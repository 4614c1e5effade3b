"""Key mapping between official HigherHRNet checkpoints and :class:`BottomUpPoseEstimator`.

The official ``PoseHigherResolutionNet`` keeps the backbone at the top level
(``conv1 ... stage4``) next to ``final_layers`` / ``deconv_layers``; ours nests
them under ``backbone.`` and ``head.`` with the same inner names, so the mapping
is a pure prefix. Official 640 checkpoints were saved from the fp16 wrapper
(``1.`` prefix, half weights); training checkpoints carry ``module.``. mmpose 0.x
files use ``backbone.`` + ``keypoint_head.``.
"""
from collections import OrderedDict
from typing import Dict, Mapping

import torch

HEAD_PREFIXES = ('final_layers.', 'deconv_layers.')


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
