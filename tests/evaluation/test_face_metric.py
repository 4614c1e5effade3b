"""NMEMetric on known points: hand-computed NME, failure rates and AUC; the official
normalisers of the shared samples (spec B9.5); visibility and field errors."""
import os.path as osp

import numpy as np
import pytest

from hrnet_tasks.datasets import AFLWDataset, COFWDataset, Face300WDataset, WFLWDataset
from hrnet_tasks.evaluation import NMEMetric
from hrnet_tasks.evaluation.face_metric import auc


def _sample(gt, pred, fid=0, box_size=None, visible=None):
    s = dict(id=fid, gt_keypoints=np.asarray(gt, np.float32)[None],
             gt_keypoints_visible=np.ones((1, len(gt)), np.float32) if visible is None else
             np.asarray(visible, np.float32)[None],
             pred_keypoints=np.asarray(pred, np.float32)[None])
    if box_size is not None:
        s['box_size'] = box_size
    return s


def _evaluate(metric, samples):
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


# 4 points; the normaliser is the distance of points 0 and 1: 10 px
GT = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], np.float64)


def test_gt_against_itself_and_a_shift():
    metric = NMEMetric(norm=[0, 1])
    assert _evaluate(metric, [_sample(GT, GT)]) == {'NME': 0.0, 'FR@0.08': 0.0, 'FR@0.1': 0.0,
                                                    'AUC@0.1': 1.0}
    # every point moved by (d, 0): NME = d / norm (spec B9.8)
    out = _evaluate(NMEMetric(norm=[0, 1]), [_sample(GT, GT + [0.5, 0])])
    assert out['NME'] == pytest.approx(100 * 0.5 / 10)


def test_hand_computed_table():
    """Three faces with NME 0.02, 0.09 and 0.15 (per-point errors chosen by hand):
    NME = mean = 8.6667 %, FR@0.08 = 2/3, FR@0.1 = 1/3,
    AUC@0.1 = mean(1 - 0.2, 1 - 0.9, 0) = 0.3."""
    faces = [GT + [0.2, 0],  # every point 0.2 px off: 0.02
             GT + np.array([[0.9, 0], [0, 0.9], [0.54, 0.72], [0.9, 0]]),  # 0.9 px each: 0.09
             GT + np.array([[3.0, 0], [0, 0], [0, 0], [0, 3.0]])]  # mean 1.5 px: 0.15
    out = _evaluate(NMEMetric(norm=[0, 1]), [_sample(GT, p, i) for i, p in enumerate(faces)])
    assert out['NME'] == pytest.approx(100 * (0.02 + 0.09 + 0.15) / 3)
    assert out['FR@0.08'] == pytest.approx(100 * 2 / 3)
    assert out['FR@0.1'] == pytest.approx(100 / 3)
    assert out['AUC@0.1'] == pytest.approx(0.3)


def test_auc_closed_form_equals_the_integral_of_the_curve():
    nmes = np.array([0.01, 0.035, 0.06, 0.2])
    ts = np.linspace(0, 0.1, 100001)
    curve = (nmes[None] <= ts[:, None]).mean(1)
    assert auc(nmes, 0.1) == pytest.approx(np.trapezoid(curve, ts) / 0.1, abs=1e-4)


def test_box_size_visibility_and_prefix():
    pred = GT + [[4, 0], [0, 0], [0, 0], [0, 0]]  # one point 4 px off, mean 1 px
    out = _evaluate(NMEMetric(norm='box_size'), [_sample(GT, pred, box_size=50.0)])
    assert out['NME'] == pytest.approx(100 * 1 / 50)
    # the official NME counts every point; mmpose's averages the visible ones only
    hidden = [0, 1, 1, 1]
    official = _evaluate(NMEMetric(norm=[0, 1]), [_sample(GT, pred, visible=hidden)])
    masked = _evaluate(NMEMetric(norm=[0, 1], use_visibility=True),
                       [_sample(GT, pred, visible=hidden)])
    assert (official['NME'], masked['NME']) == (pytest.approx(10.0), 0.0)
    s = _sample(GT, GT)
    s['face_pred_keypoints'] = s.pop('pred_keypoints')
    assert _evaluate(NMEMetric(norm=[0, 1], pred_prefix='face_'), [s])['NME'] == 0.0
    with pytest.raises(KeyError, match="no 'pred_keypoints' field .* set pred_prefix"):
        NMEMetric(norm=[0, 1]).process({}, [s])


def test_normaliser_from_metainfo_and_errors():
    metric = NMEMetric()
    with pytest.raises(ValueError, match='metainfo has no `nme_norm`'):
        metric.process({}, [_sample(GT, GT)])
    metric.dataset_meta = dict(nme_norm=[0, 3])  # diagonal: 14.142 px
    out = _evaluate(metric, [_sample(GT, GT + [1, 0])])
    assert out['NME'] == pytest.approx(100 / np.sqrt(200))
    with pytest.raises(ValueError, match="two point indices or 'box_size'"):
        NMEMetric(norm=[1, 2, 3])
    with pytest.raises(ValueError, match='normaliser 0.0 for face 0'):
        NMEMetric(norm=[0, 0]).process({}, [_sample(GT, GT)])


@pytest.mark.parametrize('cls,name,ann,norms', [
    (WFLWDataset, 'wflw', 'test_wflw.json', {2: 50.1270, 12: 52.3804, 40: 63.6529,
                                               1169: 49.2729}),
    (Face300WDataset, '300w', 'test_300w.json', {197: 290.5753, 565: 348.4357}),
    (COFWDataset, 'cofw', 'test_cofw.json', {1766: 77.1653, 1805: 75.6032}),
    (AFLWDataset, 'aflw', 'test_aflw.json', {3: 362.0, 68: 128.0}),
])
def test_official_normalisers_of_the_shared_samples(shared_data, cls, name, ann, norms):
    """A prediction 1 px right of every GT point has NME = 1 / normaliser; the normalisers
    are the spec's (B9.5)."""
    root = osp.join(shared_data, 'face', name)
    if not osp.isdir(root):
        pytest.skip(f'{root} not found: the shared face samples are absent')
    ds = cls(ann_file=ann, data_root=root)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        kpts = info['keypoints'][0]
        metric = NMEMetric()
        metric.dataset_meta = ds.metainfo
        s = _sample(kpts, kpts + [1, 0], info['id'], box_size=info['box_size'])
        out = _evaluate(metric, [s])
        assert 100 / out['NME'] == pytest.approx(norms[info['id']], abs=1e-3)
