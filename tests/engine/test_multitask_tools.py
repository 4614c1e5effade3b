"""tools/train.py and tools/test.py on the joint and the mixed-dataset tiny configs."""
import pickle
import re
import shutil

import pytest
import torch

from conftest import run_tool

JOINT = 'configs/tiny/multitask.py'
MIXED = 'configs/tiny/multitask_cls_seg.py'
# joint: 8 training images (1 iteration), validation on 5 (odd: dist padding must be dropped)
JOINT_SMALL = ['train_dataloader.dataset.indices=8', 'train_dataloader.batch_size=8',
               'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
               'val_dataloader.dataset.indices=5']
# mixed: 2 one-task batches of 4 per epoch, no validation, data loaded in the main process
# (its random stream is part of what resume must restore)
MIXED_SMALL = ['train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
               'train_dataloader.batch_sampler.batches_per_epoch=2', 'train_cfg.max_epochs=2',
               'train_cfg.val_interval=10']


def _ok(proc):
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def joint_dist_run(tiny_data, tmp_path_factory):
    work = tmp_path_factory.mktemp('joint_dist')
    out = _ok(run_tool('tools/train.py', JOINT, '--work-dir', str(work), '--amp', '--dist',
                       '--cfg-options', *JOINT_SMALL, nproc=2))
    return work, out


def test_joint_amp_dist_training_reports_both_tasks_once_per_image(joint_dist_run):
    work, out = joint_dist_run
    log = open(next(work.glob('*/*.log'))).read()
    assert 'AmpOptimWrapper' in log
    assert re.search(r'pose/loss_hm_1_4: [\d.e-]+', log) and re.search(r'seg/loss_ce: [\d.e-]+',
                                                                         log)
    assert 'COCO keypoint evaluation on 5 images' in out
    assert re.search(r'pose/coco/AP: [\d.]+', out) and re.search(r'seg/mIoU: [\d.]+', out)


def test_test_tool_prints_pose_and_seg_tables(joint_dist_run, tmp_path):
    work, _ = joint_dist_run
    dump = tmp_path / 'preds.pkl'
    out = _ok(run_tool('tools/test.py', JOINT, str(work / 'epoch_1.pth'), '--work-dir',
                       str(tmp_path), '--out', str(dump), '--cfg-options',
                       'test_dataloader.dataset.indices=3'))
    for key in ('pose/coco/AP', 'pose/coco/AR', 'seg/mIoU', 'seg/aAcc'):
        assert f'{key}: ' in out
    preds = pickle.load(open(dump, 'rb'))
    assert len(preds) == 3
    for pred in preds:  # one sample holds both tasks' outputs
        assert 'pred_keypoints' in pred and 'pred_sem_seg' in pred


@pytest.fixture(scope='module')
def mixed_straight_run(tiny_data, tmp_path_factory):
    work = tmp_path_factory.mktemp('mixed_straight')
    _ok(run_tool('tools/train.py', MIXED, '--work-dir', str(work), '--deterministic',
                 '--cfg-options', *MIXED_SMALL))
    return work


def _weights(path):
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def test_mixed_resume_is_exact(mixed_straight_run, tmp_path):
    shutil.copy(mixed_straight_run / 'epoch_1.pth', tmp_path / 'epoch_1.pth')
    out = _ok(run_tool('tools/train.py', MIXED, '--work-dir', str(tmp_path), '--deterministic',
                       '--resume', '--cfg-options', *MIXED_SMALL))
    assert 'resumed epoch: 1' in out
    one = _weights(mixed_straight_run / 'epoch_1.pth')
    two, again = _weights(mixed_straight_run / 'epoch_2.pth'), _weights(tmp_path / 'epoch_2.pth')
    assert any(not torch.equal(one[k], two[k]) for k in two), 'epoch 2 did not change weights'
    different = [k for k in two if not torch.equal(two[k], again[k])]
    assert not different, f'resumed weights differ from the straight run: {different[:5]}'


def test_mixed_test_tool_prefixes_each_task(mixed_straight_run, tmp_path):
    out = _ok(run_tool('tools/test.py', MIXED, str(mixed_straight_run / 'epoch_2.pth'),
                       '--work-dir', str(tmp_path)))
    assert re.search(r'cls/accuracy/top1: [\d.]+', out)
    assert re.search(r'seg/mIoU: [\d.]+', out)


def test_missing_data_of_one_task_is_one_line(tiny_data, tmp_path):
    # each task dataset of a MultiTaskDataset is checked before torch is imported
    proc = run_tool('tools/train.py', MIXED, '--work-dir', str(tmp_path), '--cfg-options',
                    'train_dataloader.dataset.tasks.seg.data_root=data/nowhere')
    assert proc.returncode != 0 and 'Traceback' not in proc.stderr, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and 'data/nowhere' in last, last
    assert 'CityscapesDataset' in last or 'cityscapes' in last.lower(), last
