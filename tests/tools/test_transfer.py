"""Backbone transfer between tasks and tools/transfer.py."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT, run_tool
from hrnet_tasks.registry import MODELS

SHORT = ['--cfg-options', 'train_dataloader.dataset.indices=32', 'train_cfg.max_epochs=1']


@pytest.fixture(scope='module')
def cls_backbone(tiny_data, tmp_path_factory):
    """Train the tiny classifier briefly and extract its backbone."""
    work = tmp_path_factory.mktemp('cls')
    proc = run_tool('tools/train.py', 'configs/tiny/cls.py', '--work-dir', str(work), *SHORT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = work / 'backbone.pth'
    proc = run_tool('tools/extract_backbone.py', str(work / 'epoch_1.pth'), str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    trained = torch.load(work / 'epoch_1.pth', weights_only=True)['state_dict']
    return str(out), {k: v for k, v in trained.items() if k.startswith('backbone.')}


@pytest.mark.parametrize('config', ['configs/tiny/pose.py', 'configs/tiny/seg.py'])
def test_cls_backbone_loads_into_pose_and_seg(cls_backbone, config):
    path, trained = cls_backbone
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=path, prefix='backbone.')
    model = MODELS.build(cfg.model)
    model.init_weights()
    own = model.backbone.state_dict()
    assert own, 'no backbone tensors'
    for key, value in own.items():
        assert torch.equal(value, trained['backbone.' + key]), key
    # the rest of the model is not touched by the backbone checkpoint
    assert len(own) <= len(trained)


def test_transfer_tool_table_and_plot(tiny_data, tmp_path):
    up = tmp_path / 'up.py'
    up.write_text(f"_base_ = ['{ROOT}/configs/tiny/cls.py']\n"
                  "transfer = dict(group='cls', init='scratch', metric='accuracy/top1')\n"
                  "train_cfg = dict(max_epochs=2, val_interval=1)\n"
                  "train_dataloader = dict(dataset=dict(indices=32))\n")
    down = tmp_path / 'down.py'
    down.write_text(f"_base_ = ['{up}']\n"
                    "transfer = dict(group='cls', init='from up')\n"
                    "model = dict(backbone=dict(init_cfg=dict(type='Pretrained', "
                    f"checkpoint='{tmp_path}/runs/up/backbone.pth', prefix='backbone.')))\n")
    # downstream listed first: the tool waits for the run that produces its checkpoint
    proc = run_tool('tools/transfer.py', str(down), str(up), '--work-root',
                    str(tmp_path / 'runs'), timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.index('start up') < proc.stdout.index('start down')
    table = (tmp_path / 'runs' / 'transfer.md').read_text()
    assert '| scratch | accuracy/top1 |' in table and '| from up | accuracy/top1 |' in table
    assert osp.getsize(tmp_path / 'runs' / 'transfer.png') > 1000
    assert osp.isfile(tmp_path / 'runs' / 'down' / 'backbone.pth')


def test_transfer_tool_refuses_an_upstream_no_run_writes_before_any_run(tmp_path):
    # a downstream config whose backbone checkpoint sits under another work root (as the
    # preset's, under work_dirs/transfer, when --work-root is changed): one line, no run started
    needs = tmp_path / 'elsewhere' / 'up' / 'backbone.pth'
    down = tmp_path / 'down.py'
    down.write_text(f"_base_ = ['{ROOT}/configs/tiny/cls.py']\n"
                    "model = dict(backbone=dict(init_cfg=dict(type='Pretrained', "
                    f"checkpoint='{needs}', prefix='backbone.')))\n")
    runs = tmp_path / 'runs'
    proc = run_tool('tools/transfer.py', 'configs/transfer/tiny_up_cls.py', str(down),
                    '--work-root', str(runs), timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f'error: {down} starts from {needs}, which does not exist and which no listed run '
        f'writes under --work-root {runs}: list its upstream config, or give the --work-root '
        'its path names')
    assert not runs.exists() or not any(runs.iterdir())  # nothing was started


def test_a_failed_upstream_run_skips_its_downstream_config(tmp_path):
    up = tmp_path / 'up.py'  # fails when its model is built, before any training
    up.write_text(f"_base_ = ['{ROOT}/configs/tiny/cls.py']\n"
                  "model = dict(backbone=dict(arch='no_such_arch'))\n")
    runs = tmp_path / 'runs'
    down = tmp_path / 'down.py'
    down.write_text(f"_base_ = ['{ROOT}/configs/tiny/cls.py']\n"
                    "model = dict(backbone=dict(init_cfg=dict(type='Pretrained', "
                    f"checkpoint='{runs}/up/backbone.pth', prefix='backbone.')))\n")
    proc = run_tool('tools/transfer.py', str(up), str(down), '--work-root', str(runs),
                    timeout=300)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'up FAILED' in proc.stdout
    assert f'[transfer] down SKIPPED: {runs}/up/backbone.pth was not written' in proc.stdout
    assert '[transfer] 2 run(s) failed: up, down' in proc.stdout
    assert 'start down' not in proc.stdout
    # with no run left to report on, one line instead of an empty table and plot
    assert proc.stderr.strip().splitlines()[-1] == (
        f'error: no run under {runs} has logged metrics; nothing to report')
