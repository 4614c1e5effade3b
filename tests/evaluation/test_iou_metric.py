"""IoUMetric: dataset-level accumulation, ignore handling, absent-class rules."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from hrnet_tasks.datasets.segmentation import CITYSCAPES_CLASSES, cityscapes_labelids_to_trainids
from hrnet_tasks.evaluation import IoUMetric, intersect_and_union, summarize


def sample(pred, gt):
    return dict(pred_sem_seg=dict(data=torch.as_tensor(pred)[None]),
                gt_sem_seg=dict(data=torch.as_tensor(gt)[None]))


def evaluate(pairs, num_classes, **kwargs):
    metric = IoUMetric(num_classes=num_classes, **kwargs)
    metric.process(None, [sample(p, g) for p, g in pairs])
    return metric.compute_metrics(metric.results)


def test_ground_truth_against_itself_is_100():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 5, size=(20, 30))
    gt[:3] = 255
    res = evaluate([(gt, gt)], 19)
    assert res == {'aAcc': 100.0, 'mIoU': 100.0, 'mAcc': 100.0}
    # official semantics: absent classes count 0 -> 5 present of 19
    official = evaluate([(gt, gt)], 19, absent='zero')
    assert official['mIoU'] == pytest.approx(100 * 5 / 19, abs=0.01)
    assert official['aAcc'] == 100.0


def test_hand_worked_three_class_example():
    gt = np.array([[0, 0, 1, 1],
                   [0, 2, 2, 255]])
    pred = np.array([[0, 1, 1, 1],
                     [2, 2, 0, 1]])
    # valid pixels (gt != 255): 7. class 0: gt at 3, pred (valid) at 2 -> I=1 (pos 0,0), U=3+2-1=4
    # class 1: gt 2, pred 3 ((0,1),(0,2),(0,3)) -> I=2, U=3; class 2: gt 2, pred 2 -> I=1, U=3
    i, u, p, l = (v.tolist() for v in intersect_and_union(torch.tensor(pred), torch.tensor(gt), 3))
    assert (i, u, p, l) == ([1, 2, 1], [4, 3, 3], [2, 3, 2], [3, 2, 2])
    res = evaluate([(pred, gt)], 3)
    assert res['mIoU'] == pytest.approx(100 * (1 / 4 + 2 / 3 + 1 / 3) / 3, abs=0.01)  # 41.67
    assert res['mAcc'] == pytest.approx(100 * (1 / 3 + 1 + 1 / 2) / 3, abs=0.01)  # 61.11
    assert res['aAcc'] == pytest.approx(100 * 4 / 7, abs=0.01)  # 57.14


def test_ignore_pixels_never_count():
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 4, size=(16, 16))
    gt[:, :5] = 255
    pred = rng.integers(0, 4, size=(16, 16))
    other = pred.copy()
    other[:, :5] = rng.integers(0, 4, size=(16, 5))
    a = [t.tolist() for t in intersect_and_union(torch.tensor(pred), torch.tensor(gt), 4)]
    b = [t.tolist() for t in intersect_and_union(torch.tensor(other), torch.tensor(gt), 4)]
    assert a == b
    assert sum(a[3]) == 16 * 11


def test_dataset_accumulation_not_per_image_mean_and_order_invariant():
    gt1 = np.zeros((4, 4), int)
    gt1[:, 2:] = 1
    pred1 = np.zeros((4, 4), int)  # class 1 missed entirely
    gt2 = np.ones((10, 10), int)
    pred2 = np.ones((10, 10), int)
    res = evaluate([(pred1, gt1), (pred2, gt2)], 2)
    # totals: class 0 I=8 U=16; class 1 I=100 U=108
    assert res['mIoU'] == pytest.approx(100 * (8 / 16 + 100 / 108) / 2, abs=0.01)
    per_image_mean = (evaluate([(pred1, gt1)], 2)['mIoU'] + evaluate([(pred2, gt2)], 2)['mIoU']) / 2
    assert abs(res['mIoU'] - per_image_mean) > 1
    assert evaluate([(pred2, gt2), (pred1, gt1)], 2) == res


def test_only_predicted_class_counts_zero_and_union_bounds():
    gt = np.zeros((5, 5), int)
    pred = np.zeros((5, 5), int)
    pred[0] = 2  # class 2 predicted but absent from GT: IoU 0, counted
    res = evaluate([(pred, gt)], 3)
    assert res['mIoU'] == pytest.approx(100 * (20 / 25 + 0) / 2, abs=0.01)
    i, u, p, l = intersect_and_union(torch.tensor(pred), torch.tensor(gt), 3)
    assert (u >= torch.maximum(p, l)).all()
    s = summarize(i, u, l)
    assert np.isnan(s['IoU'][1]) and s['IoU'][2] == 0


def test_out_of_range_ground_truth_is_an_error():
    with pytest.raises(ValueError, match='outside 0..2'):
        intersect_and_union(torch.zeros(4, 4), torch.full((4, 4), 7), 3)


def test_metric_on_real_cityscapes_label_maps(shared_data):
    gt_dir = osp.join(shared_data, 'seg', 'cityscapes', 'gtFine', 'val', 'frankfurt')
    stem = osp.join(gt_dir, 'frankfurt_000000_000294_gtFine_')
    train_ids = cv2.imread(stem + 'labelTrainIds.png', cv2.IMREAD_UNCHANGED)
    label_ids = cv2.imread(stem + 'labelIds.png', cv2.IMREAD_UNCHANGED)
    mapped = cityscapes_labelids_to_trainids(label_ids)
    assert evaluate([(train_ids, train_ids)], 19)['mIoU'] == 100.0
    # the two maps were resized independently upstream: 77 pixels differ (SOURCE.md)
    res = evaluate([(mapped, train_ids)], 19)
    assert 97 < res['aAcc'] < 100 and 90 < res['mIoU'] < 100
    metric = IoUMetric()
    metric.dataset_meta = dict(classes=CITYSCAPES_CLASSES)
    metric.process(None, [sample(mapped, train_ids)])
    assert metric.compute_metrics(metric.results)['mIoU'] == res['mIoU']
