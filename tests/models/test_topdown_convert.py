"""Checkpoint layouts users hold: official and mmpose top-down pose, mmpose 1.x associative
embedding, mmseg HRNet segmentation. Source state dicts are built from the key layouts of
../shared/docs (the official key list, the mmseg table) and must load strictly into the
model of the config the converter names, with the same outputs."""
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT
from hrnet_tasks.models.converters.common import BACKBONE_KEY
from hrnet_tasks.registry import MODELS

DOCS = osp.join(ROOT, '..', 'shared', 'docs')
sys.path.insert(0, osp.join(ROOT, 'tools'))
import convert_checkpoint  # noqa: E402


def official_topdown_keys(arch='w32'):
    """The official pose_hrnet key layout: the backbone rows of the official (HigherHRNet)
    key list -- the same 'highest' backbone -- plus final_layer (1x1 conv C -> 17)."""
    path = osp.join(DOCS, f'pose_official_state_dict_{arch}.tsv')
    if not osp.isfile(path):
        pytest.skip(f'official key list not found: {path} (../shared beside the repo)')
    rows = [line.rstrip('\n').split('\t') for line in open(path) if line.strip()]
    keys = [(k, tuple(int(v) for v in s.strip('()').split(',') if v.strip())) for k, s in rows
            if BACKBONE_KEY.match(k)]
    c = int(arch[1:])
    return keys + [('final_layer.weight', (17, c, 1, 1)), ('final_layer.bias', (17, ))]


def random_state(layout, seed=0):
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in layout:
        if key.endswith('num_batches_tracked'):
            state[key] = torch.tensor(7)
        elif key.endswith('running_var'):
            state[key] = torch.rand(shape, generator=gen) + 0.5
        else:
            state[key] = torch.randn(shape, generator=gen) * 0.1
    return state


def convert(state, tmp_path, *args):
    src, out = tmp_path / 'src.pth', tmp_path / 'out.pth'
    torch.save(state, src)
    converted = convert_checkpoint.main([*args, str(src), str(out)])
    return converted, torch.load(out, weights_only=True)['state_dict']


def load_into_config(converted, state):
    model = MODELS.build(Config.fromfile(osp.join(ROOT, converted.config)).model)
    missing, unexpected = model.load_state_dict(state, strict=True)
    assert not missing and not unexpected
    return model.eval()


def test_official_topdown_checkpoint(tmp_path):
    layout = official_topdown_keys()
    assert len(layout) == 1754  # 1,752 backbone entries + final_layer.{weight,bias}
    assert sum(k.startswith('stage4.2.fuse_layers.') for k, _ in layout) == 18
    official = random_state(layout)
    training = {'module.' + k: v for k, v in official.items()}  # a DataParallel checkpoint
    converted, state = convert(training, tmp_path, '--src', 'official', '--task', 'topdown')
    assert converted.arch == 'w32'
    assert converted.config == 'configs/pose_topdown/hrnet_w32_coco_256x192.py'
    model = load_into_config(converted, state)
    assert torch.equal(model.head.final_layer.weight, official['final_layer.weight'])
    assert torch.equal(model.backbone.stage4[2].fuse_layers[0][1][0].weight,
                       official['stage4.2.fuse_layers.0.1.0.weight'])


def test_mmpose_topdown_checkpoints_1x_0x_and_multiscale_backbone(tmp_path):
    official = random_state(official_topdown_keys('w32'), seed=1)
    mm1 = {('head.' + k if k.startswith('final_layer') else 'backbone.' + k): v
           for k, v in official.items()}
    # a backbone saved with all four stage-4 outputs has fuse rows 1-3 in its last module
    full = MODELS.build(dict(type='HRNet', arch='w32', out_mode='all')).state_dict()
    extra = {f'backbone.{k}': v for k, v in full.items()
             if k.startswith(('stage4.2.fuse_layers.1.', 'stage4.2.fuse_layers.2.',
                              'stage4.2.fuse_layers.3.'))}
    assert extra
    converted, state = convert({'state_dict': {**mm1, **extra}}, tmp_path, '--src', 'mmpose',
                               '--task', 'topdown')
    assert converted.config == 'configs/pose_topdown/hrnet_w32_coco_256x192.py'
    load_into_config(converted, state)
    assert not any(k in state for k in extra) and len(state) == 1754
    # mmpose 0.x: keypoint_head.*; the same tensors come out
    mm0 = {k.replace('head.', 'keypoint_head.', 1): v for k, v in mm1.items()}
    _, state0 = convert(mm0, tmp_path, '--src', 'mmpose', '--task', 'topdown')
    assert state0.keys() == state.keys()
    assert all(torch.equal(state0[k], state[k]) for k in state)


