"""tools/train.py and tools/test.py end to end on the tiny data: resume, AMP, dist."""
import json
import os.path as osp
import pickle
import re
import shutil

import pytest
import torch

from conftest import run_tool

CFG = 'configs/tiny/cls.py'
# 64 training images = 4 iterations per epoch keeps each run to seconds.
SMALL = ['train_dataloader.dataset.indices=64', 'train_cfg.max_epochs=2']


def _train(work_dir, *extra, nproc=None, options=SMALL):
    proc = run_tool('tools/train.py', CFG, '--work-dir', str(work_dir), *extra,
                    '--cfg-options', *options, nproc=nproc)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _weights(path):
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


@pytest.fixture(scope='module')
def straight_run(tiny_data, tmp_path_factory):
    """2 deterministic epochs in one go (keeps epoch_1.pth and epoch_2.pth)."""
    work = tmp_path_factory.mktemp('straight')
    _train(work, '--deterministic')
    return work


def test_resume_continues_exactly(straight_run, tmp_path):
    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    shutil.copy(straight_run / 'epoch_1.pth', resumed / 'epoch_1.pth')
    # --resume without a path picks the latest checkpoint in the work dir.
    proc = _train(resumed, '--deterministic', '--resume')
    assert 'resumed epoch: 1' in proc.stdout + proc.stderr
    one, two = _weights(straight_run / 'epoch_1.pth'), _weights(straight_run / 'epoch_2.pth')
    again = _weights(resumed / 'epoch_2.pth')
    assert any(not torch.equal(one[k], two[k]) for k in two), 'epoch 2 did not change weights'
    different = [k for k in two if not torch.equal(two[k], again[k])]
    assert not different, f'resumed weights differ from the straight run: {different[:5]}'
    # checkpoints are renamed into place: no temporary files are left behind
    assert not list(straight_run.glob('*.tmp*'))


