"""A non-finite loss skips its step and leaves no trace; a run that stays non-finite stops in
one line (issue 18, item 6)."""
import glob
import os.path as osp
import re

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub, MMLogger
from mmengine.runner import IterBasedTrainLoop

from conftest import ROOT, run_tool
from hrnet_tasks.engine.checkpoint import load_checkpoint_file
from hrnet_tasks.engine.nan_guard import NonFiniteLoss, NonFiniteLossHook
from hrnet_tasks.registry import OPTIM_WRAPPERS


def _model_and_wrapper(wrapper_type: str):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    wrapper = OPTIM_WRAPPERS.build(dict(type=wrapper_type,
                                        optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    return model, wrapper


@pytest.mark.parametrize('wrapper_type', ['OptimWrapper', 'AmpOptimWrapper'])  # fp32, CPU bf16
def test_nonfinite_loss_skips_the_step(wrapper_type):
    model, wrapper = _model_and_wrapper(wrapper_type)
    assert wrapper.skips_nonfinite
    before = [p.detach().clone() for p in model.parameters()]
    with wrapper.optim_context(model):
        loss = model(torch.randn(8, 4)).float().sum() * float('nan')
    wrapper.update_params(loss)
    assert wrapper.loss_was_finite is False
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert all(p.grad is None for p in model.parameters())  # no backward ran
    with wrapper.optim_context(model):
        loss = model(torch.randn(8, 4)).float().pow(2).mean()
    wrapper.update_params(loss)
    assert wrapper.loss_was_finite is True
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_fp16_leaves_the_step_to_the_grad_scaler():
    _, wrapper = _model_and_wrapper('AmpOptimWrapper')
    # what mmengine's wrapper holds on CUDA with fp16: a GradScaler and float16 autocast
    wrapper.loss_scaler, wrapper.cast_dtype = torch.amp.GradScaler('cpu'), torch.float16
    assert not wrapper.skips_nonfinite


class _Runner:
    """The parts of mmengine's Runner that NonFiniteLossHook reads."""

    def __init__(self, model, wrapper):
        self.model, self.optim_wrapper = model, wrapper
        self.iter, self.epoch, self._load_from = 0, 0, None
        self.message_hub = MessageHub.get_instance('test_nan_guard')
        self.logger = MMLogger.get_instance('test_nan_guard')
        self.train_loop = object.__new__(IterBasedTrainLoop)


def test_hook_restores_buffers_and_stops_after_the_default_ten():
    model, wrapper = _model_and_wrapper('OptimWrapper')
    runner = _Runner(model, wrapper)
    hook = NonFiniteLossHook()
    bn = model[1]
    for i in range(10):
        runner.iter = i
        hook.before_train_iter(runner, i)
        with wrapper.optim_context(model):
            out = model(torch.full((8, 4), float('inf')))  # NaN activations and statistics
            loss = out.sum()
        wrapper.update_params(loss)
        assert not torch.isfinite(bn.running_mean).all()
        stop = i == 9
        if stop:
            with pytest.raises(NonFiniteLoss, match=r'training stopped at iteration 10: the loss '
                               r'was non-finite for 10 iterations in a row \(loss=nan\); last '
                               r'good checkpoint: none saved yet'):
                hook.after_train_iter(runner, i, outputs=dict(loss=loss.detach()))
        else:
            hook.after_train_iter(runner, i, outputs=dict(loss=loss.detach()))
        assert torch.equal(bn.running_mean, torch.zeros(4))  # put back as before the batch
    assert hook.total == 10


def test_lr_1e30_stops_the_run_in_one_line(tiny_data, tmp_path):
    """tools/train.py on the tiny seg job with lr 1e30 and a limit of 3: iteration 1 steps
    (finite loss, then weights ~1e30), the next ones are NaN and skipped; the run ends with
    exit status 1 and one line, and the checkpoints keep finite BN statistics."""
    cfg = tmp_path / 'nan_seg.py'
    cfg.write_text(f"_base_ = ['{ROOT}/configs/tiny/seg.py']\n"
                   "custom_hooks = [dict(type='ExactResumeHook'), dict(type='RankConsistencyHook'),"
                   " dict(type='NonFiniteLossHook', max_consecutive=3)]\n")
    work = tmp_path / 'work'
    proc = run_tool('tools/train.py', str(cfg), '--work-dir', str(work), '--cfg-options',
                    'optim_wrapper.optimizer.lr=1e30', 'default_hooks.checkpoint.by_epoch=False',
                    'default_hooks.checkpoint.interval=1', 'train_dataloader.num_workers=0',
                    'train_dataloader.batch_size=2', env=dict(OMP_NUM_THREADS='1'), timeout=300)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    warned = [int(n) for n in re.findall(r'iteration (\d+): non-finite loss \(decode\.loss_ce='
                                         r'(?:nan|inf)\); the step was skipped',
                                         proc.stdout + proc.stderr)]
    first_bad = warned[0]
    assert warned == [first_bad, first_bad + 1, first_bad + 2]
    newest = osp.join(str(work), f'iter_{first_bad + 1}.pth')  # the stop iteration saves none
    assert re.fullmatch(
        rf'error: training stopped at iteration {first_bad + 2}: the loss was non-finite for 3 '
        r'iterations in a row \(decode\.loss_ce=(nan|inf)\); last good checkpoint: '
        rf'{re.escape(newest)}; lower the learning rate or check the data and the loss', last), last
    for path in glob.glob(str(work / 'iter_*.pth')):  # saved during the skipped iterations too
        state = load_checkpoint_file(path)['state_dict']
        assert all(torch.isfinite(v).all() for k, v in state.items() if 'running' in k), path


def _ddp_guard_worker(rank, world, init_file, out_dir):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    torch.manual_seed(0)  # the same start on both ranks
    model = DistributedDataParallel(nn.Linear(4, 4))
    wrapper = OPTIM_WRAPPERS.build(dict(type='OptimWrapper',
                                        optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    seen = []
    for step in range(3):
        x = torch.randn(8, 4, generator=torch.Generator().manual_seed(10 * step + rank))
        loss = model(x).pow(2).mean()
        if step == 1 and rank == 1:  # only one rank diverges
            loss = loss * float('nan')
        # without the agreement rank 0 runs a backward that rank 1 skips: their DDP
        # all-reduces fall out of step and the run fails (gloo: connection closed)
        wrapper.update_params(loss)
        seen.append(wrapper.loss_was_finite)
    torch.save(dict(seen=seen, weights=[p.detach() for p in model.parameters()]),
               osp.join(out_dir, f'rank{rank}.pth'))
    dist.destroy_process_group()


def test_two_ranks_agree_to_skip_when_one_loss_is_nonfinite(tmp_path):
    import torch.multiprocessing as mp
    mp.start_processes(_ddp_guard_worker, args=(2, str(tmp_path / 'init'), str(tmp_path)),
                       nprocs=2, start_method='fork')
    ranks = [torch.load(tmp_path / f'rank{r}.pth', weights_only=True) for r in range(2)]
    # step 1 is skipped on both ranks (rank 0's own loss was finite), the others are taken
    assert ranks[0]['seen'] == ranks[1]['seen'] == [True, False, True]
    for a, b in zip(ranks[0]['weights'], ranks[1]['weights']):
        assert torch.equal(a, b) and torch.isfinite(a).all()
