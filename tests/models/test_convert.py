"""Checkpoint conversion: timm/official and mmpretrain weights give the same logits in our model.

Random weights with BN statistics calibrated on a random batch (activations stay O(1)) and
random head conv biases, so the bias fold and every renamed tensor matter.
"""
import importlib.util
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine import DefaultScope
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from torch.nn.modules.batchnorm import _BatchNorm

from conftest import ROOT, run_tool
from hrnet_tasks.engine.checkpoint import atomic_save, load_checkpoint_file
from hrnet_tasks.engine.arch_check import check_hrnet_archs
from hrnet_tasks.models.backbones.hrnet import HRNet
from hrnet_tasks.models.converters.cls import (HEAD_BIAS_TO_BN, convert, head_biases,
                                              ours_to_official)
from hrnet_tasks.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread', 'seeded')

timm = pytest.importorskip('timm')

# arch -> timm name, input side, batch (w32 kept small: 2 CPU cores)
CASES = {'w18_small_v1': ('hrnet_w18_small', 224, 2), 'w32': ('hrnet_w32', 128, 1)}
TOL = 1e-4
# mmpretrain has no preset for the small nets: its `extra` stage table (official yaml).
MMP_EXTRA = {
    'w18_small_v1': dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1, ),
                    num_channels=(32, )),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(2, 2),
                    num_channels=(16, 32)),
        stage3=dict(num_modules=1, num_branches=3, block='BASIC', num_blocks=(2, 2, 2),
                    num_channels=(16, 32, 64)),
        stage4=dict(num_modules=1, num_branches=4, block='BASIC', num_blocks=(2, 2, 2, 2),
                    num_channels=(16, 32, 64, 128))),
}
MMP_IN_CHANNELS = {'w18_small_v1': (16, 32, 64, 128), 'w32': (32, 64, 128, 256)}


def build_ours(arch):
    return MODELS.build(Config.fromfile(osp.join(ROOT, f'configs/cls/hrnet_{arch}.py')).model)


def build_mmpretrain(arch):
    """mmpretrain's own ImageClassifier with mmpretrain's HRNet (not ours)."""
    from mmpretrain.registry import MODELS as MMP_MODELS
    backbone = dict(type='HRNet', extra=MMP_EXTRA[arch]) if arch in MMP_EXTRA else \
        dict(type='HRNet', arch=arch)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MMP_MODELS.build(dict(
            type='ImageClassifier', backbone=backbone,
            neck=[dict(type='HRFuseScales', in_channels=MMP_IN_CHANNELS[arch]),
                  dict(type='GlobalAveragePooling')],
            head=dict(type='LinearClsHead', num_classes=1000, in_channels=2048)))
    assert type(model.backbone).__module__ == 'mmpretrain.models.backbones.hrnet'
    return model


