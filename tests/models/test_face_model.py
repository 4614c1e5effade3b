"""The four face configs build the official HRNetV2-W18 face model (parameter counts,
state-dict size, BN momentum, shapes), and an official-layout face checkpoint converts,
verifies against its config and computes the official head on the backbone output."""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from conftest import ROOT
from hrnet_tasks.engine.checkpoint import load_checkpoint_file
from hrnet_tasks.models.backbones.hrnet import HRNet
from hrnet_tasks.models.converters import ConversionError
from hrnet_tasks.models.converters.face import convert_checkpoint, face_ours_to_official
from hrnet_tasks.registry import MODELS, TASK_UTILS

pytestmark = pytest.mark.usefixtures('one_thread', 'seeded')

# what the official code builds (spec B2; its README says 9.3M)
PARAMS = {'wflw': (98, 9_662_528), '300w': (68, 9_654_398), 'cofw': (29, 9_643_829),
          'aflw': (19, 9_641_119)}


def _config(name):
    return osp.join(ROOT, f'configs/face/hrnetv2_w18_{name}_256x256.py')


@pytest.fixture(scope='module')
def models():
    return {name: MODELS.build(Config.fromfile(_config(name)).model) for name in PARAMS}


@pytest.mark.parametrize('name', list(PARAMS))
def test_official_parameter_counts(models, name):
    k, params = PARAMS[name]
    model = models[name]
    assert sum(p.numel() for p in model.parameters()) == params
    assert sum(p.numel() for p in model.backbone.parameters()) == 9_562_260
    assert len(model.state_dict()) == 1839  # official: 1,830 backbone + 9 head entries
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert {m.momentum for m in bns} == {0.01}
    assert model.head.num_keypoints == k and model.head.in_channels == 270


def test_output_shape_and_conv_macs(models):
    """(1, 3, 256, 256) -> (1, 98, 64, 64); conv MACs 4.694 G (the official counter's rule:
    weight numel x output H x W, biases excluded), 4.37 in the README's 2^30 units."""
    model = models['wflw'].eval()
    macs = []
    hooks = [m.register_forward_hook(lambda m, i, o: macs.append(m.weight.numel() * o.shape[-2] *
                                                                 o.shape[-1]))
             for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        assert model(torch.randn(1, 3, 256, 256)).shape == (1, 98, 64, 64)
    for hook in hooks:
        hook.remove()
    assert sum(macs) == 4_693_650_432


@pytest.mark.parametrize('name,sigma,offsets', [('wflw', 1.5, (-5, 4)), ('300w', 1.0, (-3, 3))])
def test_official_targets_and_unbiased_decoding(name, sigma, offsets):
    """Spec B9.9-10: the face configs' codec draws the official window (peak 1 on the
    truncated coordinate, asymmetric for sigma 1.5) and, with the official +0.5 at decoding,
    decodes its own targets without bias (within half a heatmap pixel, 2 crop px); without
    the +0.5 every point comes back 2 px up-left on average."""
    codec = TASK_UTILS.build(Config.fromfile(_config(name)).model.codec)
    assert (codec.sigma, codec.centre_rounding, codec.decode_offset) == (sigma, 'trunc', 0.5)
    one = codec.encode(np.array([[[130.0, 97.0]]]))['heatmaps'][0]  # heatmap (32.5, 24.25)
    row = np.flatnonzero(one[24])
    assert one[24, 32] == 1.0 and (row.min() - 32, row.max() - 32) == offsets
    pts = np.random.default_rng(0).uniform(30, 226, (1, 400, 2))
    maps = codec.encode(pts)['heatmaps']
    err = codec.decode(maps)[0] - pts
    assert np.abs(err.mean((0, 1))).max() < 0.15 and np.abs(err).max() <= 2.0 + 1e-4
    codec.decode_offset = 0.0
    np.testing.assert_allclose((codec.decode(maps)[0] - pts).mean((0, 1)), [-2, -2], atol=0.15)


def official_face_state(k: int) -> dict:
    """A random state dict in the official key layout: the HRNet backbone keys at the top
    level, ``head.0`` conv 270 -> 270, ``head.1`` BN, ``head.3`` conv -> K."""
    backbone = HRNet(arch='w18', out_mode='concat', upsample_mode='bilinear',
                     align_corners=False)  # PyTorch's default init keeps activations finite
    state = dict(backbone.state_dict())
    state.update({
        'head.0.weight': torch.randn(270, 270, 1, 1) * 0.05, 'head.0.bias': torch.randn(270),
        'head.1.weight': torch.rand(270) + 0.5, 'head.1.bias': torch.randn(270),
        'head.1.running_mean': torch.randn(270), 'head.1.running_var': torch.rand(270) + 0.5,
        'head.1.num_batches_tracked': torch.tensor(7),
        'head.3.weight': torch.randn(k, 270, 1, 1) * 0.05, 'head.3.bias': torch.randn(k)})
    return state


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location(
        'convert_checkpoint', osp.join(ROOT, 'tools', 'convert_checkpoint.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_official_checkpoint_converts_and_computes_the_official_head(models, tool, tmp_path,
                                                                     capsys):
    state = official_face_state(68)
    src, out = tmp_path / 'HR18-300W.pth', tmp_path / 'ours.pth'
    torch.save({'state_dict': {f'module.{k}': v for k, v in state.items()}}, src)
    converted = tool.main(['--src', 'official', '--task', 'face', str(src), str(out)])
    printed = capsys.readouterr().out
    assert 'arch: w18 (config: configs/face/hrnetv2_w18_300w_256x256.py)' in printed
    assert 'tensors: 1839 written' in printed
    assert face_ours_to_official(converted.state_dict).keys() == state.keys()
    model = models['300w'].eval()
    model.load_state_dict(load_checkpoint_file(str(out))['state_dict'], strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        feats = model.backbone(x)[0]
        y = F.conv2d(feats, state['head.0.weight'], state['head.0.bias'])
        y = F.batch_norm(y, state['head.1.running_mean'], state['head.1.running_var'],
                         state['head.1.weight'], state['head.1.bias'], eps=1e-5)
        official = F.conv2d(F.relu(y), state['head.3.weight'], state['head.3.bias'])
        torch.testing.assert_close(model(x), official, rtol=1e-5, atol=1e-5)


def test_mmpose_layout_and_errors():
    ours = convert_checkpoint(official_face_state(19), 'official').state_dict
    again = convert_checkpoint(ours, 'mmpose')  # mmpose 1.x names are ours
    assert again.config == 'configs/face/hrnetv2_w18_aflw_256x256.py'
    assert again.state_dict.keys() == ours.keys()
    # a point count without a shipped config converts, with no config to verify against
    assert convert_checkpoint(official_face_state(5), 'official').config is None
    with pytest.raises(ConversionError, match='head.0, head.1 and head.3 only'):
        convert_checkpoint({**official_face_state(19), 'head.4.weight': torch.zeros(1)},
                           'official')
    with pytest.raises(ConversionError, match='not a face landmark model'):
        convert_checkpoint({k: v for k, v in ours.items() if 'final_layer' not in k}, 'mmpose')
    with pytest.raises(ConversionError, match="not 'timm'"):
        convert_checkpoint(ours, 'timm')
