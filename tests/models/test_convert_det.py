"""Detection checkpoint conversion: official HRNet-Object-Detection (mmdet 1.x) and mmdet v2
layouts map onto our Detector key for key; the class order is moved where mmdet v2 puts
the background last."""
import importlib.util
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT
from hrnet_tasks.models.converters import ConversionError
from hrnet_tasks.models.converters.det import convert_checkpoint
from hrnet_tasks.registry import MODELS

# our key prefix -> mmdet 1.x (official) and mmdet v2 prefixes (the spec's key tables)
OURS_TO_MMDET = [
    ('head.neck.reduction_conv.conv.', 'neck.reduction_conv.0.', 'neck.reduction_conv.conv.'),
    *[(f'head.neck.fpn_convs.{i}.conv.', f'neck.fpn_conv.{i}.', f'neck.fpn_convs.{i}.conv.')
      for i in range(5)],
    ('head.detector.rpn.head.conv.0.0.', 'rpn_head.rpn_conv.', 'rpn_head.rpn_conv.'),
    ('head.detector.rpn.head.cls_logits.', 'rpn_head.rpn_cls.', 'rpn_head.rpn_cls.'),
    ('head.detector.rpn.head.bbox_pred.', 'rpn_head.rpn_reg.', 'rpn_head.rpn_reg.'),
    ('head.detector.roi_heads.box_head.fc6.', 'bbox_head.shared_fcs.0.',
     'roi_head.bbox_head.shared_fcs.0.'),
    ('head.detector.roi_heads.box_head.fc7.', 'bbox_head.shared_fcs.1.',
     'roi_head.bbox_head.shared_fcs.1.'),
    ('head.detector.roi_heads.box_predictor.cls_score.', 'bbox_head.fc_cls.',
     'roi_head.bbox_head.fc_cls.'),
    ('head.detector.roi_heads.box_predictor.bbox_pred.', 'bbox_head.fc_reg.',
     'roi_head.bbox_head.fc_reg.'),
    *[(f'head.detector.roi_heads.mask_head.{i}.0.', f'mask_head.convs.{i}.conv.',
       f'roi_head.mask_head.convs.{i}.conv.') for i in range(4)],
    ('head.detector.roi_heads.mask_predictor.conv5_mask.', 'mask_head.upsample.',
     'roi_head.mask_head.upsample.'),
    ('head.detector.roi_heads.mask_predictor.mask_fcn_logits.', 'mask_head.conv_logits.',
     'roi_head.mask_head.conv_logits.'),
]


def mmdet_state(ours, version):
    out = OrderedDict()
    for key, value in ours.items():
        if key.startswith('backbone.'):
            out[key] = value
            continue
        ours_prefix, v1, v2 = next(row for row in OURS_TO_MMDET if key.startswith(row[0]))
        new = (v1 if version == 1 else v2) + key[len(ours_prefix):]
        if version == 2 and 'cls_score' in key:  # background logit last
            value = torch.cat([value[1:], value[:1]])
        elif version == 2 and ('bbox_pred' in key and 'rpn' not in key
                               or 'mask_fcn_logits' in key):  # no background outputs
            value = value[4:] if 'bbox_pred' in key else value[1:]
        out[new] = value
    return out


def build(kind='FasterRCNN', arch='w18_small_v1'):
    cfg = Config.fromfile(f'{ROOT}/configs/_base_/models/faster_rcnn_hrnetv2p.py').model
    cfg.backbone.arch = arch
    cfg.head.detector.type = kind
    cfg.head.num_classes = 3
    if kind == 'MaskRCNN':
        cfg.head.detector.mask_roi_pool = dict(featmap_names=['0', '1', '2', '3'],
                                               output_size=14, sampling_ratio=2)
    return MODELS.build(cfg)


@pytest.mark.parametrize('kind', ['FasterRCNN', 'MaskRCNN'])
def test_official_mmdet1_layout_maps_key_for_key(kind, seeded):
    ours = build(kind).state_dict()
    converted = convert_checkpoint(mmdet_state(ours, 1), 'official')
    assert list(converted.state_dict) == list(ours)  # backbone, neck, RPN, heads: every key
    for key, value in ours.items():
        assert torch.equal(converted.state_dict[key], value), key
    assert converted.arch == 'w18_small_v1' and converted.config is None


def test_mmdet2_layout_moves_the_background_first(seeded):
    ours = build('MaskRCNN').state_dict()
    converted = convert_checkpoint(mmdet_state(ours, 2), 'official').state_dict
    assert set(converted) == set(ours)
    for key, value in ours.items():
        got = converted[key]
        if key.endswith(('bbox_pred.weight', 'bbox_pred.bias')) and 'rpn' not in key:
            assert torch.equal(got[4:], value[4:]) and not got[:4].any()  # zero background
        elif 'mask_fcn_logits' in key:
            assert torch.equal(got[1:], value[1:]) and not got[:1].any()
        else:
            assert torch.equal(got, value), key


def test_unsupported_heads_are_named():
    with pytest.raises(ConversionError, match='Cascade R-CNN'):
        convert_checkpoint({'backbone.conv1.weight': torch.zeros(1),
                            'bbox_head.0.fc_cls.weight': torch.zeros(1)}, 'official')
    with pytest.raises(ConversionError, match='not an mmdet two-stage'):
        convert_checkpoint({'backbone.conv1.weight': torch.zeros(1)}, 'official')
    with pytest.raises(ConversionError, match='--src official'):
        convert_checkpoint({}, 'timm')


def test_tool_converts_and_verifies_against_the_config(tmp_path, seeded, capsys):
    spec = importlib.util.spec_from_file_location(
        'convert_checkpoint', osp.join(ROOT, 'tools', 'convert_checkpoint.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    cfg = Config.fromfile(f'{ROOT}/configs/det/faster_rcnn_hrnetv2p_w18_1x_coco.py')
    ours = MODELS.build(cfg.model).state_dict()
    src, out = str(tmp_path / 'official.pth'), str(tmp_path / 'ours.pth')
    torch.save(dict(state_dict=mmdet_state(ours, 1)), src)
    converted = tool.main(['--src', 'official', '--task', 'det', src, out])  # verify() builds
    assert converted.config == 'configs/det/faster_rcnn_hrnetv2p_w18_1x_coco.py'  # the model
    assert f'tensors: {len(ours)} written' in capsys.readouterr().out
    state = torch.load(out, weights_only=True)['state_dict']
    assert all(torch.equal(state[k], v) for k, v in ours.items())
