"""TopdownCocoDataset on the shared COCO samples: GT boxes, detection files, bad input."""
import json
import os.path as osp

import numpy as np
import pytest

from hrnet_tasks.datasets import DataPathError, TopdownCocoDataset
from hrnet_tasks.datasets.topdown_coco import clean_gt_box
from hrnet_tasks.datasets.transforms.topdown import GetBBoxCenterScale, fix_aspect_ratio

DET = 'person_detection_results/test_coco_det_AP_H_56.json'


@pytest.fixture
def coco(shared_data):
    root = osp.join(shared_data, 'coco_kpt') + '/'
    val = dict(ann_file='annotations/person_keypoints_val2017.json', data_root=root,
               data_prefix=dict(img='val2017/'), test_mode=True)
    return root, val


def _center_scale(bbox):
    out = GetBBoxCenterScale(1.25).transform(dict(bbox=bbox))
    return out['bbox_center'][0], fix_aspect_ratio(out['bbox_scale'], 0.75)[0]


def test_gt_boxes_of_the_val_sample(coco):
    _, val = coco
    ds = TopdownCocoDataset(**val)
    assert len(ds) == 12  # 14 annotations, 2 without keypoints
    first = ds.get_data_info(0)
    assert first['img_id'] == 785 and first['id'] > 0 and first['category_id'] == 1
    assert first['keypoints'].shape == (1, 17, 2) and first['keypoints_visible'].shape == (1, 17)
    assert set(np.unique(first['keypoints_visible'])) <= {0.0, 1.0}
    assert first['bbox_score'].tolist() == [1.0] and len(first['flip_indices']) == 17
    # the official cleaned box: width and height lose 1 px
    center, scale = _center_scale(first['bbox'])
    np.testing.assert_allclose(center, (389.64, 217.57), atol=1e-3)
    np.testing.assert_allclose(scale / 200, (1.620375, 2.1605), atol=1e-5)
    mm = TopdownCocoDataset(bbox_rule='mmpose', **val).get_data_info(0)
    center, scale = _center_scale(mm['bbox'])
    np.testing.assert_allclose(center, (390.14, 218.07), atol=1e-3)
    np.testing.assert_allclose(scale, (325.0125, 433.35), atol=1e-3)
    assert ds.metainfo['num_keypoints'] == 17 and len(ds.metainfo['sigmas']) == 17


def test_training_skips_crowd_and_unlabelled_people(coco):
    root, _ = coco
    ann = 'annotations/person_keypoints_train2017.json'
    gt = json.load(open(root + ann))
    expect = sum(1 for a in gt['annotations']
                 if not a['iscrowd'] and max(a.get('keypoints') or [0]) > 0)
    assert sum(a['iscrowd'] for a in gt['annotations']) == 5
    ds = TopdownCocoDataset(ann_file=ann, data_root=root, data_prefix=dict(img='train2017/'))
    assert len(ds) == expect == 86
    assert all(ds.get_data_info(i)['keypoints_visible'].sum() > 0 for i in range(len(ds)))


def test_detection_file_is_read_as_is(coco):
    root, val = coco
    ds = TopdownCocoDataset(use_gt_bbox=False, bbox_file=root + DET, **val)
    assert len(ds) == 118
    per_image = {}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        per_image[info['img_id']] = per_image.get(info['img_id'], 0) + 1
    assert sorted(per_image.values()) == [22, 26, 33, 37]
    best = max((ds.get_data_info(i) for i in range(len(ds))), key=lambda d: d['bbox_score'][0])
    assert best['img_id'] == 40083 and best['id'] == -1
    assert best['bbox_score'][0] == pytest.approx(0.99999, abs=1e-5)
    np.testing.assert_allclose(best['bbox'][0], (38.328, 112.414, 38.328 + 174.680,
                                                 112.414 + 169.569), atol=2e-3)
    center, scale = _center_scale(best['bbox'])  # official _xywh2cs of that box
    np.testing.assert_allclose(center, (125.668, 197.199), atol=1e-3)
    np.testing.assert_allclose(scale / 200, (1.09175, 1.45567), atol=1e-4)
    assert best['keypoints_visible'].sum() == 17  # dummy visibilities, as the official code
    # the official code default IMAGE_THRE 0.1 would drop 63 of the 118 boxes
    assert len(TopdownCocoDataset(use_gt_bbox=False, bbox_file=root + DET, det_score_thr=0.1,
                                  **val)) == 55


def test_bad_detection_files(coco, tmp_path):
    root, val = coco
    dets = json.load(open(root + DET))
    unknown = dets + [dict(image_id=999, category_id=1, bbox=[0, 0, 5, 5], score=0.5),
                      dict(image_id=998, category_id=1, bbox=[0, 0, 5, 5], score=0.5)]
    path = tmp_path / 'dets.json'
    path.write_text(json.dumps(unknown))
    with pytest.raises(ValueError, match=r'2 boxes on 2 image ids that are not in .* \(e.g. '
                       r'998; the file has 4 images\)'):
        TopdownCocoDataset(use_gt_bbox=False, bbox_file=str(path), **val)
    degenerate = dets + [dict(image_id=785, category_id=1, bbox=[3, 3, 0, 10], score=0.5),
                         dict(image_id=785, category_id=1, bbox=[3, 3, 10, -2], score=0.5),
                         dict(image_id=785, category_id=2, bbox=[3, 3, 10, 10], score=0.5)]
    path.write_text(json.dumps(degenerate))
    ds = TopdownCocoDataset(use_gt_bbox=False, bbox_file=str(path), **val)
    assert len(ds) == 118 and ds.num_skipped_boxes == 2  # category 2 is not a person
    path.write_text(json.dumps({'annotations': []}))
    with pytest.raises(ValueError, match='expected COCO detection results'):
        TopdownCocoDataset(use_gt_bbox=False, bbox_file=str(path), **val)
    with pytest.raises(DataPathError, match='use_gt_bbox=False needs bbox_file'):
        TopdownCocoDataset(use_gt_bbox=False, **val)
    with pytest.raises(DataPathError, match='bbox file not found'):
        TopdownCocoDataset(use_gt_bbox=False, bbox_file=str(tmp_path / 'none.json'), **val)
    with pytest.raises(ValueError, match='training uses the GT boxes'):
        TopdownCocoDataset(use_gt_bbox=False, bbox_file=root + DET,
                           **dict(val, test_mode=False))


def test_gt_box_cleaning_rules():
    assert clean_gt_box([10, 20, 30, 40], 640, 480) == (10, 20, 39, 59)
    assert clean_gt_box([10, 20, 30, 40], 640, 480, 'mmpose') == (10, 20, 40, 60)
    # the official rule adds w - 1 to the *clipped* x1: a box starting left of the image
    # keeps its full height here (y2 = 0 + 29)
    assert clean_gt_box([-5, -5, 700, 30], 640, 480) == (0, 0, 639, 29)
    assert clean_gt_box([10, 20, 1, 1], 640, 480) is None  # a single point
    assert clean_gt_box([10, 20, 1, 8], 640, 480) == (10, 20, 10, 27)  # zero width kept
