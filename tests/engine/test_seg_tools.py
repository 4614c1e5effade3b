"""Segmentation end to end on the tiny synthetic Cityscapes-format data: train
(learns; --amp; 2-process --dist), test (mIoU, per-class table), demo, benchmark."""
import json
import re

import cv2
import pytest
import torch

from conftest import run_tool

CFG = 'configs/tiny/seg.py'
# One intra-op thread and no loader workers: on 2 shared cores, OpenMP threads that
# spin while other processes hold the CPU make a step 10-20x slower.
ENV = {'OMP_NUM_THREADS': '1'}
LOADERS = ['train_dataloader.num_workers=0', 'val_dataloader.num_workers=0']
TEST_LOADER = 'test_dataloader.num_workers=0'


def _train(work_dir, *extra, iters=4, nproc=None, options=()):
    opts = [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            f'default_hooks.checkpoint.interval={iters}', f'param_scheduler.0.end={iters}',
            *LOADERS, *options]
    proc = run_tool('tools/train.py', CFG, '--work-dir', str(work_dir), *extra,
                    '--cfg-options', *opts, nproc=nproc, env=ENV)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _miou(text):
    found = re.findall(r'mIoU: ([\d.]+)', text)
    assert found, text[-2000:]
    return float(found[-1])


@pytest.fixture(scope='module')
def trained(tiny_data, tmp_path_factory):
    """60 iterations (batch 8, 64x128 crops): already far above chance."""
    work = tmp_path_factory.mktemp('seg_train')
    proc = _train(work, '--deterministic', iters=60)
    return work, proc.stdout + proc.stderr


def test_tiny_seg_learns(trained):
    work, out = trained
    miou = _miou(out)
    print(f'tiny seg after 60 iterations: mIoU {miou}')
    # 7 classes present; a constant prediction scores at most ~1/7 of 100 per class
    assert miou > 40
    assert 'absent from both prediction and ground truth' in out


def test_test_tool_prints_per_class_table_and_miou(trained, tmp_path):
    work, train_out = trained
    out = tmp_path / 'preds.pkl'
    proc = run_tool('tools/test.py', CFG, str(work / 'iter_60.pth'), '--work-dir', str(tmp_path),
                    '--out', str(out), '--cfg-options', TEST_LOADER, env=ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = proc.stdout + proc.stderr
    assert re.search(r'^road\s+[\d.]+\s+[\d.]+$', text, re.M)
    assert re.search(r'^rider\s+nan\s+nan$', text, re.M)  # absent class: excluded (nanmean)
    assert _miou(text) == pytest.approx(_miou(train_out), abs=0.01)
    # official semantics from the config: absent classes count as 0
    proc = run_tool('tools/test.py', CFG, str(work / 'iter_60.pth'), '--work-dir', str(tmp_path),
                    '--cfg-options', 'test_evaluator.absent=zero', TEST_LOADER, env=ENV)
    official = _miou(proc.stdout + proc.stderr)
    assert official < _miou(text) and 'counted as 0' in proc.stdout + proc.stderr
    # sliding windows and multi-scale + flip, chosen from the config / command line
    proc = run_tool('tools/test.py', CFG, str(work / 'iter_60.pth'), '--work-dir', str(tmp_path),
                    '--cfg-options', 'model.test_cfg.mode=slide',
                    'model.test_cfg.crop_size=(64,128)', 'model.test_cfg.stride=(43,85)',
                    'model.test_cfg.scales=[0.75,1.0]',
                    'model.test_cfg.flip=True', TEST_LOADER, env=ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert abs(_miou(proc.stdout + proc.stderr) - _miou(text)) < 10
    proc = run_tool('tools/test.py', CFG, str(work / 'iter_60.pth'), '--work-dir', str(tmp_path),
                    '--cfg-options', 'model.test_cfg.mode=slide', env=ENV)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1] == \
        "error: test_cfg.mode='slide' needs crop_size=(h, w) and stride=(h, w)"


def test_amp_trains(tiny_data, tmp_path):
    _train(tmp_path, '--amp', iters=3)
    log = open(next(tmp_path.glob('*/*.log'))).read()
    assert 'AmpOptimWrapper' in log
    weights = torch.load(tmp_path / 'iter_3.pth', map_location='cpu', weights_only=True)
    assert all(torch.isfinite(v.float()).all() for v in weights['state_dict'].values())


def test_dist_two_cpu_ranks(trained, tmp_path):
    train_dir = tmp_path / 'train'
    _train(train_dir, '--dist', iters=3, nproc=2, options=['train_dataloader.batch_size=4'])
    digests = json.load(open(train_dir / 'rank_param_digests.json'))['digests']
    assert len(digests) == 2 and digests[0] == digests[1]
    # distributed evaluation equals the single-process numbers (12 val images on 2 ranks)
    work, train_out = trained
    proc = run_tool('tools/test.py', CFG, str(work / 'iter_60.pth'), '--dist', '--work-dir',
                    str(tmp_path / 'dt'), '--cfg-options', TEST_LOADER, nproc=2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _miou(proc.stdout + proc.stderr) == pytest.approx(_miou(train_out), abs=0.01)


def test_demo_draws_mask_and_legend(trained, tiny_data, tmp_path):
    work, _ = trained
    image = f'{tiny_data}/seg/leftImg8bit/val/frankfurt/frankfurt_000000_000001_leftImg8bit.png'
    out = tmp_path / 'demo.png'
    proc = run_tool('tools/demo.py', CFG, str(work / 'iter_60.pth'), image, '--out', str(out),
                    env=ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'SegmentationResult(256x128: road' in proc.stdout
    picture = cv2.imread(str(out))
    assert picture.shape[0] == 320 and picture.shape[1] > 640  # long side 640 + legend column
    legend = picture[:, 640:]
    assert (legend != 255).any(axis=2).sum() > 500  # swatches and names drawn


def test_benchmark_seg(tiny_data):
    proc = run_tool('tools/benchmark.py', 'seg', '--config', CFG, '--height', '64', '--width',
                    '128', '--repeats', '1', '--warmup', '0', '--min-time', '0', '--threads', '1')
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = dict(re.findall(r'^(whole|slide|backbone)\s+infer fp32\s+([\d.]+)', proc.stdout, re.M))
    assert set(rows) == {'whole', 'slide', 'backbone'} and all(float(v) > 0 for v in rows.values())
    assert re.search(r'decode-head share of whole inference: -?[\d.]+', proc.stdout)


def test_missing_data_is_one_line(tmp_path):
    proc = run_tool('tools/train.py', CFG, '--work-dir', str(tmp_path), '--cfg-options',
                    'train_dataloader.dataset.data_root=data/nowhere', env=ENV)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and "data root not found: 'data/nowhere'" in last
    assert 'make_tiny.py --tasks seg' in last
