"""CocoDetMetric: pycocotools box and mask AP on known answers, and the COCO results file the
top-down pose dataset reads as its detections."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from hrnet_tasks.datasets import CocoDetDataset, TopdownCocoDataset
from hrnet_tasks.evaluation import CocoDetMetric


def kpt_set(shared_data, split):
    root = osp.join(shared_data, 'coco_kpt')
    return CocoDetDataset(ann_file=f'annotations/person_keypoints_{split}.json', data_root=root,
                          data_prefix=dict(img=f'{split}/'), test_mode=True)


def gt_as_predictions(dataset, metric):
    boxes = 0
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        bboxes = torch.from_numpy(info['gt_bboxes'])
        boxes += len(bboxes)
        metric.process(None, [dict(img_id=info['img_id'], pred_instances=dict(
            bboxes=bboxes, scores=torch.ones(len(bboxes)),
            labels=torch.from_numpy(info['gt_bboxes_labels'])))])
    return boxes


@pytest.mark.parametrize('split,boxes', [('val2017', 14), ('train2017', 167)])
def test_gt_boxes_as_predictions_give_ap_1(shared_data, split, boxes):
    dataset = kpt_set(shared_data, split)
    metric = CocoDetMetric()
    metric.dataset_meta = dataset.metainfo
    assert gt_as_predictions(dataset, metric) == boxes
    result = metric.evaluate(len(dataset))
    assert len(result) == 12
    assert result['coco/bbox_mAP'] == pytest.approx(1.0)
    assert result['coco/bbox_AR@100'] == pytest.approx(1.0)


def test_real_person_detections(shared_data, tmp_path):
    """The 118 detections shipped with the sample score the published box AP, and the
    results file written back is what TopdownCocoDataset(bbox_file=) reads."""
    dataset = kpt_set(shared_data, 'val2017')
    path = osp.join(shared_data, 'coco_kpt', 'person_detection_results',
                    'test_coco_det_AP_H_56.json')
    with open(path) as f:
        dets = json.load(f)
    out = str(tmp_path / 'dets.json')
    metric = CocoDetMetric(results_file=out)
    metric.dataset_meta = dataset.metainfo
    for img_id in sorted({d['image_id'] for d in dets}):
        mine = [d for d in dets if d['image_id'] == img_id]
        xywh = np.array([d['bbox'] for d in mine], np.float32)
        metric.process(None, [dict(img_id=img_id, pred_instances=dict(
            bboxes=torch.from_numpy(np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)),
            scores=torch.tensor([d['score'] for d in mine]),
            labels=torch.zeros(len(mine), dtype=torch.long)))])
    result = metric.evaluate(len(dataset))
    assert len(dets) == 118
    assert result['coco/bbox_mAP'] == pytest.approx(0.7891, abs=1e-4)
    assert result['coco/bbox_mAP_50'] == pytest.approx(0.9824, abs=1e-4)
    assert result['coco/bbox_AR@100'] == pytest.approx(0.8429, abs=1e-4)
    with open(out) as f:
        written = json.load(f)
    assert len(written) == 118 and set(written[0]) == {'image_id', 'category_id', 'bbox', 'score'}
    root = osp.join(shared_data, 'coco_kpt')
    persons = TopdownCocoDataset(ann_file='annotations/person_keypoints_val2017.json',
                                 data_root=root, data_prefix=dict(img='val2017/'),
                                 use_gt_bbox=False, bbox_file=out, test_mode=True)
    assert len(persons) == 118


def test_mask_ap_of_the_ground_truth(tmp_path):
    from pycocotools import mask as mask_utils
    masks = np.zeros((2, 60, 80), np.uint8)
    masks[0, 5:30, 10:40] = 1
    masks[1, 20:55, 45:75] = 1
    anns = []
    for k, m in enumerate(masks):
        rle = mask_utils.encode(np.asfortranarray(m))
        anns.append(dict(id=k + 1, image_id=7, category_id=(3, 5)[k], iscrowd=0,
                         bbox=[float(v) for v in mask_utils.toBbox(rle)],
                         area=float(m.sum()),
                         segmentation=dict(size=rle['size'], counts=rle['counts'].decode())))
    ann_file = tmp_path / 'gt.json'
    ann_file.write_text(json.dumps(dict(
        images=[dict(id=7, file_name='x.jpg', width=80, height=60)], annotations=anns,
        categories=[dict(id=3, name='a'), dict(id=5, name='b')])))
    metric = CocoDetMetric(ann_file=str(ann_file), metric=['bbox', 'segm'])
    metric.dataset_meta = dict(cat_ids=[3, 5])
    boxes = torch.tensor([[10., 5., 40., 30.], [45., 20., 75., 55.]])
    metric.process(None, [dict(img_id=7, pred_instances=dict(
        bboxes=boxes, scores=torch.tensor([0.9, 0.8]), labels=torch.tensor([0, 1]),
        masks=torch.from_numpy(masks.astype(bool))))])
    result = metric.evaluate(1)
    assert len(result) == 24
    assert result['coco/segm_mAP'] == pytest.approx(1.0)
    assert result['coco/bbox_mAP'] == pytest.approx(1.0)
    metric.process(None, [dict(img_id=7, pred_instances=dict(  # labels swapped: wrong classes
        bboxes=boxes, scores=torch.tensor([0.9, 0.8]), labels=torch.tensor([1, 0]),
        masks=torch.from_numpy(masks.astype(bool))))])
    assert metric.evaluate(1)['coco/segm_mAP'] == pytest.approx(0.0)


def test_no_detection_gives_zero_with_a_warning(tmp_path):
    ann_file = tmp_path / 'gt.json'
    ann_file.write_text(json.dumps(dict(
        images=[dict(id=1, file_name='x.jpg', width=10, height=10)],
        annotations=[dict(id=1, image_id=1, category_id=1, iscrowd=0, bbox=[1, 1, 4, 4],
                          area=16)], categories=[dict(id=1, name='person')])))
    metric = CocoDetMetric(ann_file=str(ann_file))
    metric.process(None, [dict(img_id=1, pred_instances=dict(
        bboxes=torch.zeros(0, 4), scores=torch.zeros(0), labels=torch.zeros(0, dtype=int)))])
    assert metric.evaluate(1)['coco/bbox_mAP'] == 0.0
