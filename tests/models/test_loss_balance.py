"""Loss balancing methods of MultiTaskModel on synthetic two-loss problems: each weight
follows its method's rule, the state resumes exactly, AMP / 2-rank gloo runs agree."""
import copy
import math
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.multiprocessing as mp

from hrnet_tasks.errors import ConfigError
from hrnet_tasks.models.multitask.loss_balance import (LOSS_BALANCERS, backbone_grad_conflict,
                                                       build_loss_balancer, frozen_norm_stats)

HEADS = ['pose', 'seg']


def _balancer(cfg, weights=None):
    return build_loss_balancer(cfg, HEADS, weights or {})


def _totals(a, b):
    return {'pose': torch.tensor(float(a)), 'seg': torch.tensor(float(b))}


def _w(balancer, a, b):
    weights, _ = balancer.weights(_totals(a, b))
    return [float(torch.as_tensor(weights[n]).detach()) for n in HEADS]


def test_unknown_method_and_option_are_one_line_listing_the_valid_ones():
    with pytest.raises(ConfigError) as err:
        _balancer('famoo')
    assert str(err.value) == ("model.loss_balance: unknown method 'famoo'; valid: fixed, "
                              'uncertainty, loss_norm, dwa, famo')
    with pytest.raises(ConfigError, match=r"'dwa' has no option\(s\) \['temp'\]; valid: "
                                          'temperature'):
        _balancer(dict(type='dwa', temp=2))
    with pytest.raises(ConfigError, match="mode must be 'ema' or 'initial'"):
        _balancer(dict(type='loss_norm', mode='first'))


def test_combine_weights_loss_terms_only_and_logs_adaptive_weights():
    raw = {'pose': dict(loss_hm=torch.tensor(0.02), loss_ae=torch.tensor(0.01)),
           'seg': dict(loss_ce=torch.tensor(0.3), acc_seg=torch.tensor(90.0))}
    fixed = _balancer('fixed', dict(pose=10.0)).combine(raw)
    assert float(fixed['pose/loss_hm']) == pytest.approx(0.2)
    assert float(fixed['seg/acc_seg']) == 90.0 and 'pose/weight' not in fixed
    norm = _balancer('loss_norm').train().combine(raw)
    # first step: each head's loss divided by itself (pose total 0.03, seg 0.3)
    assert float(norm['pose/weight']) == pytest.approx(1 / 0.03)
    assert float(norm['seg/loss_ce']) == pytest.approx(1.0)
    assert float(norm['seg/acc_seg']) == 90.0


def test_loss_norm_divides_by_the_ema_or_the_first_value():
    ema = _balancer(dict(type='loss_norm', momentum=0.5), dict(pose=2.0)).train()
    assert _w(ema, 0.01, 1.0) == pytest.approx([2 / 0.01, 1.0])
    # EMA (started at the first value): pose 0.5 * 0.01 + 0.5 * 0.03 = 0.02, seg 1.5
    assert _w(ema, 0.03, 2.0) == pytest.approx([2 / 0.02, 1 / 1.5])
    first = _balancer(dict(type='loss_norm', mode='initial')).train()
    _w(first, 0.01, 1.0)
    assert _w(first, 0.5, 0.1) == pytest.approx([100.0, 1.0])
    first.eval()  # evaluation (a val loss) does not move the statistics
    assert _w(first, 7.0, 7.0) == pytest.approx([100.0, 1.0])


def test_dwa_weights_follow_the_ratio_of_the_last_two_epoch_means():
    dwa = _balancer(dict(type='dwa', temperature=2.0)).train()
    for a, b in ((4, 2), (4, 2)):  # epoch 1: means 4 and 2
        assert _w(dwa, a, b) == pytest.approx([1.0, 1.0])
    dwa.end_epoch()
    for a, b in ((1, 2), (3, 2)):  # epoch 2: means 2 and 2
        assert _w(dwa, a, b) == pytest.approx([1.0, 1.0])  # first two epochs: 1
    dwa.end_epoch()
    # r = (2/4, 2/2): w = 2 softmax(r / 2): the head whose loss fell less gains weight
    e = [math.exp(0.25), math.exp(0.5)]
    expected = [2 * v / sum(e) for v in e]
    assert _w(dwa, 9, 9) == pytest.approx(expected)
    assert sum(expected) == pytest.approx(2.0) and expected[1] > expected[0]


def test_uncertainty_weights_reach_one_over_the_loss():
    balancer = _balancer('uncertainty')
    optim = torch.optim.SGD(balancer.parameters(), lr=0.05)
    losses = _totals(0.01, 0.5)
    for _ in range(400):  # the log-variances alone: d/ds (exp(-s) L + s) = 0 at s = log L
        weights, extra = balancer.weights(losses)
        total = sum(weights[n] * losses[n] + extra[f'{n}/loss_log_var'] for n in HEADS)
        optim.zero_grad()
        total.backward()
        optim.step()
    assert _w(balancer, 0.01, 0.5) == pytest.approx([100.0, 2.0], rel=0.02)


