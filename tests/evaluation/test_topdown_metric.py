"""Top-down COCO metric (rescoring, OKS-NMS, all GT images) and PCK / EPE."""
import json
import os.path as osp

import numpy as np
import pytest

from hrnet_tasks.codecs.heatmap import HeatmapCodec
from hrnet_tasks.datasets import COCO_METAINFO, TopdownCocoDataset, parse_pose_metainfo
from hrnet_tasks.datasets.transforms.topdown import crop_to_image
from hrnet_tasks.evaluation import PCKAccuracy, TopdownCocoMetric
from hrnet_tasks.evaluation.topdown_coco_metric import (instance_score, oks, oks_nms, rescore,
                                                        soft_oks_nms)

SIGMAS = np.array(COCO_METAINFO['sigmas'])


def test_oks_of_a_pose_with_itself_and_a_shifted_copy():
    rng = np.random.default_rng(0)
    pose = rng.uniform(0, 100, (17, 2))
    shifted = pose + [3.0, 4.0]  # 5 px away on every joint
    values = oks(pose, np.stack([pose, shifted]), 1000.0, np.array([1000.0, 3000.0]), SIGMAS)
    expect = np.exp(-25 / (2 * SIGMAS)**2 / 2000.0 / 2).mean()
    assert values[0] == pytest.approx(1.0) and values[1] == pytest.approx(expect)


def _crowd():
    """A person, a near duplicate (OKS > 0.9 with it), a farther copy (OKS < 0.9) and a
    distinct person; scores decreasing in that order except the farther copy."""
    rng = np.random.default_rng(1)
    base = rng.uniform(50, 150, (17, 2))
    poses = np.stack([base, base + 1.0, base + 12.0, base + 200.0])
    areas = np.full(4, 100.0 * 100.0)
    return poses, areas


def test_oks_nms_on_crafted_overlaps():
    poses, areas = _crowd()
    overlap = oks(poses[0], poses[1:], areas[0], areas[1:], SIGMAS)
    assert overlap[0] > 0.9 and 0.1 < overlap[1] < 0.9 and overlap[2] < 1e-6
    keep = oks_nms(poses, np.array([0.9, 0.8, 0.7, 0.6]), areas, SIGMAS, thr=0.9)
    assert keep == [0, 2, 3]  # the near duplicate goes, the farther copy stays
    keep = oks_nms(poses, np.array([0.5, 0.8, 0.7, 0.6]), areas, SIGMAS, thr=0.9)
    assert keep == [1, 2, 3]  # the better-scored duplicate survives instead
    assert oks_nms(poses, np.array([0.9, 0.8, 0.7, 0.6]), areas, SIGMAS, thr=0.1) == [0, 3]


def test_soft_oks_nms_rescoring_reorders_and_caps():
    poses, areas = _crowd()
    # the duplicate's score decays by exp(-oks^2 / 0.9) < 0.4 below the distinct person's
    keep = soft_oks_nms(poses, np.array([0.9, 0.8, 0.3, 0.5]), areas, SIGMAS, thr=0.9)
    assert keep[0] == 0 and keep[1] == 3 and sorted(keep) == [0, 1, 2, 3]
    many = np.tile(poses[:1], (30, 1, 1)) + np.arange(30)[:, None, None] * 300.0
    assert len(soft_oks_nms(many, np.linspace(1, 0.5, 30), np.full(30, 1e4), SIGMAS)) == 20


def test_rescoring_is_box_times_mean_joint_score_above_threshold():
    scores = np.array([[0.9, 0.1, 0.5, 0.2], [0.1, 0.1, 0.0, 0.2]])
    np.testing.assert_allclose(rescore(np.array([0.5, 1.0]), scores, 0.2), [0.5 * 0.7, 0.0])
    assert instance_score(0.5, scores[0]) == pytest.approx(0.35)


@pytest.fixture
def coco_val(shared_data):
    root = osp.join(shared_data, 'coco_kpt')
    return root, dict(ann_file='annotations/person_keypoints_val2017.json', data_root=root,
                      data_prefix=dict(img='val2017/'), test_mode=True)