def test_topdown_converter_rejects_other_layouts(tmp_path, capsys):
    face_like = {'backbone.conv1.weight': torch.zeros(64, 3, 3, 3),
                 'head.conv_layers.0.weight': torch.zeros(270, 270, 1, 1),
                 'head.final_layer.weight': torch.zeros(98, 270, 1, 1)}
    with pytest.raises(SystemExit, match='a face model'):
        convert(face_like, tmp_path, '--src', 'mmpose', '--task', 'topdown')
    with pytest.raises(SystemExit, match='not an official top-down checkpoint'):
        convert({'backbone.conv1.weight': torch.zeros(1)}, tmp_path, '--src', 'official',
                '--task', 'topdown')


def test_mmpose_1x_associative_embedding_checkpoint(tmp_path):
    layout = [(('backbone.' + k) if k != 'final_layer.weight' and k != 'final_layer.bias'
               else 'head.' + k, s) for k, s in official_topdown_keys()]
    layout = [(k, (34, 32, 1, 1) if k == 'head.final_layer.weight' else
               (34, ) if k == 'head.final_layer.bias' else s) for k, s in layout]
    mm = random_state(layout, seed=2)
    converted, state = convert({'meta': {}, 'state_dict': mm}, tmp_path, '--src', 'mmpose',
                               '--task', 'pose')
    assert converted.config == 'configs/pose/hrnet_w32_coco_512_ae.py'
    model = load_into_config(converted, state)
    assert torch.equal(model.head.final_layers[0].bias, mm['head.final_layer.bias'])
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert len(out) == 1 and out[0].shape == (1, 34, 16, 16)  # heatmaps + tags at 1/4


_BN = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')


def _conv_bn(name):
    return [f'{name}.conv.weight'] + [f'{name}.bn.{k}' for k in _BN]


def mmseg_head_keys(kind: str):
    """mmseg's decode-head keys of fcn_hr* / ocrnet_hr* (the mapping table of
    ../shared/docs/seg_hrnetv2.md section 10.2; ConvModules without conv biases)."""
    fcn = lambda p: _conv_bn(f'{p}.convs.0') + [f'{p}.conv_seg.weight',  # noqa: E731
                                                f'{p}.conv_seg.bias']
    if kind == 'fcn':
        return fcn('decode_head')
    ocb = 'decode_head.1.object_context_block'
    keys = fcn('decode_head.0') + _conv_bn('decode_head.1.bottleneck')
    for proj in ('query_project', 'key_project'):
        keys += _conv_bn(f'{ocb}.{proj}.0') + _conv_bn(f'{ocb}.{proj}.1')
    for proj in ('value_project', 'out_project', 'bottleneck'):
        keys += _conv_bn(f'{ocb}.{proj}')
    return keys + ['decode_head.1.conv_seg.weight', 'decode_head.1.conv_seg.bias']


@pytest.mark.parametrize('config,kind', [('fcn_hrnetv2_w18_cityscapes_512x1024.py', 'fcn'),
                                         ('ocr_hrnetv2_w18_cityscapes_512x1024.py', 'ocr')])
def test_mmseg_checkpoint_layout_loads_strictly(config, kind, tmp_path):
    """mmseg fcn_hr* / ocrnet_hr* checkpoints need no converter: ``backbone.<official key>``
    plus mmseg's head names are our EncoderDecoder's keys."""
    from hrnet_tasks.apis import init_model
    cfg = osp.join(ROOT, 'configs', 'seg', config)
    model = MODELS.build(Config.fromfile(cfg).model)
    backbone = MODELS.build(dict(type='HRNet', arch='w18', out_mode='concat',
                                 upsample_mode='bilinear')).state_dict()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    layout = [(f'backbone.{k}', tuple(v.shape)) for k, v in backbone.items()]
    layout += [(k, shapes[k]) for k in mmseg_head_keys(kind)]  # KeyError: a name differs
    assert sorted(k for k, _ in layout) == sorted(shapes)
    mmseg = dict(meta=dict(mmseg_version='1.2.2', dataset_meta=dict(classes=['c'] * 19)),
                 state_dict=random_state(layout, seed=3))
    path = tmp_path / f'{kind}_hr18_mmseg.pth'
    torch.save(mmseg, path)
    loaded = init_model(cfg, str(path))  # strict load, HRNet arch checked
    assert torch.equal(loaded.state_dict()['decode_head.conv_seg.weight' if kind == 'fcn' else
                                           'decode_head.1.conv_seg.weight'],
                       mmseg['state_dict']['decode_head.conv_seg.weight' if kind == 'fcn' else
                                           'decode_head.1.conv_seg.weight'])