def test_famo_weight_is_softmax_over_loss_normalised_to_sum_one():
    famo = _balancer('famo').train()
    pose, seg = 0.01, 0.5
    # z = (1/2, 1/2): w_t = z_t / (L_t sum_k z_k / L_k), so sum_t w_t L_t = 1 / sum_k z_k / L_k
    c = 0.5 / pose + 0.5 / seg
    assert _w(famo, pose, seg) == pytest.approx([0.5 / (pose * c), 0.5 / (seg * c)], rel=1e-5)


def test_famo_logits_follow_the_slower_log_loss_decrease():
    famo = _balancer(dict(type='famo', lr=0.025, gamma=0.0)).train()
    for step in range(1, 21):
        famo.weights(_totals(1.0, 1.0))
        # pose loses 20 % per step, seg 5 %: seg is the one to push
        famo.after_step(_totals(0.8, 0.95))
        z = torch.softmax(famo.logits, 0)
        if step == 1:
            # Adam's first step is lr * sign(gradient); the gradient of pose's logit is
            # z_p (delta_p - z . delta) > 0, so pose's logit falls by lr, seg's rises
            assert famo.logits.tolist() == pytest.approx([-0.025, 0.025], rel=1e-4)
        assert float(z[1]) > 0.5
    assert float(z[1]) > 0.7
    # equal decreases: only the regulariser gamma acts and pulls the logits back to 0
    pulled = _balancer(dict(type='famo', gamma=1.0)).train()
    pulled.logits.copy_(torch.tensor([1.0, -1.0]))
    for _ in range(10):
        pulled.weights(_totals(1.0, 1.0))
        pulled.after_step(_totals(0.9, 0.9))
    assert float(pulled.logits.abs().max()) < 1.0


def test_famo_refuses_one_task_batches_and_gradient_accumulation():
    famo = _balancer('famo')
    assert 'one task (MultiTaskDataset)' in famo.problem_in_training(True, 1)
    assert 'accumulative_counts=4' in famo.problem_in_training(False, 4)
    assert famo.problem_in_training(False, 1) is None
    for name in ('fixed', 'uncertainty', 'loss_norm', 'dwa'):
        assert _balancer(name).problem_in_training(True, 4) is None, name
    with pytest.raises(RuntimeError, match=r"every head's loss in every batch; this one trains "
                                           r"\['seg'\]"):
        famo.weights({'seg': torch.tensor(1.0)})


def test_hook_stops_famo_on_one_task_batches_before_the_first_iteration():
    from hrnet_tasks.datasets.multitask import MultiTaskDataset
    from hrnet_tasks.engine.loss_balance_hook import LossBalanceHook
    warnings = []
    runner = SimpleNamespace(
        model=SimpleNamespace(loss_balancer=_balancer('famo')),
        train_dataloader=SimpleNamespace(dataset=MultiTaskDataset(dict(pose=[0, 1], seg=[2]))),
        optim_wrapper=SimpleNamespace(), logger=SimpleNamespace(warning=warnings.append))
    with pytest.raises(ConfigError, match="'famo' needs every head's loss in every batch") as err:
        LossBalanceHook().before_train(runner)
    assert '\n' not in str(err.value)
    # uncertainty trains there, but its log-variances in the network's group are warned about
    balancer = _balancer('uncertainty')
    net = torch.nn.Linear(2, 2)
    runner.model = SimpleNamespace(loss_balancer=balancer)
    runner.optim_wrapper = SimpleNamespace(optimizer=torch.optim.Adam(
        [*net.parameters(), *balancer.parameters()]))
    LossBalanceHook().before_train(runner)
    assert len(warnings) == 1 and "custom_keys={'loss_balancer'" in warnings[0]
    runner.optim_wrapper = SimpleNamespace(optimizer=torch.optim.Adam(
        [dict(params=list(net.parameters())),
         dict(params=list(balancer.parameters()), lr=0.1, weight_decay=0.0)]))
    LossBalanceHook().before_train(runner)
    assert len(warnings) == 1


def _drive(balancer, steps, start=0):
    """Deterministic synthetic losses; every 3 steps an epoch ends. Returns the weights."""
    out = []
    for i in range(start, start + steps):
        a, b = 1.0 / (1 + i), 2.0 + math.sin(i)
        out.append(_w(balancer, a, b))
        balancer.after_step(_totals(0.9 * a, 0.99 * b))
        if i % 3 == 2:
            balancer.end_epoch()
    return out


@pytest.mark.parametrize('method', list(LOSS_BALANCERS))
def test_state_dict_resumes_every_method_bit_exactly(method):
    straight = _balancer(method, dict(pose=3.0)).train()
    expected = _drive(straight, 9)
    first = _balancer(method, dict(pose=3.0)).train()
    _drive(first, 4)
    state = copy.deepcopy(first.state_dict())
    resumed = _balancer(method, dict(pose=3.0)).train()
    resumed.load_state_dict(state)
    assert _drive(resumed, 5, start=4) == expected[4:]  # exact equality, not approx


