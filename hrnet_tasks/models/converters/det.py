"""Detection checkpoints: official HRNet-Object-Detection (mmdet 1.x) or mmdet v2/v3 ->
:class:`~hrnet_tasks.models.detectors.Detector`.

Layouts (the spec's key tables):

* backbone: ``backbone.<key>`` in both, identical to ours (a pure prefix);
* neck: mmdet 1.x ``neck.reduction_conv.0.*`` / ``neck.fpn_conv.{i}.*``, mmdet v2/v3
  ``neck.reduction_conv.conv.*`` / ``neck.fpn_convs.{i}.conv.*`` -> ``head.neck.`` +
  the v2 names (our HRFPN uses them);
* RPN: ``rpn_head.rpn_conv / rpn_cls / rpn_reg`` -> torchvision's ``rpn.head.conv.0.0 /
  cls_logits / bbox_pred`` (same anchor order: ratios 0.5, 1, 2 per location; same
  sigmoid objectness; same delta layout);
* box head: mmdet 1.x ``bbox_head.*``, v2 ``roi_head.bbox_head.*``: ``shared_fcs.0 / 1``
  -> ``box_head.fc6 / fc7``, ``fc_cls`` -> ``box_predictor.cls_score``, ``fc_reg`` ->
  ``box_predictor.bbox_pred``. mmdet 1.x has torchvision's layout (81 logits, background
  first; 81 x 4 class-specific deltas with stds 0.1/0.2 = torchvision's weights 10/5);
  mmdet v2 puts the background logit last and has no background deltas: the logit moves
  first and the background gets zero deltas (torchvision never decodes them);
* mask head (Mask R-CNN): ``mask_head.convs.{i}.conv / upsample / conv_logits`` ->
  ``mask_head.{i}.0 / mask_predictor.conv5_mask / mask_fcn_logits`` (v2: 80 masks, a zero
  background mask is added).

The weights then compute what they computed in mmdet only up to the conventions listed in
docs/detection.md (mmdet 1.x: +1 box widths, anchor centres at (stride - 1) / 2, RoIAlign
end +1 px; mmdet v2: RoIAlign ``aligned=True``): boxes shift by about a pixel, which costs
a little AP, not the ranking.
"""
import re
from collections import OrderedDict
from typing import Dict, Mapping, Tuple

import torch

from hrnet_tasks.models.converters.common import (ConversionError, Converted,
                                                  add_num_batches_tracked, backbone_arch)

# (pattern of a source key, our key); {i} is a level / layer index
_COMMON = (
    (r'neck\.reduction_conv\.(?:0|conv)\.', 'head.neck.reduction_conv.conv.'),
    (r'neck\.fpn_convs?\.(\d)\.(?:conv\.)?', r'head.neck.fpn_convs.\1.conv.'),
    (r'rpn_head\.rpn_conv\.', 'head.detector.rpn.head.conv.0.0.'),
    (r'rpn_head\.rpn_cls\.', 'head.detector.rpn.head.cls_logits.'),
    (r'rpn_head\.rpn_reg\.', 'head.detector.rpn.head.bbox_pred.'),
)
_ROI = (
    (r'bbox_head\.shared_fcs\.0\.', 'head.detector.roi_heads.box_head.fc6.'),
    (r'bbox_head\.shared_fcs\.1\.', 'head.detector.roi_heads.box_head.fc7.'),
    (r'bbox_head\.fc_cls\.', 'head.detector.roi_heads.box_predictor.cls_score.'),
    (r'bbox_head\.fc_reg\.', 'head.detector.roi_heads.box_predictor.bbox_pred.'),
    (r'mask_head\.convs\.(\d)\.conv\.', r'head.detector.roi_heads.mask_head.\1.0.'),
    (r'mask_head\.upsample\.', 'head.detector.roi_heads.mask_predictor.conv5_mask.'),
    (r'mask_head\.conv_logits\.', 'head.detector.roi_heads.mask_predictor.mask_fcn_logits.'),
)
RENAMES = tuple((re.compile('^' + src), dst) for src, dst in _COMMON) + \
    tuple((re.compile(r'^(?:roi_head\.)?' + src), dst) for src, dst in _ROI)
CONFIGS = {('faster', arch): f'configs/det/faster_rcnn_hrnetv2p_{arch}_1x_coco.py'
           for arch in ('w18', 'w32', 'w40')}
