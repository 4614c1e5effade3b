"""Top-down pose checkpoints -> :class:`TopdownPoseEstimator` + pose ``HeatmapHead``.

* ``--src official``: deep-high-resolution-net.pytorch ``pose_hrnet_w{32,48}_*.pth``: the
  backbone at the top level (``conv1 ... stage4``, the last stage-4 module with fuse row 0
  only) and the head ``final_layer.{weight,bias}`` (1x1 conv C -> 17); training checkpoints
  add ``module.`` (DataParallel). Ours nests them under ``backbone.`` and
  ``head.final_layer.``.
* ``--src mmpose``: mmpose 1.x ``td-hm_hrnet-*`` files (``backbone.*`` + ``head.final_layer.*``,
  the names ours follow; also ``head.deconv_layers`` / ``head.conv_layers`` of other heatmap
  heads) and mmpose 0.x ``TopDown`` files (``keypoint_head.final_layer.*``).

A backbone saved with all four stage-4 outputs (``stage4.2.fuse_layers.{1,2,3}``, which do not
reach branch 0) loses those rows. Weights fit both input sizes; the printed
config is the 256x192 one of the arch (the 384x288 config builds the same model).
"""
import re
from collections import OrderedDict
from typing import Dict, Mapping

import torch

from hrnet_tasks.models.converters.common import (BACKBONE_KEY, ConversionError, Converted,
                                                  backbone_arch)

CONFIGS = {'w32': 'configs/pose_topdown/hrnet_w32_coco_256x192.py',
           'w48': 'configs/pose_topdown/hrnet_w48_coco_256x192.py'}
HEAD_LAYERS = ('final_layer.', 'deconv_layers.', 'conv_layers.')
# fuse rows of the last stage-4 module that feed branches 1-3 (absent from a 'highest' HRNet)
_UNUSED_FUSE = re.compile(r'^backbone\.stage4\.(\d+)\.fuse_layers\.[123]\.')


def _strip_module(key: str) -> str:
    return key[len('module.'):] if key.startswith('module.') else key


def topdown_to_ours(state: Mapping[str, torch.Tensor], src: str) -> Dict[str, torch.Tensor]:
    """Official or mmpose (0.x / 1.x) top-down state dict -> ours, floats cast to fp32."""
    out = OrderedDict()
    for key, value in state.items():
        key = _strip_module(key)
        if src == 'official':
            if key.startswith(HEAD_LAYERS):
                key = 'head.' + key
            elif BACKBONE_KEY.match(key):
                key = 'backbone.' + key
            else:
                raise ConversionError(f'{key}: neither an HRNet backbone key nor final_layer.*; '
                                      'not an official top-down checkpoint (mmpose files: '
                                      '--src mmpose)')
        else:
            if key.startswith('keypoint_head.'):  # mmpose 0.x
                key = 'head.' + key[len('keypoint_head.'):]
            if not key.startswith(('backbone.', 'head.')):
                raise ConversionError(f'{key}: an mmpose top-down checkpoint has backbone.* and '
                                      'head.* (1.x) or keypoint_head.* (0.x) keys only')
        out[key] = value.float() if value.is_floating_point() else value
    return out


def drop_unused_fuse_rows(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Without the last stage-4 module's fuse rows 1-3 (they do not reach branch 0)."""
    stage4 = [int(k.split('.')[2]) for k in state if k.startswith('backbone.stage4.')]
    if not stage4:
        return state
    last = max(stage4)
    return OrderedDict((k, v) for k, v in state.items()
                       if not ((m := _UNUSED_FUSE.match(k)) and int(m.group(1)) == last))


def convert_checkpoint(state: Mapping[str, torch.Tensor], src: str) -> Converted:
    """Official or mmpose top-down HRNet -> configs/pose_topdown/hrnet_<arch>_coco_256x192.py."""
    if src not in ('official', 'mmpose'):
        raise ConversionError(f'--task topdown converts --src official (deep-high-resolution-'
                              f'net.pytorch) or mmpose checkpoints, not {src!r}')
    out = topdown_to_ours(state, src)
    final = out.get('head.final_layer.weight')
    if final is None:
        raise ConversionError('no head.final_layer / final_layer in the checkpoint: not a '
                              'top-down heatmap model')
    if any(k.startswith('head.conv_layers.') for k in out):
        raise ConversionError('the checkpoint has a head.conv_layers head: a face model '
                              '(--task face), not top-down pose')
    out = drop_unused_fuse_rows(out)
    arch = backbone_arch(out)
    # another head (deconvs) or keypoint count converts the same way but has no shipped config
    simple_head = not any(k.startswith('head.deconv_layers.') for k in out)
    config = CONFIGS.get(arch) if simple_head and final.shape[0] == 17 else None
    return Converted(out, arch, config, [])