def test_resume_with_a_longer_schedule_follows_it(straight_run, tmp_path):
    """1 epoch with max_epochs=1, then --resume with max_epochs=2: the cosine goes on
    (mmengine alone keeps end=1 and trains epoch 2 at 2.0000e-03) and the weights equal
    the straight 2-epoch run's. A damaged newer checkpoint in the work dir is skipped."""
    short = [o for o in SMALL if not o.startswith('train_cfg.max_epochs')]
    _train(tmp_path, '--deterministic', options=short + ['train_cfg.max_epochs=1'])
    good = (tmp_path / 'epoch_1.pth').read_bytes()
    (tmp_path / 'epoch_2.pth').write_bytes(good[:len(good) // 3])  # an interrupted copy
    proc = _train(tmp_path, '--deterministic', '--resume', options=SMALL)
    out = proc.stdout + proc.stderr
    assert re.search(r'skipping checkpoint \S*epoch_2\.pth: truncated', out), out[-3000:]
    assert 'resumed epoch: 1' in out
    assert 'following the config: CosineAnnealingLR (lr): end 1 -> 2' in out
    assert re.search(r'Epoch\(train\) \[2\]\S* +lr: 1\.9817e-03', out), out[-3000:]
    straight, resumed = _weights(straight_run / 'epoch_2.pth'), _weights(tmp_path / 'epoch_2.pth')
    different = [k for k in straight if not torch.equal(straight[k], resumed[k])]
    assert not different, f'extended run differs from the straight run: {different[:5]}'


def test_checkpoints_load_with_weights_only(straight_run):
    # plain data: loads under weights_only=True without any allow-list
    assert torch.serialization.get_unsafe_globals_in_checkpoint(
        str(straight_run / 'epoch_2.pth')) == []
    ckpt = torch.load(straight_run / 'epoch_2.pth', map_location='cpu', weights_only=True)
    assert {'meta', 'state_dict', 'optimizer', 'message_hub', 'rng_state'} <= set(ckpt)


def test_test_tool_prints_top1_and_dumps(straight_run, tmp_path):
    out = tmp_path / 'preds.pkl'
    proc = run_tool('tools/test.py', CFG, str(straight_run / 'epoch_2.pth'), '--work-dir',
                    str(tmp_path), '--out', str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    top1 = float(re.search(r'accuracy/top1: ([\d.]+)', proc.stdout + proc.stderr).group(1))
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 101
    correct = sum(int(p['pred_label'][0]) == int(p['gt_label'][0]) for p in preds)
    assert top1 == pytest.approx(100 * correct / 101, abs=1e-3)
    # not on a terminal: progress as plain log lines, every 10 % of the 101 images
    progress = re.findall(r'test: (\d+)/101 images \(\d+%\), [\d.]+ (?:images/s|s/image), '
                          r'(ETA|\d)',
                          proc.stdout + proc.stderr)
    assert len(progress) >= 3 and progress[-1][0] == '101', progress
    assert any(kind == 'ETA' for _, kind in progress)


def test_amp_on_cpu_trains(tiny_data, tmp_path):
    _train(tmp_path, '--amp', options=['train_dataloader.dataset.indices=32',
                                       'train_cfg.max_epochs=1'])
    log = open(next(tmp_path.glob('*/*.log'))).read()
    assert 'AmpOptimWrapper' in log
    weights = _weights(tmp_path / 'epoch_1.pth')
    assert all(torch.isfinite(v.float()).all() for v in weights.values())


def test_dist_two_cpu_ranks(tiny_data, tmp_path):
    train_dir = tmp_path / 'train'
    _train(train_dir, '--dist', nproc=2, options=['train_dataloader.dataset.indices=64',
                                                  'train_cfg.max_epochs=1'])
    digests = json.load(open(train_dir / 'rank_param_digests.json'))['digests']
    assert len(digests) == 2 and digests[0] == digests[1]

    ckpt = str(train_dir / 'epoch_1.pth')
    out = tmp_path / 'dist_preds.pkl'
    proc = run_tool('tools/test.py', CFG, ckpt, '--dist', '--work-dir', str(tmp_path / 'dt'),
                    '--out', str(out), nproc=2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    # 101 val images on 2 ranks: the sampler pads to 102; each image counts once.
    assert sorted(p['sample_idx'] for p in preds) == list(range(101))
    dist_top1 = float(re.search(r'accuracy/top1: ([\d.]+)', proc.stdout + proc.stderr).group(1))
    single = run_tool('tools/test.py', CFG, ckpt, '--work-dir', str(tmp_path / 'st'))
    single_top1 = float(
        re.search(r'accuracy/top1: ([\d.]+)', single.stdout + single.stderr).group(1))
    assert dist_top1 == pytest.approx(single_top1, abs=1e-3)


def test_test_tool_amp(straight_run, tmp_path):
    proc = run_tool('tools/test.py', CFG, str(straight_run / 'epoch_2.pth'), '--amp',
                    '--work-dir', str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r'accuracy/top1: [\d.]+', proc.stdout + proc.stderr)


@pytest.mark.parametrize('args, expected', [
    (['--cfg-options', 'train_dataloader.dataset.data_root=data/nowhere'],
     ["data root not found: 'data/nowhere'", 'make_tiny.py']),
    (['--cfg-options', 'model.backbone.archh=w32'], ['has no argument', 'arch', 'frozen_stages']),
    (['--cfg-options', 'optim_wrapperr.lr=1'], ["unknown key 'optim_wrapperr'", 'optim_wrapper']),
    (['--cfg-options', 'model.backbone.arch=w99'], ["Unknown HRNet arch 'w99'", 'w18_small_v1']),
    (['--resume', 'nowhere.pth'], ['checkpoint not found: nowhere.pth']),
])
def test_bad_input_is_one_line(tiny_data, tmp_path, args, expected):
    proc = run_tool('tools/train.py', CFG, '--work-dir', str(tmp_path), *args)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and 'Traceback' not in proc.stderr
    for text in expected:
        assert text in last, last
    assert not osp.exists(tmp_path / 'epoch_1.pth')
