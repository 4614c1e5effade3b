"""Loss balancing through the real training loop: LossBalanceHook's updates land in the
checkpoints (resume is bit-exact), FAMO under --amp --dist (gloo) stays finite and logs its
weights and the gradient conflict."""
import itertools
import re
import shutil

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT, run_tool

JOINT = 'configs/tiny/multitask.py'
_names = itertools.count()


def _cfg(work_dir, method, epochs=2, **changes):
    """configs/tiny/multitask.py: 4 training images in 2 batches, no validation, main process."""
    cfg = Config.fromfile(f'{ROOT}/{JOINT}')
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'balance_{next(_names)}'  # one visualizer / logger per runner
    cfg.model.loss_balance = method
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.indices = 4
    cfg.train_cfg.max_epochs = epochs
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint.save_best = None
    cfg.default_hooks.logger.interval = 1
    cfg.randomness = dict(seed=0)
    cfg.merge_from_dict(changes)
    return cfg


def _train(cfg):
    from hrnet_tasks.engine import Runner
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def _state(path):
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


@pytest.mark.parametrize('method', ['famo', 'dwa'])
def test_resume_is_bit_exact_with_the_balancer_state(method, tiny_data, one_thread, tmp_path):
    straight = tmp_path / 'straight'
    _train(_cfg(straight, method))
    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    shutil.copy(straight / 'epoch_1.pth', resumed / 'epoch_1.pth')
    _train(_cfg(resumed, method, resume=True, load_from=str(resumed / 'epoch_1.pth')))
    one, two, again = (_state(p) for p in (straight / 'epoch_1.pth', straight / 'epoch_2.pth',
                                            resumed / 'epoch_2.pth'))
    balancer = [k for k in two if k.startswith('loss_balancer.')]
    assert balancer, 'the balancer state is not in the checkpoint'
    # the hook's updates are in each checkpoint: FAMO's logits moved in epoch 2, DWA closed
    # its first epoch before epoch_1.pth was written
    if method == 'famo':
        assert int(one['loss_balancer.adam_steps']) == 2 and int(two['loss_balancer.adam_steps']) == 4
        assert not torch.equal(one['loss_balancer.logits'], two['loss_balancer.logits'])
    else:
        assert int(one['loss_balancer.epochs_done']) == 1
        assert int(two['loss_balancer.epochs_done']) == 2
    different = [k for k in two if not torch.equal(two[k], again[k])]
    assert not different, f'resumed state differs from the straight run: {different[:5]}'


def test_famo_amp_dist_gloo_is_finite_and_logs_weights_and_conflict(tiny_data, tmp_path):
    proc = run_tool('tools/train.py', JOINT, '--work-dir', str(tmp_path), '--amp', '--dist',
                    '--cfg-options', 'model.loss_balance=famo', 'model.grad_conflict_interval=1',
                    'train_dataloader.dataset.indices=8', 'train_dataloader.batch_size=2',
                    'train_cfg.max_epochs=1', 'val_cfg=None', 'val_dataloader=None',
                    'val_evaluator=None', 'default_hooks.logger.interval=1',
                    'default_hooks.checkpoint.save_best=None', nproc=2)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = open(next(tmp_path.glob('*/*.log'))).read()
    assert 'AmpOptimWrapper' in log and 'LossBalanceHook' in log
    weights = [(float(p), float(s)) for p, s in re.findall(
        r'pose/weight: ([\d.e-]+) .*?seg/weight: ([\d.e-]+)', log)]
    assert len(weights) == 2, weights  # 8 images / 2 ranks / batch 2
    # FAMO's weights sum to one and favour the head with the smaller loss (pose)
    assert all(p + s == pytest.approx(1.0, abs=2e-3) and p > s for p, s in weights), weights
    losses = [float(v) for v in re.findall(r'\bloss: ([\d.e+-]+|nan|inf)', log)]
    assert losses and all(torch.isfinite(torch.tensor(losses))), losses
    conflict = re.findall(r'iter (\d) gradient conflict on the backbone: pose/grad_norm '
                          r'([\d.e-]+), seg/grad_norm ([\d.e-]+), cos_pose_seg ([\d.e-]+)', log)
    assert [c[0] for c in conflict] == ['1', '2'], conflict
    assert all(-1 <= float(c[3]) <= 1 and float(c[1]) > 0 for c in conflict), conflict
    state = _state(tmp_path / 'epoch_1.pth')
    assert int(state['loss_balancer.adam_steps']) == 2
    assert torch.isfinite(state['loss_balancer.logits']).all()