def test_amp_fp16_grad_scaler_and_bf16_steps_stay_finite_and_read_unscaled_losses():
    """FAMO reads the losses before the GradScaler scales them: its weights and updates
    are those of an fp32 run on the same losses (up to fp16 rounding of the losses)."""
    torch.manual_seed(0)
    net = torch.nn.Linear(8, 2)
    x, y = torch.randn(16, 8), torch.randn(16, 2)
    for dtype in (torch.float16, torch.bfloat16):
        famo = _balancer('famo').train()
        model = copy.deepcopy(net)
        optim = torch.optim.SGD(model.parameters(), lr=0.1)
        scaler = torch.amp.GradScaler('cpu', init_scale=2.0 ** 12,
                                      enabled=dtype == torch.float16)
        for _ in range(5):
            with torch.autocast('cpu', dtype=dtype):
                out = model(x)
                totals = {'pose': ((out[:, 0] - y[:, 0]) ** 2).mean() * 1e-2,
                          'seg': ((out[:, 1] - y[:, 1]) ** 2).mean()}
            weights, _ = famo.weights(totals)
            loss = sum(weights[n] * totals[n] for n in HEADS)
            optim.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(optim)
            scaler.update()
            with torch.no_grad(), torch.autocast('cpu', dtype=dtype):
                out = model(x)
                famo.after_step({'pose': ((out[:, 0] - y[:, 0]) ** 2).mean() * 1e-2,
                                 'seg': ((out[:, 1] - y[:, 1]) ** 2).mean()})
        # pose's loss is 100x smaller: its weight is ~100x seg's, not scaled by 2**12
        ratio = float(weights['pose'] / weights['seg'])
        assert 20 < ratio < 500, (dtype, ratio)
        assert torch.isfinite(famo.logits).all() and int(famo.adam_steps) == 5


def _rank_losses(rank, i):
    """Rank ``rank``'s losses at step ``i`` (before, after the step): each rank its own batch."""
    a, b = (1.0 + rank) / (1 + i), 2.0 + rank + math.sin(i)
    return (a, b), (0.9 * a, (0.95 + 0.02 * rank) * b)


def _run_methods(losses_of_step):
    states = {}
    for method in ('loss_norm', 'dwa', 'famo'):
        balancer = _balancer(method).train()
        for i in range(6):
            before, after = losses_of_step(i)
            balancer.weights(_totals(*before))
            balancer.after_step(_totals(*after))
            if i % 3 == 2:
                balancer.end_epoch()
        states[method] = balancer.state_dict()
    return states


def _ddp_worker(rank, world, init_file, out_dir):
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    states = _run_methods(lambda i: _rank_losses(rank, i))
    torch.save(states, osp.join(out_dir, f'rank{rank}.pth'))
    dist.destroy_process_group()


def test_two_rank_gloo_statistics_agree_and_equal_one_process_on_the_mean(tmp_path):
    mp.start_processes(_ddp_worker, args=(2, str(tmp_path / 'init'), str(tmp_path)), nprocs=2,
                       start_method='fork')
    ranks = [torch.load(tmp_path / f'rank{r}.pth', weights_only=True) for r in range(2)]
    for method, state in ranks[0].items():
        for key, value in state.items():
            assert torch.equal(value, ranks[1][method][key]), (method, key)

    def mean_losses(i):
        (b0, a0), (b1, a1) = _rank_losses(0, i), _rank_losses(1, i)
        return tuple(tuple((x + y) / 2 for x, y in zip(u, v)) for u, v in ((b0, b1), (a0, a1)))

    alone = _run_methods(mean_losses)  # what one process on both ranks' batches would hold
    for method, state in alone.items():
        for key, value in state.items():
            assert ranks[0][method][key].double().tolist() == pytest.approx(
                value.double().tolist(), rel=1e-5), (method, key)
    assert float(ranks[0]['famo']['logits'].abs().max()) > 1e-3  # FAMO did move


def test_frozen_norm_stats_restores_running_estimates():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)).train()
    before = copy.deepcopy(net[1].state_dict())
    with frozen_norm_stats(net), torch.no_grad():
        net(torch.randn(2, 3, 8, 8))
        assert not torch.equal(net[1].running_mean, before['running_mean'])
    for key, value in before.items():
        assert torch.equal(net[1].state_dict()[key], value), key


def test_backbone_grad_conflict_norms_and_cosine():
    """Two heads reading one shared layer: their gradients on it are known in closed form."""
    class Toy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = torch.nn.Linear(2, 2, bias=False)
            self.backbone.weight.data = torch.eye(2)

    toy = Toy()
    x = torch.tensor([[1.0, 0.0]])
    feat = toy.backbone(x)
    # pose: loss = feat_0 -> grad [[1, 0], [0, 0]]; seg: loss = -2 feat_0 -> opposite
    raw = {'pose': dict(loss_a=feat[0, 0]), 'seg': dict(loss_b=-2 * feat[0, 0])}
    stats = backbone_grad_conflict(toy, raw, scale=8.0)
    assert stats['conflict/pose/grad_norm'] == pytest.approx(1.0)
    assert stats['conflict/seg/grad_norm'] == pytest.approx(2.0)
    assert stats['conflict/cos_pose_seg'] == pytest.approx(-1.0)