def randomize_and_calibrate(model, forward, size, seed):
    """Random BN affine, head conv and fc biases; BN stats = those of 2 random images."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, _BatchNorm):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.2)
                m.reset_running_stats()
                m.momentum = None  # cumulative average: one batch -> its exact statistics
            elif isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen))
        model.train()
        forward(model, torch.randn(2, 3, size, size, generator=gen))
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.momentum = 0.1
    return model.eval()


def logits(model, x):
    with torch.no_grad():
        return model(x, mode='tensor')


def report(what, arch, diff, ref):
    """Shown with -s: the measured numbers behind the thresholds."""
    print(f'{what} {arch}: max abs logit diff {diff:.2e} (|logits| <= {ref.abs().max():.2f})')


def max_diff(a, b):
    assert a.shape == b.shape
    return (a - b).abs().max().item()


@pytest.fixture(scope='module')
def timm_case():
    """arch -> (calibrated timm model, input, timm logits, timm state dict), built once."""
    cache = {}

    def get(arch):
        if arch not in cache:
            name, size, batch = CASES[arch]
            model = timm.create_model(name, pretrained=False)
            randomize_and_calibrate(model, lambda m, x: m(x), size, seed=1)
            x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(2))
            with torch.no_grad():
                ref = model(x)
            assert ref.shape == (batch, 1000) and ref.abs().max() > 0.1  # not degenerate
            cache[arch] = model, x, ref, model.state_dict()
        return cache[arch]
    return get


@pytest.mark.parametrize('arch', list(CASES))
def test_timm_parity(arch, timm_case, tmp_path):
    _, x, ref, state = timm_case(arch)
    assert head_biases(state, 'timm') == list(HEAD_BIAS_TO_BN)
    assert all(state[k].abs().max() > 0.1 for k in HEAD_BIAS_TO_BN)  # the fold matters
    converted = convert(state, 'timm')
    ours = build_ours(arch)
    ours.load_state_dict(converted, strict=True)
    diff = max_diff(logits(ours.eval(), x), ref)
    report('timm -> ours', arch, diff, ref)
    assert diff < TOL

    if arch != 'w18_small_v1':
        return
    # The command-line tool gives the same tensors, loadable by mmengine strictly.
    src, out = tmp_path / 'timm.pth', tmp_path / 'ours.pth'
    torch.save(state, src)
    proc = run_tool('tools/convert_checkpoint.py', '--src', 'timm', str(src), str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'arch: w18_small_v1 (config: configs/cls/hrnet_w18_small_v1.py)' in proc.stdout
    assert f'tensors: {len(converted)} written' in proc.stdout
    assert 'folded head biases into BN running means: downsamp_modules.0.0.bias, ' \
           'downsamp_modules.1.0.bias, downsamp_modules.2.0.bias, final_layer.0.bias' \
           in proc.stdout
    saved = load_checkpoint_file(str(out))
    assert saved['meta'] == dict(arch='w18_small_v1', source='timm', task='cls',
                                 converted_from='timm.pth')
    fresh = build_ours(arch)
    load_checkpoint(fresh, str(out), strict=True)
    loaded = fresh.state_dict()
    assert list(saved['state_dict']) == list(converted)
    assert all(torch.equal(loaded[k], v) for k, v in converted.items())


def test_dropping_head_biases_changes_logits(timm_case):
    """Dropping the head conv biases (instead of folding them) is measurably wrong."""
    arch = 'w18_small_v1'
    _, x, ref, state = timm_case(arch)
    dropped = {k: v for k, v in state.items() if k not in HEAD_BIAS_TO_BN}
    ours = build_ours(arch)
    ours.load_state_dict(convert(dropped, 'timm'), strict=True)
    diff = max_diff(logits(ours.eval(), x), ref)
    report('head biases dropped', arch, diff, ref)
    assert diff > 1e-3


def test_export_round_trip(timm_case):
    """ours -> official -> ours is the identity; the export runs in timm unchanged."""
    arch = 'w18_small_v1'
    _, x, ref, state = timm_case(arch)
    ours = convert(state, 'timm')
    official = ours_to_official(ours)
    assert set(official) == set(state)
    assert all(official[k].shape == state[k].shape for k in state)
    assert all(not official[k].any() for k in HEAD_BIAS_TO_BN)  # zero biases, folded means
    again = convert(official, 'official')
    assert list(again) == list(ours)
    assert all(torch.equal(again[k], v) for k, v in ours.items())
    exported = timm.create_model(CASES[arch][0], pretrained=False)
    exported.load_state_dict(official, strict=True)
    with torch.no_grad():
        diff = max_diff(exported.eval()(x), ref)
    assert diff < TOL


@pytest.mark.parametrize('arch', list(CASES))
def test_mmpretrain_parity(arch, tmp_path):
    _, size, batch = CASES[arch]
    mmp = randomize_and_calibrate(build_mmpretrain(arch), lambda m, x: m(x, mode='tensor'),
                                  size, seed=3)
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(4))
    ref = logits(mmp, x)
    assert ref.abs().max() > 0.1
    ours = build_ours(arch)
    if arch == 'w18_small_v1':  # through the tool, from an mmpretrain-style container
        src, out = tmp_path / 'mmp.pth', tmp_path / 'ours.pth'
        torch.save({'meta': {'mmpretrain_version': '1.2.0'}, 'state_dict': mmp.state_dict()}, src)
        proc = run_tool('tools/convert_checkpoint.py', '--src', 'mmpretrain', str(src), str(out))
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert 'arch: w18_small_v1' in proc.stdout and 'folded head biases: none' in proc.stdout
        load_checkpoint(ours, str(out), strict=True)
    else:
        ours.load_state_dict(convert(mmp.state_dict(), 'mmpretrain'), strict=True)
    diff = max_diff(logits(ours.eval(), x), ref)
    report('mmpretrain -> ours', arch, diff, ref)
    assert diff < TOL


def test_mmpretrain_head_biases_are_folded():
    """Old mmcls exports with neck conv biases: folded exactly like the official ones."""
    state = build_ours('w18_small_v1').state_dict()
    key, mean = 'neck.0.final_layer.conv.bias', 'neck.0.final_layer.bn.running_mean'
    bias = torch.randn(2048)
    out = convert({**state, key: bias}, 'mmpretrain')
    assert key not in out and torch.equal(out[mean], state[mean] - bias)
    assert head_biases({**state, key: bias}, 'mmpretrain') == [key]


def test_wrong_layout_and_unknown_keys_are_named():
    state = build_ours('w18_small_v1').state_dict()
    with pytest.raises(KeyError, match="'backbone.conv1.weight'.*src='mmpretrain'"):
        convert(state, 'official')
    with pytest.raises(KeyError, match="'conv1.weight'.*src='official'"):
        convert(ours_to_official(state), 'mmpretrain')
    with pytest.raises(KeyError, match="'keypoint_head.final.weight'"):
        convert({**state, 'keypoint_head.final.weight': torch.zeros(1)}, 'mmpretrain')
    with pytest.raises(ValueError, match='unknown source'):
        convert(state, 'caffe')


@pytest.fixture(scope='module')
def tool():
    """tools/convert_checkpoint.py as a module, to call main() in-process."""
    spec = importlib.util.spec_from_file_location(
        'convert_checkpoint', osp.join(ROOT, 'tools', 'convert_checkpoint.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tool_reads_safetensors(tool, timm_case, tmp_path, capsys):
    from safetensors.torch import save_file
    state = timm_case('w18_small_v1')[3]
    src, out = tmp_path / 'model.safetensors', tmp_path / 'ours.pth'
    save_file({k: v.contiguous() for k, v in state.items()}, str(src))
    converted = tool.main(['--src', 'timm', str(src), str(out)])
    assert converted.arch == 'w18_small_v1' and converted.folded == list(HEAD_BIAS_TO_BN)
    assert 'tensors: 548 written' in capsys.readouterr().out
    saved = load_checkpoint_file(str(out))['state_dict']
    expected = convert(state, 'timm')
    assert set(saved) == set(expected)  # safetensors stores keys sorted
    assert all(torch.equal(saved[k], v) for k, v in expected.items())


def test_tool_errors_are_one_line(tool, tmp_path):
    missing = run_tool('tools/convert_checkpoint.py', '--src', 'timm',
                       str(tmp_path / 'nope.pth'), str(tmp_path / 'out.pth'))
    assert missing.returncode == 1
    assert missing.stderr.strip() == f'error: input checkpoint not found: {tmp_path / "nope.pth"}'

    bad = tmp_path / 'pose.pth'
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(64, 3, 3, 3),
                               'keypoint_head.final_layer.weight': torch.zeros(17, 32, 1, 1)}},
               bad)
    with pytest.raises(SystemExit) as exc:
        tool.main(['--src', 'mmpretrain', str(bad), str(tmp_path / 'out.pth')])
    message = str(exc.value.code)
    assert message.startswith("error: unexpected key 'keypoint_head.final_layer.weight'")
    assert '\n' not in message and not (tmp_path / 'out.pth').exists()


@pytest.fixture(scope='module')
def w32_cls_checkpoint(tmp_path_factory):
    """A full w32 classification checkpoint of this project (random init)."""
    model = build_ours('w32')
    path = str(tmp_path_factory.mktemp('w32') / 'w32_cls.pth')
    atomic_save({'meta': {'arch': 'w32'}, 'state_dict': model.state_dict()}, path)
    return path, model


def test_arch_mismatch_names_both_archs(w32_cls_checkpoint, tmp_path):
    w18 = {'backbone.' + k: v for k, v in HRNet(arch='w18').state_dict().items()}
    path = str(tmp_path / 'w18.pth')
    atomic_save({'state_dict': w18}, path)
    _, w32_model = w32_cls_checkpoint
    with pytest.raises(ValueError) as runner_err:  # what Runner.load_checkpoint runs first
        check_hrnet_archs(w32_model, w18, path)
    with pytest.raises(ValueError) as backbone_err:
        HRNet(arch='w32').load_pretrained(path, prefix='backbone.')
    for err in (runner_err, backbone_err):
        assert "'w18'" in str(err.value) and "'w32'" in str(err.value)
        assert 'configs/cls/hrnet_w18.py' in str(err.value)


def test_full_checkpoint_into_highest_backbone_reports_fuse_rows(w32_cls_checkpoint):
    path, model = w32_cls_checkpoint
    backbone = HRNet(arch='w32', out_mode='highest')
    report = backbone.load_pretrained(path, prefix='backbone.')
    last = len(backbone.stage4) - 1
    assert last == 2 and report['missing'] == []
    assert len(report['unexpected']) == 78
    assert {k.split('.fuse_layers.')[1].split('.')[0] for k in report['unexpected']} == \
        {'1', '2', '3'}
    assert all(k.startswith(f'stage4.{last}.fuse_layers.') for k in report['unexpected'])
    assert len(report['loaded']) == len(backbone.state_dict())
    assert torch.equal(backbone.stage4[2].fuse_layers[0][3][0].weight,
                       model.backbone.stage4[2].fuse_layers[0][3][0].weight)


def test_backbone_only_checkpoint_report(tmp_path):
    source = HRNet(arch='w18_small_v1')
    state = source.state_dict()
    dropped = 'stage2.0.branches.0.0.bn1.running_var'
    state = {k: v for k, v in state.items() if k != dropped}
    state['extra_layer.weight'] = torch.zeros(3)
    path = str(tmp_path / 'backbone.pth')
    torch.save(state, path)
    target = HRNet(arch='w18_small_v1')
    with torch.no_grad():
        target.conv1.weight.zero_()
    report = target.load_pretrained(path)
    assert report['missing'] == [dropped]
    assert report['unexpected'] == ['extra_layer.weight']
    assert len(report['loaded']) == len(state) - 1
    assert torch.equal(target.conv1.weight, source.conv1.weight)
