"""COCO detection data: contiguous labels with the id mapping, crowd and bad boxes skipped
and counted, empty images only dropped in training, one-line errors naming the bad input;
the transforms move boxes and masks with the image."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose

from hrnet_tasks.datasets import CocoDetDataset
from hrnet_tasks.datasets.transforms.loading import BadImageError

CATS = [dict(id=1, name='person'), dict(id=37, name='sports ball'), dict(id=38, name='kite')]


def write_set(root, annotations, images=None, categories=CATS):
    images = images or [dict(id=1, file_name='a.jpg', width=100, height=80),
                        dict(id=2, file_name='b.jpg', width=100, height=80)]
    for image in images:
        if image['file_name'] != 'missing.jpg':
            cv2.imwrite(osp.join(root, image['file_name']),
                        np.full((image['height'], image['width'], 3), 128, np.uint8))
    for k, ann in enumerate(annotations):
        ann.setdefault('id', k + 1)
        ann.setdefault('iscrowd', 0)
        ann.setdefault('area', ann['bbox'][2] * ann['bbox'][3])
    path = osp.join(root, 'instances.json')
    with open(path, 'w') as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    return path


def build(root, **kwargs):
    return CocoDetDataset(ann_file='instances.json', data_root=str(root),
                          data_prefix=dict(img=''), **kwargs)


def test_labels_are_contiguous_and_bad_boxes_counted(tmp_path):
    write_set(tmp_path, [
        dict(image_id=1, category_id=38, bbox=[10, 10, 20, 30]),
        dict(image_id=1, category_id=1, bbox=[-5, 50, 20, 40]),  # clipped at left and bottom
        dict(image_id=1, category_id=37, bbox=[30, 30, 0, 10]),  # no width
        dict(image_id=1, category_id=37, bbox=[150, 10, 20, 20]),  # outside the image
        dict(image_id=1, category_id=1, bbox=[0, 0, 50, 50], iscrowd=1),
        dict(image_id=2, category_id=1, bbox=[40, 40, 10, -3]),  # negative height
    ])
    train = build(tmp_path)
    assert train.metainfo['classes'] == ('person', 'sports ball', 'kite')
    assert train.metainfo['cat_ids'] == [1, 37, 38]  # label -> COCO id
    assert (train.num_clipped_boxes, train.num_skipped_boxes, train.num_crowd_boxes) == (1, 3, 1)
    assert len(train) == 1  # image 2 has no box left: dropped in training
    info = train.get_data_info(0)
    np.testing.assert_allclose(info['gt_bboxes'], [[10, 10, 30, 40], [0, 50, 15, 80]])
    assert info['gt_bboxes_labels'].tolist() == [2, 0]
    assert len(build(tmp_path, test_mode=True)) == 2  # evaluation keeps every image
    people = build(tmp_path, metainfo=dict(classes=('person', )))
    assert people.metainfo['cat_ids'] == [1] and people.get_data_info(0)['gt_bboxes_labels'] \
        .tolist() == [0]


def test_bad_input_errors_name_the_problem(tmp_path):
    write_set(tmp_path, [dict(image_id=1, category_id=99, bbox=[1, 1, 5, 5])])
    with pytest.raises(ValueError, match='annotation id 1 .*category_id 99.*not in the file'):
        build(tmp_path)
    images = [dict(id=1, file_name='missing.jpg', width=100, height=80),
              dict(id=2, file_name='b.jpg', width=100, height=80)]
    write_set(tmp_path, [dict(image_id=i, category_id=1, bbox=[1, 1, 5, 5]) for i in (1, 2)],
              images)
    with pytest.raises(BadImageError, match='missing.jpg'):
        build(tmp_path)
    skipped = build(tmp_path, skip_bad_images=True)
    assert len(skipped) == 1 and skipped.num_missing_images == 1
    write_set(tmp_path, [dict(image_id=1, category_id=1, bbox=[1, 1, 5, 5])])
    with pytest.raises(ValueError, match='metainfo classes.*dog'):
        build(tmp_path, metainfo=dict(classes=('dog', )))


def test_pipeline_moves_boxes_and_masks_with_the_image(tmp_path):
    square = [[10, 10, 30, 10, 30, 40, 10, 40]]
    write_set(tmp_path, [dict(image_id=1, category_id=1, bbox=[10, 10, 20, 30],
                              segmentation=square)])
    ds = build(tmp_path, with_mask=True, pipeline=[
        dict(type='LoadImage'), dict(type='LoadInstanceMasks'),
        dict(type='Resize', scale=(200, 160), keep_ratio=True),
        dict(type='RandomFlip', prob=1.0), dict(type='PackDetInputs')])
    packed = ds[0]
    sample = packed['data_samples']
    assert tuple(packed['inputs'].shape) == (3, 160, 200) and sample.ori_shape == (80, 100)
    assert sample.flip and np.allclose(sample.scale_factor, (2.0, 2.0))
    torch.testing.assert_close(sample.gt_instances.bboxes, torch.tensor([[140., 20, 180, 80]]))
    mask = sample.gt_instances.masks[0]
    assert tuple(mask.shape) == (160, 200) and mask.dtype == torch.uint8
    ys, xs = torch.nonzero(mask, as_tuple=True)
    # pycocotools fills pixels x 10..29, y 10..39; x2 -> 20..59, 20..79; flipped: x 140..179,
    # the same region as the box
    assert (xs.min().item(), xs.max().item(), ys.min().item(), ys.max().item()) == \
        (140, 179, 20, 79)


def test_malformed_segmentation_names_the_image(tmp_path):
    write_set(tmp_path, [dict(image_id=1, category_id=1, bbox=[10, 10, 20, 30],
                              segmentation=[[1, 2, 3]])])
    ds = build(tmp_path, with_mask=True,
               pipeline=[dict(type='LoadImage'), dict(type='LoadInstanceMasks')])
    with pytest.raises(BadImageError, match='instance 0 of image 1 has a malformed polygon.*a.jpg'):
        ds[0]


def test_inference_pipeline_without_boxes():
    pipeline = Compose([dict(type='Resize', scale=(64, 48), keep_ratio=True),
                        dict(type='PackDetInputs')])
    img = np.zeros((30, 40, 3), np.uint8)
    packed = pipeline(dict(img=img, img_shape=(30, 40), ori_shape=(30, 40)))
    assert 'gt_instances' not in packed['data_samples']
    assert packed['data_samples'].img_shape == (48, 64)
