"""The shared HRNet backbone: sizes of every preset, output modes and training options."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from torch.nn.modules.batchnorm import _BatchNorm

from conftest import ROOT
from hrnet_tasks.models.backbones.hrnet import ARCH_SETTINGS, HRNet, arch_name
from hrnet_tasks.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread', 'seeded')

# arch: (our count = mmpretrain's, no head conv bias; official/timm count; published M)
PARAMS = {
    'w18_small_v1': (13_183_624, 13_187_464, 13.19),
    'w18_small_v2': (15_593_624, 15_597_464, 15.60),
    'w18': (21_295_164, 21_299_004, 21.30),
    'w30': (37_708_380, 37_712_220, 37.71),
    'w32': (41_228_840, 41_232_680, 41.23),
    'w40': (57_553_320, 57_557_160, 57.56),
    'w44': (67_061_144, 67_064_984, 67.06),
    'w48': (77_466_024, 77_469_864, 77.47),
    'w64': (128_056_104, 128_059_944, 128.06),
}
HEAD_CONV_BIASES = 256 + 512 + 1024 + 2048  # the four official head conv biases we fold
SMALL = 'w18_small_v1'  # C = 16: branches 16/32/64/128


def cls_config(arch):
    return Config.fromfile(osp.join(ROOT, f'configs/cls/hrnet_{arch}.py'))


def run(model, x):
    with torch.no_grad():
        return model(x)


def test_all_presets_have_a_count():
    assert set(PARAMS) == set(ARCH_SETTINGS)


@pytest.mark.parametrize('arch', list(PARAMS))
def test_classification_param_count(arch):
    ours, official, published = PARAMS[arch]
    model = MODELS.build(cls_config(arch).model)
    count = sum(p.numel() for p in model.parameters())
    assert count == ours
    assert count + HEAD_CONV_BIASES == official
    assert abs(count / 1e6 - published) < 0.01
    width = ARCH_SETTINGS[arch]['stage4']['num_channels'][0]
    assert model.backbone.arch == arch
    assert model.backbone.out_channels == [width, 2 * width, 4 * width, 8 * width]


def test_out_mode_all_strides_and_channels():
    model = HRNet(arch=SMALL).eval()
    outs = run(model, torch.randn(2, 3, 64, 64))
    assert isinstance(outs, tuple) and len(outs) == 4
    assert [tuple(o.shape) for o in outs] == [(2, 16, 16, 16), (2, 32, 8, 8), (2, 64, 4, 4),
                                              (2, 128, 2, 2)]
    assert model.out_channels == [16, 32, 64, 128]
    assert all(o.min() >= 0 and o.max() > 0 for o in outs)  # ReLU after the fuse sum


def test_out_mode_highest_builds_one_fuse_row():
    full, single = HRNet(arch='w32'), HRNet(arch='w32', out_mode='highest')
    assert [len(m.fuse_layers) for m in single.stage4] == [4, 4, 1]
    extra = set(full.state_dict()) - set(single.state_dict())
    assert set(single.state_dict()) < set(full.state_dict())
    assert len(extra) == 78
    assert {k.split('.')[3] for k in extra} == {'1', '2', '3'}
    assert all(k.startswith('stage4.2.fuse_layers.') for k in extra)
    assert single.out_channels == [32]

    # Same weights: the single output equals the first of the four.
    full, single = HRNet(arch=SMALL).eval(), HRNet(arch=SMALL, out_mode='highest').eval()
    single.load_state_dict({k: v for k, v in full.state_dict().items()
                            if k in single.state_dict()})
    x = torch.randn(1, 3, 64, 64)
    out = run(single, x)
    assert len(out) == 1 and out[0].shape == (1, 16, 16, 16)
    assert torch.allclose(out[0], run(full, x)[0], atol=1e-6)


def test_out_mode_concat_is_hrnetv2_representation():
    full, concat = HRNet(arch=SMALL).eval(), HRNet(arch=SMALL, out_mode='concat').eval()
    concat.load_state_dict(full.state_dict())
    x = torch.randn(1, 3, 64, 64)
    (out, ), branches = run(concat, x), run(full, x)
    assert out.shape == (1, 16 + 32 + 64 + 128, 16, 16) and concat.out_channels == [240]
    assert torch.allclose(out[:, :16], branches[0], atol=1e-6)
    up = F.interpolate(branches[3], size=(16, 16), mode='bilinear', align_corners=False)
    assert torch.allclose(out[:, 112:], up, atol=1e-5)


def test_bilinear_fuse_accepts_any_size_nearest_is_default():
    assert cls_config(SMALL).model.backbone.upsample_mode == 'nearest'
    nearest = HRNet(arch=SMALL).eval()
    assert all(m.upsample_mode == 'nearest' for m in nearest.stage4)
    bilinear = HRNet(arch=SMALL, upsample_mode='bilinear').eval()
    bilinear.load_state_dict(nearest.state_dict())
    odd = torch.randn(1, 3, 72, 88)  # not a multiple of 32
    outs = run(bilinear, odd)
    assert [tuple(o.shape[-2:]) for o in outs] == [(18, 22), (9, 11), (5, 6), (3, 3)]
    with pytest.raises(RuntimeError):  # x2 nearest of 5x6 is 10x12, not 9x11
        run(nearest, odd)
    x = torch.randn(1, 3, 64, 64)  # where both run, the mode really changes the function
    assert (run(bilinear, x)[0] - run(nearest, x)[0]).abs().max() > 1e-3


STAGE_PREFIXES = {0: ('bn1.', 'bn2.'), 1: ('layer1.', ),
                  **{k: (f'transition{k - 1}.', f'stage{k}.') for k in (2, 3, 4)}}


@pytest.mark.parametrize('frozen', [0, 2])
def test_frozen_stages(frozen):
    model = HRNet(arch=SMALL, frozen_stages=frozen).train()
    before = {k: v.clone() for k, v in model.state_dict().items() if k.endswith('running_mean')}
    run(model, torch.randn(2, 3, 64, 64))
    after = model.state_dict()
    for stage in range(5):
        modules = model.stage_modules(stage)
        params = [p for m in modules for p in m.parameters()]
        norms = [n for m in modules for n in m.modules() if isinstance(n, _BatchNorm)]
        assert params and norms
        is_frozen = stage <= frozen
        assert all(p.requires_grad != is_frozen for p in params)
        assert all(n.training != is_frozen for n in norms)
        # frozen BN keep their statistics in a train-mode forward, the others update them
        keys = [k for k in before if k.startswith(STAGE_PREFIXES[stage])]
        assert keys and all(torch.equal(before[k], after[k]) == is_frozen for k in keys)
    assert all(any(k.startswith(p) for p in sum(STAGE_PREFIXES.values(), ())) for k in before)


def test_norm_eval_keeps_statistics():
    model = HRNet(arch=SMALL, norm_eval=True).train()
    assert model.training
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))
    assert all(p.requires_grad for p in model.parameters())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    run(model, torch.randn(2, 3, 64, 64))
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


@pytest.mark.filterwarnings('ignore:torch.utils.checkpoint')
def test_with_cp_gives_same_gradients():
    plain = HRNet(arch=SMALL).train()
    ckpt = HRNet(arch=SMALL, with_cp=True).train()
    ckpt.load_state_dict(plain.state_dict())
    calls = {'plain': 0, 'ckpt': 0}
    for name, model in (('plain', plain), ('ckpt', ckpt)):
        model.stage3[0].branches[0][0].conv1.register_forward_hook(
            lambda *_, name=name: calls.__setitem__(name, calls[name] + 1))
    x = torch.randn(2, 3, 64, 64)
    for model in (plain, ckpt):
        loss = sum((o ** 2).mean() for o in model(x))
        loss.backward()
    assert calls == {'plain': 1, 'ckpt': 2}  # checkpointing recomputes in backward
    grads = dict(plain.named_parameters())
    checked = 0
    for name, p in ckpt.named_parameters():
        ref = grads[name].grad
        assert p.grad is not None and ref is not None, name
        assert torch.allclose(p.grad, ref, rtol=1e-4, atol=1e-6), name
        checked += 1
    assert checked == len(grads) and any(g.grad.abs().max() > 0 for g in grads.values())


def test_custom_extra_matches_preset():
    extra = dict(  # mmpretrain/mmpose style, lists instead of tuples
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=[1],
                    num_channels=[32]),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=[2, 2],
                    num_channels=[16, 32]),
        stage3=dict(num_modules=1, num_branches=3, block='BASIC', num_blocks=[2, 2, 2],
                    num_channels=[16, 32, 64]),
        stage4=dict(num_modules=1, num_branches=4, block='BASIC', num_blocks=[2, 2, 2, 2],
                    num_channels=[16, 32, 64, 128]))
    assert arch_name(extra) == SMALL
    custom, preset = HRNet(extra=extra), HRNet(arch=SMALL)
    assert custom.arch == SMALL
    shapes = {k: v.shape for k, v in preset.state_dict().items()}
    assert {k: v.shape for k, v in custom.state_dict().items()} == shapes

    extra['stage4']['num_blocks'] = [1, 1, 1, 1]
    assert arch_name(extra) == 'custom'
    other = HRNet(extra=extra)
    assert other.arch == 'custom'
    assert sum(p.numel() for p in other.parameters()) < \
        sum(p.numel() for p in preset.parameters())


def test_unknown_arch_lists_valid_archs():
    with pytest.raises(KeyError) as err:
        HRNet(arch='w19')
    message = str(err.value)
    assert "'w19'" in message
    assert all(name in message for name in ARCH_SETTINGS)


def test_classifier_tensor_mode_returns_logits():
    cfg = cls_config(SMALL)
    cfg.model.head.num_classes = 7
    model = MODELS.build(cfg.model).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        out = model(x, mode='tensor')
        pooled = model.extract_feat(x)[-1]
        assert pooled.shape == (2, 2048)
        assert out.shape == (2, 7)
        assert torch.allclose(out, model.head.fc(pooled), atol=1e-6)


def test_hr_module_does_not_mutate_its_input():
    module = HRNet(arch=SMALL).eval().stage4[0]
    xs = [torch.randn(1, c, s, s) for c, s in ((16, 8), (32, 4), (64, 2), (128, 1))]
    originals, copies = list(xs), [x.clone() for x in xs]
    with torch.no_grad():
        outs = module(xs)
    assert len(xs) == 4 and all(a is b for a, b in zip(xs, originals))
    assert all(torch.equal(a, b) for a, b in zip(xs, copies))
    assert [tuple(o.shape) for o in outs] == [tuple(x.shape) for x in xs]
    assert not any(o is x for o in outs for x in xs)
