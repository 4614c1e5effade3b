"""tools/train.py, test.py, demo.py, benchmark.py on the tiny pose config (AMP, 2-process dist)."""
import json
import re

import cv2
import pytest
import torch

from conftest import run_tool

CFG = 'configs/tiny/pose.py'
# 8 training images (1 iteration), validation on 5 images (odd: dist padding must be dropped)
SMALL = [
    'train_dataloader.dataset.indices=8', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
    'val_dataloader.dataset.indices=5'
]


def _ok(proc):
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def amp_run(tiny_data, tmp_path_factory):
    work = tmp_path_factory.mktemp('pose_amp')
    out = _ok(
        run_tool('tools/train.py', CFG, '--work-dir', str(work), '--amp', '--cfg-options', *SMALL))
    return work, out


def test_amp_training_runs_and_evaluates(amp_run):
    work, out = amp_run
    log = open(next(work.glob('*/*.log'))).read()
    assert 'AmpOptimWrapper' in log
    assert re.search(r'loss_push: [\d.e-]+', log) and re.search(r'loss_hm_1_2: [\d.e-]+', log)
    assert 'COCO keypoint evaluation on 5 images' in out
    assert re.search(r'coco/AP: [\d.]+', out)
    state = torch.load(work / 'epoch_1.pth', map_location='cpu', weights_only=True)['state_dict']
    assert all(torch.isfinite(v.float()).all() for v in state.values())


def test_dist_two_processes_count_each_image_once(tiny_data, tmp_path):
    out = _ok(
        run_tool('tools/train.py',
                 CFG,
                 '--work-dir',
                 str(tmp_path),
                 '--dist',
                 '--cfg-options',
                 *SMALL,
                 nproc=2))
    assert 'COCO keypoint evaluation on 5 images' in out
    assert (tmp_path / 'epoch_1.pth').is_file()


def test_test_tool_prints_table_and_dumps_json(amp_run, tmp_path):
    work, _ = amp_run
    prefix = tmp_path / 'results'
    out = _ok(
        run_tool('tools/test.py', CFG, str(work / 'epoch_1.pth'), '--work-dir', str(tmp_path),
                 '--cfg-options', 'test_dataloader.dataset.indices=6',
                 'test_dataloader.batch_size=3', f'test_evaluator.outfile_prefix={prefix}'))
    for key in ('coco/AP', 'coco/AP .5', 'coco/AP .75', 'coco/AP (M)', 'coco/AR'):
        assert f'{key}: ' in out
    dets = json.load(open(f'{prefix}.keypoints.json'))
    assert all(len(d['keypoints']) == 51 and d['category_id'] == 1 for d in dets)


def test_demo_writes_a_skeleton_png(amp_run, tmp_path):
    work, _ = amp_run
    image = 'data/tiny/pose/val/000000100001.jpg'
    out_png = tmp_path / 'demo.png'
    out = _ok(
        run_tool('tools/demo.py', CFG, str(work / 'epoch_1.pth'), image, '--out', str(out_png)))
    assert 'PoseResult(' in out
    picture = cv2.imread(str(out_png))
    assert picture is not None and picture.shape[1] >= 480


def test_benchmark_pose_reports_decode_time(tmp_path):
    out = _ok(
        run_tool('tools/benchmark.py', 'pose', '--config', CFG, '--sizes', '128', '--people', '3',
                 '--repeats', '1', '--min-time', '0.05', '--warmup', '0', '--json',
                 str(tmp_path / 'b.json')))
    assert re.search(r'at 128: forward incl. flip [\d.]+ ms/image', out)
    assert re.search(r'3 people: 3 people found, 3 kept; decode [\d.]+ ms/image, '
                     r'decode/forward [\d.]+', out)
    # random weights (BN statistics measured): hundreds found, the config's cap kept
    found, kept = map(int, re.search(r'random weights: (\d+) people found, (\d+) kept; decode '
                                     r'[\d.]+ ms/image, decode/forward [\d.]+ \(goal <= 0.25\)',
                                     out).groups())
    assert found > 100 and kept == 30
    data = json.load(open(tmp_path / 'b.json'))
    assert {r['model'] for r in data['results']} == {'forward 128', 'decode 3 people 128',
                                                     'decode random weights 128'}
    assert data['settings']['people_found_kept']['random weights 128'] == dict(found=found,
                                                                               kept=kept)
