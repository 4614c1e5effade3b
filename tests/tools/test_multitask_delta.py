"""tools/multitask_delta.py: Δm, standard errors, sign flip and verdicts on known numbers;
the whole command with the training runs replaced; derived single-task configs."""
import json
import math
import os.path as osp
import sys

import pytest
from mmengine.config import Config

from conftest import ROOT

sys.path.insert(0, ROOT)
from tools import multitask_delta as tool  # noqa: E402


def _run(metrics, s_per_iter=0.5, weights=None):
    return dict(metrics=metrics, s_per_iter=s_per_iter, cpu_s_per_iter=2 * s_per_iter,
                weights=weights or {})


def _runs():
    """Pose AP (higher is better) and face NME (lower is better), 3 seeds."""
    runs = {}
    for seed, (ap, nme) in enumerate([(0.80, 5.0), (0.70, 4.0), (0.75, 5.0)]):
        runs[('single_pose', seed)] = _run({'pose/AP': ap})
        runs[('single_face', seed)] = _run({'face/NME': nme}, 0.25)
    # joint: pose -10 %, -5 %, -20 %; NME 5.5 (+10 % worse), 3.8 (-5 %: better), 5.0 (0)
    for seed, (ap, nme) in enumerate([(0.72, 5.5), (0.665, 3.8), (0.60, 5.0)]):
        runs[('joint', seed)] = _run({'pose/AP': ap, 'face/NME': nme}, 0.6,
                                     {'pose/weight': 2.0 + seed, 'face/weight': 1.0})
    # balanced: +2 and +1.4 points of Δm against joint, and seed 2 missing its run
    for seed, (ap, nme) in enumerate([(0.752, 5.5), (0.6846, 3.8)]):
        runs[('balanced', seed)] = _run({'pose/AP': ap, 'face/NME': nme}, 0.9)
    return runs


def test_delta_m_mean_se_and_the_sign_of_lower_is_better_metrics():
    report = tool.delta_m(_runs(), ['pose', 'face'], ['joint', 'balanced'],
                          dict(pose='pose/AP', face='face/NME'), reference='joint')
    joint = report['arms']['joint']
    rel = joint['relative_change']
    assert [rel['pose'][s] for s in range(3)] == pytest.approx([-10.0, -5.0, -20.0])
    # NME went up 10 % on seed 0: that is worse, so -10; down 5 % on seed 1: +5
    assert [rel['face'][s] for s in range(3)] == pytest.approx([-10.0, 5.0, 0.0])
    dm = [joint['delta_m'][s] for s in range(3)]
    assert dm == pytest.approx([-10.0, 0.0, -10.0])
    mean, se = joint['delta_m_mean_se']
    assert mean == pytest.approx(-20 / 3)
    # sample std of (-10, 0, -10) is sqrt(100/3); SE = std / sqrt(3) = 10/3
    assert se == pytest.approx(10 / 3)
    # |mean| = 6.67 is not above 2 SE = 6.67 (and seed 1 is 0): within noise
    assert joint['verdict_vs_single'] == 'within noise'
    assert joint['weights']['pose/weight'][0] == pytest.approx(3.0)
    balanced = report['arms']['balanced']
    assert balanced['seeds'] == [0, 1]  # paired: seed 2 has no balanced run
    assert balanced['relative_change']['pose'][0] == pytest.approx(-6.0)
    vs = balanced['vs_reference']
    assert vs['differences'] == pytest.approx([2.0, 1.4])
    assert vs['mean_se'][0] == pytest.approx(1.7) and vs['mean_se'][1] == pytest.approx(0.3)
    assert vs['verdict'] == 'better'  # 1.7 > 2 * 0.3, both seeds positive
    assert report['singles']['face']['lower_is_better']
    assert not report['singles']['pose']['lower_is_better']


def test_verdict_needs_two_standard_errors_and_one_sign():
    assert tool.verdict([3.0, 3.2, 2.9]) == 'better'
    assert tool.verdict([-3.0, -3.2, -2.9]) == 'worse'
    assert tool.verdict([5.0, 5.0, -0.1]) == 'within noise'  # one seed against
    assert tool.verdict([1.0, -1.0, 0.5]) == 'within noise'
    assert tool.verdict([4.0]) == 'within noise'  # one seed has no standard error
    assert math.isnan(tool.mean_se([1.0])[1])


