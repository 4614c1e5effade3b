"""Widths flow from the backbone: one arch override builds and runs every task; the configs
hold no top-level keys that nothing reads."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT
from hrnet_tasks.engine.launch import check_cfg_options
from hrnet_tasks.errors import ConfigError
from hrnet_tasks.models.backbones import ARCH_SETTINGS
from hrnet_tasks.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread', 'seeded')

CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True))
TASK_CONFIGS = [c for c in CONFIGS if '_base_' not in c]


def load(name: str, options: dict) -> Config:
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    check_cfg_options(cfg, options)  # what tools/train.py runs before merging
    cfg.merge_from_dict(options)
    return cfg


@pytest.mark.parametrize('name', ['cls/hrnet_w32.py', 'pose/higherhrnet_w32_coco_512.py',
                                  'seg/ocr_hrnetv2_w48_cityscapes_512x1024.py'])
def test_arch_override_builds_and_runs(name):
    """``--cfg-options model.backbone.arch=w18`` (the tools' --help example) on each task."""
    model = MODELS.build(load(name, {'model.backbone.arch': 'w18'}).model).eval()
    assert model.backbone.arch == 'w18'
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        out = model(x, mode='tensor')
    outs = out if isinstance(out, (list, tuple)) else [out]
    assert all(torch.isfinite(o).all() for o in outs)
    if name.startswith('cls'):
        assert out.shape == (1, 1000)
        assert model.neck[0].in_channels == (18, 36, 72, 144)
    elif name.startswith('pose'):
        assert [tuple(o.shape) for o in out] == [(1, 34, 16, 16), (1, 17, 32, 32)]
        assert model.head.in_channels == 18
    else:
        assert [tuple(o.shape) for o in out] == [(1, 19, 16, 16)] * 2
        assert model.decode_head[0].in_channels == model.decode_head[1].in_channels == 270


@pytest.mark.parametrize('option', ['norm_cfg.type', 'backbone.arch'])
def test_top_level_backbone_keys_are_gone(option):
    with pytest.raises(ConfigError) as err:
        load('cls/hrnet_w32.py', {option: 'SyncBN'})
    message = str(err.value)
    assert '\n' not in message and f"unknown key '{option.split('.')[0]}'" in message
    assert 'valid keys:' in message and 'model' in message


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_no_config_defines_top_level_backbone_or_norm(path):
    cfg = Config.fromfile(path)
    assert 'backbone' not in cfg and 'norm_cfg' not in cfg


def test_per_arch_files_only_name_the_arch():
    """Every per-arch classification config differs from its base by the arch alone."""
    for arch in ARCH_SETTINGS:
        model = Config.fromfile(osp.join(ROOT, 'configs', 'cls', f'hrnet_{arch}.py')).model
        assert model.backbone.arch == arch
        assert 'in_channels' not in model.head
        assert all('in_channels' not in neck for neck in model.neck)