CONFIGS[('mask', 'w18')] = 'configs/det/mask_rcnn_hrnetv2p_w18_1x_coco.py'
# parts the torchvision detectors here do not have
UNSUPPORTED = {'bbox_head.0.': 'Cascade R-CNN', 'roi_head.bbox_head.0.': 'Cascade R-CNN',
               'semantic_head.': 'HTC', 'bbox_head.conv_cls.': 'FCOS (mmdet)',
               'bbox_head.retina_cls.': 'RetinaNet (mmdet)'}


def layout(state: Mapping[str, torch.Tensor]) -> str:
    """``'mmdet1'`` (official HRNet-Object-Detection) or ``'mmdet2'`` (v2/v3), by key names."""
    for prefix, name in UNSUPPORTED.items():
        if any(k.startswith(prefix) for k in state):
            raise ConversionError(f'the checkpoint holds a {name} head ({prefix}*); --task det '
                                  'converts Faster R-CNN and Mask R-CNN HRNetV2p checkpoints')
    if any(k.startswith('roi_head.') for k in state):
        return 'mmdet2'
    if any(k.startswith('bbox_head.') for k in state):
        return 'mmdet1'
    raise ConversionError('no bbox_head.* or roi_head.* keys: not an mmdet two-stage detector '
                          'checkpoint (HRNet-Object-Detection / mmdet Faster or Mask R-CNN)')


def _rename(key: str):
    for pattern, repl in RENAMES:
        if pattern.match(key):
            return pattern.sub(repl, key, count=1)
    return None


def background_first(value: torch.Tensor, num_classes: int, per_class: int,
                     has_background: bool) -> torch.Tensor:
    """mmdet v2's class-major rows (``num_classes`` objects, then the background when it has
    one) in torchvision's order: background first, zeros for a background it lacks."""
    rows = num_classes * per_class + (per_class if has_background else 0)
    if value.shape[0] != rows:
        raise ConversionError(f'an output of {value.shape[0]} rows where {num_classes} classes '
                              f'give {rows} (class-agnostic box regression is not supported)')
    if has_background:
        return torch.cat([value[-per_class:], value[:-per_class]])
    return torch.cat([value.new_zeros((per_class, *value.shape[1:])), value])


def official_det_to_ours(state: Mapping[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], str]:
    """(our state dict, the source layout ``'mmdet1'`` / ``'mmdet2'``)."""
    kind = layout(state)
    if kind == 'mmdet2':  # K objects + the background logit
        if 'roi_head.bbox_head.fc_cls.weight' not in state:
            raise ConversionError('roi_head.bbox_head.fc_cls.weight is missing: an incomplete '
                                  'mmdet two-stage checkpoint')
        num_classes = state['roi_head.bbox_head.fc_cls.weight'].shape[0] - 1
    out = OrderedDict()
    for key, value in state.items():
        if key.startswith('backbone.'):
            out[key] = value
            continue
        new = _rename(key)
        if new is None:
            raise ConversionError(f'unexpected key {key!r} in an HRNetV2p detection checkpoint '
                                  f'({kind} layout)')
        if kind == 'mmdet2':
            if 'box_predictor.cls_score' in new:
                value = background_first(value, num_classes, 1, has_background=True)
            elif 'box_predictor.bbox_pred' in new:
                value = background_first(value, num_classes, 4, has_background=False)
            elif 'mask_fcn_logits' in new:
                value = background_first(value, num_classes, 1, has_background=False)
        out[new] = value
    add_num_batches_tracked(out)
    return out, kind


def convert_checkpoint(state: Mapping[str, torch.Tensor], src: str) -> Converted:
    """HRNet-Object-Detection (mmdet 1.x) or mmdet v2/v3 Faster / Mask R-CNN HRNetV2p ->
    configs/det/{faster,mask}_rcnn_hrnetv2p_<arch>_1x_coco.py."""
    if src != 'official':
        raise ConversionError(f'--task det converts --src official checkpoints (HRNet-Object-'
                              f'Detection or mmdet HRNetV2p), not {src!r}')
    out, _ = official_det_to_ours(state)
    arch = backbone_arch(out)
    kind = 'mask' if any('mask_head' in k for k in out) else 'faster'
    return Converted(out, arch, CONFIGS.get((kind, arch)), [])
