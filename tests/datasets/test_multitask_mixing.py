"""Mixed-task training data: one task per batch, ratios over an epoch, resumable order,
task-prefixed metrics counted once per sample."""
import os.path as osp
from collections import Counter

import pytest
import torch
from mmengine.dataset import DefaultSampler

from hrnet_tasks.datasets.multitask import MixedTaskBatchSampler, MultiTaskDataset
from hrnet_tasks.errors import ConfigError
from hrnet_tasks.evaluation.task_metric import TaskMetric

CLS_PIPELINE = [dict(type='LoadImage'), dict(type='PackInputs')]
SEG_PIPELINE = [dict(type='LoadImage'), dict(type='LoadSegAnnotations'),
                dict(type='PackSegInputs')]


@pytest.fixture(scope='module')
def mixed(tiny_data):
    return MultiTaskDataset(tasks=dict(
        cls=dict(type='ImageNetDataset', data_root=osp.join(tiny_data, 'cls'),
                 data_prefix='val', pipeline=CLS_PIPELINE),
        seg=dict(type='CityscapesDataset', data_root=osp.join(tiny_data, 'seg'),
                 data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
                 pipeline=SEG_PIPELINE)))


def _sampler(dataset, shuffle=True, epoch=0, **kwargs):
    inner = DefaultSampler(dataset, shuffle=shuffle, seed=7)
    inner.set_epoch(epoch)
    return MixedTaskBatchSampler(inner, batch_size=4, **kwargs)


def test_ratios_hold_over_an_epoch_and_batches_never_mix(mixed):
    sampler = _sampler(mixed, ratios=dict(cls=3, seg=1), batches_per_epoch=22)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 22
    per_batch = [{mixed.locate(i)[0] for i in b} for b in batches]
    assert all(len(tasks) == 1 and len(b) == 4 for tasks, b in zip(per_batch, batches))
    counts = Counter(next(iter(t)) for t in per_batch)
    assert counts == {'cls': 17, 'seg': 5}  # 16.5 / 5.5 by largest remainder, ties -> cls
    # the order mixes the tasks instead of running one after the other
    order = ''.join(next(iter(t))[0] for t in per_batch)
    assert 'cs' in order and 'sc' in order
    # a task that needs more samples than it has sees all of them before repeating any
    cls_samples = [i for b, t in zip(batches, per_batch) if t == {'cls'} for i in b]
    first_pass = cls_samples[:mixed.task_sizes[0]]
    assert len(set(first_pass)) == len(first_pass)


def test_order_depends_only_on_seed_and_epoch(mixed):
    # what a resumed run relies on: the same epoch draws the same batches
    assert list(_sampler(mixed, epoch=3)) == list(_sampler(mixed, epoch=3))
    assert list(_sampler(mixed, epoch=3)) != list(_sampler(mixed, epoch=4))


def test_unknown_task_in_ratios_lists_the_tasks(mixed):
    with pytest.raises(ConfigError, match=r"'pose'.*\['cls', 'seg'\]"):
        _sampler(mixed, ratios=dict(cls=1, pose=1))


def test_validation_walks_each_task_once_without_mixing(mixed):
    batches = list(_sampler(mixed, shuffle=False))
    assert len(batches) == len(_sampler(mixed, shuffle=False))
    assert all(len({mixed.locate(i)[0] for i in b}) == 1 for b in batches)
    assert sorted(i for b in batches for i in b) == list(range(len(mixed)))


def test_samples_are_tagged_and_metrics_prefixed_and_counted_once(mixed):
    cls_metric = TaskMetric(task='cls', metric=dict(type='Accuracy', topk=(1, )))
    seg_metric = TaskMetric(task='seg', metric=dict(type='IoUMetric'))  # classes: dataset
    for metric in (cls_metric, seg_metric):
        metric.dataset_meta = mixed.metainfo
    assert seg_metric.metric.dataset_meta['classes'] == mixed.datasets['seg'].metainfo['classes']
    seg_start = mixed.offsets[1]
    picked = [0, 1, seg_start, seg_start + 1]
    samples = []
    for idx in picked + [0, seg_start]:  # the last two: padded repeats of another rank
        data = mixed[idx]
        sample = data['data_samples']
        if sample.task == 'cls':
            # correct for sample 0, wrong for sample 1: top-1 = 50 %
            score = torch.zeros(10)
            score[int(sample.gt_label) if idx == 0 else (int(sample.gt_label) + 1) % 10] = 1
            sample.set_pred_score(score)
        else:
            sample.pred_sem_seg = sample.gt_sem_seg.clone()
        samples.append(sample.to_dict())
    for metric in (cls_metric, seg_metric):
        metric.process({}, samples)
    assert len(cls_metric.results) == 3 and len(seg_metric.results) == 3
    cls_out = cls_metric.evaluate(len(mixed))
    seg_out = seg_metric.evaluate(len(mixed))
    assert cls_out == {'cls/accuracy/top1': pytest.approx(50.0)}
    assert seg_out['seg/mIoU'] == pytest.approx(100.0)