@pytest.mark.parametrize('input_size,heatmap_size,sigma', [((192, 256), (48, 64), 2),
                                                           ((288, 384), (72, 96), 3)])
def test_gt_round_trip_gives_ap_1(coco_val, input_size, heatmap_size, sigma):
    """GT boxes -> crop -> official targets -> decoder -> rescoring -> OKS-NMS -> COCOeval:
    the 12 people with keypoints (2 annotations without are excluded) all kept, AP 1."""
    _, cfg = coco_val
    codec = dict(type='HeatmapCodec', input_size=input_size, heatmap_size=heatmap_size,
                 sigma=sigma)
    pipeline = [dict(type='LoadImage', color_type='color_ignore_orientation'),
                dict(type='GetBBoxCenterScale'),
                dict(type='TopdownAffine', input_size=input_size),
                dict(type='GenerateTarget', encoder=codec),
                dict(type='PackTopdownInputs')]
    ds = TopdownCocoDataset(pipeline=pipeline, **cfg)
    assert len(ds) == 12
    decoder = HeatmapCodec(input_size, heatmap_size, sigma)
    metric = TopdownCocoMetric()
    metric.dataset_meta = ds.metainfo
    samples = []
    for i in range(len(ds)):
        sample = ds[i]['data_samples']
        kpts, scores = decoder.decode(sample.gt_heatmaps.numpy())
        sample.pred_keypoints = crop_to_image(kpts, sample.metainfo['warp_mat'])
        sample.pred_keypoint_scores = scores
        sample.pred_scores = sample.metainfo['bbox_score']
        samples.append(sample.to_dict())
    metric.process(None, samples)
    per_image = metric.image_results(metric.results)
    assert sum(len(r['scores']) for r in per_image.values()) == 12  # OKS-NMS keeps all
    result = metric.compute_metrics(metric.results)
    assert result['AP'] == pytest.approx(1.0) and result['AR'] == pytest.approx(1.0)


def test_detection_boxes_and_missed_images_count(coco_val, tmp_path):
    """Images without a kept person are misses: evaluation runs over every GT image."""
    root, cfg = coco_val
    gt = json.load(open(osp.join(root, cfg['ann_file'])))
    metric = TopdownCocoMetric()
    metric.dataset_meta = dict(parse_pose_metainfo(COCO_METAINFO),
                               ann_file=osp.join(root, cfg['ann_file']))
    samples = []
    for ann in gt['annotations']:
        if ann['image_id'] != 785 or not ann['num_keypoints']:
            continue
        k = np.asarray(ann['keypoints'], np.float32).reshape(17, 3)
        x, y, w, h = ann['bbox']
        samples.append(dict(img_id=785, id=-1, bbox=np.array([[x, y, x + w, y + h]]),
                            input_scale=np.array([w * 1.25, h * 1.25]),
                            pred_keypoints=k[None, :, :2], pred_keypoint_scores=np.ones((1, 17)),
                            pred_scores=np.array([0.9])))
    metric.process(None, samples)
    result = metric.compute_metrics(metric.results)
    # 1 of the 12 GT people found; the three other images count as misses
    assert result['AR'] == pytest.approx(1 / 12, abs=1e-3)


def test_pck_and_epe_on_known_points():
    gt = np.zeros((1, 4, 2), np.float32)
    pred = gt + np.array([[[3, 4], [0, 1], [30, 40], [0, 0]]], np.float32)
    sample = dict(pred_keypoints=pred, gt_keypoints=gt,
                  gt_keypoints_visible=np.array([[1, 1, 1, 0]]),
                  bbox=np.array([[0, 0, 100, 60]]), input_scale=np.array([125, 167]))
    metric = PCKAccuracy(thr=0.05)  # 5 px of the 100-px box side
    metric.process(None, [sample])
    out = metric.compute_metrics(metric.results)
    assert out['PCK'] == pytest.approx(2 / 3)  # the invisible joint does not count
    assert out['EPE'] == pytest.approx((5 + 1 + 50) / 3)
    metric = PCKAccuracy(thr=4.0, norm_item='none')
    metric.process(None, [sample])
    assert metric.compute_metrics(metric.results)['PCK'] == pytest.approx(1 / 3)
