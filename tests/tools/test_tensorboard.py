"""tools/train.py --vis-backend tensorboard writes an event file whose loss scalars are the
ones the run logged (issue 18, item 8). The same short tiny pose run checks that
``save_best='auto'`` picks ``coco/AP`` and takes its rule from CocoKeypointMetric (item 3),
which crashed in mmengine ("Cannot infer the rule for key coco/AP")."""
import glob
import json
import os.path as osp

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import run_tool


@pytest.fixture(scope='module')
def short_pose_run(tiny_data, tmp_path_factory):
    work = tmp_path_factory.mktemp('tb_pose')
    proc = run_tool(
        'tools/train.py', 'configs/tiny/pose.py', '--work-dir', str(work), '--vis-backend',
        'tensorboard', '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'train_dataloader.batch_size=2', 'train_dataloader.dataset.indices=4',
        'val_dataloader.dataset.indices=2', 'train_dataloader.num_workers=0',
        'val_dataloader.num_workers=0', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.save_best=auto', 'default_hooks.checkpoint.rule=None',
        env=dict(OMP_NUM_THREADS='1'), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return work, proc


def test_tensorboard_event_file_holds_the_loss(short_pose_run):
    work, _ = short_pose_run
    events = glob.glob(osp.join(str(work), '*', 'vis_data', 'events.out.tfevents.*'))
    assert len(events) == 1, events
    accumulator = EventAccumulator(events[0])
    accumulator.Reload()
    board = {e.step: e.value for e in accumulator.Scalars('loss')}
    # the local backend's copy of the same scalars
    scalars = glob.glob(osp.join(str(work), '*', 'vis_data', 'scalars.json'))[0]
    with open(scalars) as f:
        logged = {r['step']: r['loss'] for r in map(json.loads, f) if 'loss' in r}
    assert sorted(board) == sorted(logged) == [1, 2]  # 4 images, batches of 2
    assert all(abs(board[s] - logged[s]) <= 1e-6 * abs(logged[s]) for s in logged)
    assert 'coco/AP' in accumulator.Tags()['scalars']


def test_save_best_auto_takes_the_rule_from_the_metric(short_pose_run):
    work, proc = short_pose_run
    assert 'The best checkpoint with' in proc.stdout + proc.stderr
    assert osp.isfile(osp.join(str(work), 'best_coco_AP_epoch_1.pth'))