def test_command_writes_table_plot_and_json_from_the_runs(tmp_path, monkeypatch):
    """The whole tool on configs/tiny/multitask.py with training replaced: the plan (paired
    seeds, single then joint arms, each arm's options), reuse of finished runs, the outputs."""
    calls = []
    known = {('single_pose', 0): 0.8, ('single_pose', 1): 0.7, ('single_seg', 0): 90.0,
             ('single_seg', 1): 92.0}

    def fake_run_one(config, run_dir, seed, amp, options):
        name = osp.basename(osp.dirname(run_dir))
        calls.append((name, seed, amp, list(options), osp.basename(config)))
        pose = known.get((name, seed), 0.72 if name == 'fixed' else 0.84)
        seg = known.get((name, seed), 90.0 if seed == 0 else 92.0)
        record = _run({'pose/coco/AP': pose, 'seg/mIoU': seg, 'seg/aAcc': 99.0})
        with open(osp.join(run_dir, 'run.json'), 'w') as f:
            json.dump(record, f)
        return record

    monkeypatch.setattr(tool, 'run_one', fake_run_one)
    monkeypatch.chdir(ROOT)
    args = [f'{ROOT}/configs/tiny/multitask.py', '--seeds', '0', '1', '--amp', '--work-root',
            str(tmp_path), '--arm', 'fixed', '--arm', 'norm=model.loss_balance=loss_norm',
            '--metric', 'seg=seg/mIoU', '--cfg-options', 'train_cfg.max_epochs=2']
    for name in ('single_pose', 'single_seg', 'fixed', 'norm'):
        for seed in (0, 1):
            (tmp_path / name / f'seed{seed}').mkdir(parents=True)
    tool.main(args)
    assert [c[:2] for c in calls] == [('single_pose', 0), ('single_seg', 0), ('fixed', 0),
                                      ('norm', 0), ('single_pose', 1), ('single_seg', 1),
                                      ('fixed', 1), ('norm', 1)]
    assert calls[3][3] == ['train_cfg.max_epochs=2', 'model.loss_balance=loss_norm']
    assert calls[0][4] == 'single_pose.py' and all(c[2] for c in calls)
    report = json.loads((tmp_path / 'delta_m.json').read_text())
    # pose: fixed -10 % / +2.86 %, norm +5 % / +20 %; seg unchanged
    assert report['arms']['norm']['delta_m_mean_se'][0] == pytest.approx((2.5 + 10.0) / 2)
    assert report['arms']['fixed']['delta_m']['0'] == pytest.approx(-5.0)
    table = (tmp_path / 'delta_m.md').read_text()
    assert '| norm | 2 | 0.84 ± 0 | 91 ± 1 | +12.50 ± 7.50 | +0.00 ± 0.00 | **+6.25 ± 3.75** |' \
        in table
    # against fixed, Δm +7.5 and +8.57 points on the two seeds: a paired gain
    assert '+8.04 ± 0.54 (better)' in table
    assert osp.getsize(tmp_path / 'delta_m.png') > 1000
    calls.clear()
    tool.main(args)  # everything done: nothing runs again
    assert calls == []


@pytest.mark.parametrize('head', ['pose', 'seg'])
def test_derived_single_task_configs_equal_the_hand_written_baselines(head):
    joint = Config.fromfile(f'{ROOT}/configs/tiny/multitask.py')
    derived = tool.single_task_config(joint, head)
    written = Config.fromfile(f'{ROOT}/configs/tiny/multitask_{head}_only.py')
    for key in ('model', 'train_dataloader', 'val_dataloader', 'val_evaluator',
                'test_evaluator', 'optim_wrapper', 'param_scheduler', 'train_cfg'):
        assert derived[key] == written[key], key


def test_derived_config_of_a_mixed_dataset_run_keeps_one_task():
    joint = Config.fromfile(f'{ROOT}/configs/tiny/multitask_cls_seg.py')
    cls = tool.single_task_config(joint, 'cls')
    assert list(cls.train_dataloader.dataset.tasks) == ['cls']
    assert cls.train_dataloader.batch_sampler.ratios == {'cls': 1}
    assert cls.train_dataloader.batch_sampler.batches_per_epoch == 25  # the schedule stays
    assert [e['task'] for e in cls.val_evaluator] == ['cls']
    assert list(cls.model.heads) == ['cls'] and cls.model.loss_balance == 'fixed'
