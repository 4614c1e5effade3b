"""COCO keypoint metric: GT as detections gives AP 1, result dumping, empty input, duplicates."""
import json
import logging

import numpy as np
import pytest
from mmengine.logging import MMLogger

from hrnet_tasks.datasets import parse_pose_metainfo
from hrnet_tasks.evaluation import CocoKeypointMetric

META = parse_pose_metainfo(None)


def _gt(tmp_path):
    rng = np.random.default_rng(0)
    images, anns = [], []
    for i in range(3):
        images.append(dict(id=i + 1, file_name=f'{i}.jpg', width=200, height=200))
        for p in range(i + 1):
            xy = rng.uniform(20, 180, (17, 2))
            kp = np.concatenate([xy, np.full((17, 1), 2)], 1)
            anns.append(
                dict(id=len(anns) + 1,
                     image_id=i + 1,
                     category_id=1,
                     iscrowd=0,
                     keypoints=kp.reshape(-1).tolist(),
                     num_keypoints=17,
                     bbox=[20, 20, 160, 160],
                     area=8000.0))
    path = tmp_path / 'gt.json'
    path.write_text(
        json.dumps(dict(images=images, annotations=anns, categories=[dict(id=1, name='person')])))
    return str(path), anns


def _samples(anns, img_ids, shift=0.0):
    out = []
    for img_id in img_ids:
        kp = np.array([a['keypoints'] for a in anns if a['image_id'] == img_id]).reshape(-1, 17, 3)
        out.append(
            dict(img_id=img_id,
                 pred_keypoints=kp[..., :2] + shift,
                 pred_keypoint_scores=np.ones(kp.shape[:2]),
                 pred_scores=np.ones(len(kp))))
    return out


def test_gt_as_detections_gives_ap_one_and_dumps(tmp_path):
    path, anns = _gt(tmp_path)
    metric = CocoKeypointMetric(ann_file=path, outfile_prefix=str(tmp_path / 'out' / 'res'))
    metric.dataset_meta = META
    samples = _samples(anns, [1, 2, 3])
    metric.process(None, samples[:2])
    metric.process(None, samples[1:])  # image 2 twice (sampler padding): counted once
    stats = metric.compute_metrics(metric.results)
    assert list(stats)[:3] == ['AP', 'AP .5', 'AP .75'] and len(stats) == 10
    assert stats['AP'] == pytest.approx(1.0) and stats['AR'] == pytest.approx(1.0)
    dumped = json.load(open(tmp_path / 'out' / 'res.keypoints.json'))
    assert len(dumped) == 6 and len(dumped[0]['keypoints']) == 51
    assert dumped[0]['category_id'] == 1 and dumped[0]['score'] == 1.0


def test_keys_are_prefixed_and_shifted_predictions_lose_ap(tmp_path):
    path, anns = _gt(tmp_path)
    metric = CocoKeypointMetric(ann_file=path)
    metric.dataset_meta = META
    metric.process(None, _samples(anns, [1, 2, 3], shift=6.0))
    stats = metric.evaluate(3)
    assert 'coco/AP' in stats and 'coco/AR (L)' in stats
    assert 0 < stats['coco/AP'] < 0.9


def test_only_evaluated_images_count_and_empty_results(tmp_path):
    path, anns = _gt(tmp_path)
    metric = CocoKeypointMetric(ann_file=path)
    metric.dataset_meta = META
    # image 1 evaluated alone (e.g. a subset run): its one person found -> AP 1
    assert metric.compute_metrics(list(_to_results(metric,
                                                   _samples(anns,
                                                            [1]))))['AP'] == pytest.approx(1.0)
    empty = [
        dict(img_id=1,
             pred_keypoints=np.zeros((0, 17, 2)),
             pred_keypoint_scores=np.zeros((0, 17)),
             pred_scores=np.zeros(0))
    ]
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        assert metric.compute_metrics(list(_to_results(metric, empty)))['AP'] == 0.0
    finally:
        logger.removeHandler(handler)
    # the image count is logged also when nothing was detected (a short run's first val)
    assert [r.getMessage() for r in records] == [
        'COCO keypoint evaluation on 1 images: no person detected on any of them, AP = 0']


def _to_results(metric, samples):
    metric.results = []
    metric.process(None, samples)
    return metric.results
