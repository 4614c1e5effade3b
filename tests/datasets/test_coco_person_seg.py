"""Person masks from COCO keypoint annotations: pycocotools union, affine, flip, bad input."""
import copy
import json
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest

from hrnet_tasks.datasets.coco_person_seg import BadAnnotationError, CocoPoseSegDataset
from hrnet_tasks.datasets.transforms.bottomup import affine_matrix

INPUT = 128
TRAIN_PIPELINE = [
    dict(type='LoadImage'),
    dict(type='LoadPersonMask'),
    dict(type='BottomupRandomAffine', input_size=INPUT, heatmap_strides=(4, 2), max_rotate=30,
         scale_range=(0.75, 1.5), max_shift=0.2),
    dict(type='BottomupRandomFlip', prob=0.5),
    dict(type='BottomupWarpSegMap'),
]


def _dataset(root, split='train', pipeline=TRAIN_PIPELINE, ann=None, **kwargs):
    return CocoPoseSegDataset(data_root=root, ann_file=ann or f'annotations/person_keypoints_'
                              f'{split}.json', data_prefix=dict(img=f'{split}/'),
                              pipeline=pipeline, **kwargs)


def _ann_to_mask_union(coco, img_id):
    """The reference: pycocotools' annToMask per annotation, crowd regions 255."""
    info = coco.loadImgs(img_id)[0]
    label = np.zeros((info['height'], info['width']), np.uint8)
    crowd = np.zeros_like(label, bool)
    for ann in coco.loadAnns(coco.getAnnIds(imgIds=img_id, iscrowd=None)):
        region = coco.annToMask(ann).astype(bool)
        if ann['iscrowd']:
            crowd |= region
        else:
            label[region] = 1
    label[crowd] = 255
    return label


def _check_warped_mask_matches_reference(dataset, idx, seed):
    np.random.seed(seed)
    out = dataset[idx]
    info = dataset.get_data_info(idx)
    ref = _ann_to_mask_union(dataset.coco, info['img_id'])
    # the image warped with the recorded affine reproduces the pipeline's image, so the
    # matrix used for the reference mask is the one the image and keypoints went through
    affine = out['affine']
    mat = affine_matrix(affine['center'], affine['side'], INPUT, affine['rot'])
    img = cv2.warpAffine(cv2.imread(info['img_path']), mat, (INPUT, INPUT),
                         flags=cv2.INTER_LINEAR, borderValue=0)
    expected = cv2.warpAffine(ref, mat, (INPUT, INPUT), flags=cv2.INTER_NEAREST,
                              borderValue=255)
    if out['flip']:
        img, expected = img[:, ::-1], expected[:, ::-1]
    np.testing.assert_array_equal(out['img'], img)
    np.testing.assert_array_equal(out['gt_seg_map'], expected)
    return out


def test_person_mask_is_ann_to_mask_union_through_affine_and_flip(tiny_data):
    dataset = _dataset(osp.join(tiny_data, 'multitask'))
    flips, crowds, joints_on_person, joints = set(), 0, 0, 0
    for idx in range(12):
        out = _check_warped_mask_matches_reference(dataset, idx, seed=idx)
        flips.add(bool(out['flip']))
        crowds += int((out['gt_seg_map'] == 255).any())
        # independent of the matrix: visible joints (at 1/2 resolution, already flipped
        # with the joint map) land on person pixels of the warped, flipped mask
        seg = out['gt_seg_map']
        for x, y, v in out['keypoints_list'][1].reshape(-1, 3):
            px, py = int(round(2 * x + 0.5)), int(round(2 * y + 0.5))
            if v > 0 and 1 <= px < INPUT - 1 and 1 <= py < INPUT - 1:
                joints += 1
                joints_on_person += int((seg[py - 1:py + 2, px - 1:px + 2] == 1).any())
    assert flips == {True, False}
    assert crowds > 0  # the tiny set's RLE crowd regions went through the same path
    assert joints > 100 and joints_on_person / joints > 0.95


def test_person_mask_on_real_coco(shared_data):
    root = osp.join(shared_data, 'coco_kpt')
    dataset = _dataset(root, 'val2017', skip_bad_images=True)  # the sample holds few images
    if len(dataset) == 0:
        pytest.skip('no COCO val2017 image of the annotation file in the data sample')
    polygons = rles = 0
    for idx in range(min(len(dataset), 4)):
        out = _check_warped_mask_matches_reference(dataset, idx, seed=idx)
        assert (out['gt_seg_map'] == 1).any()
        anns = dataset.coco.loadAnns(dataset.coco.getAnnIds(imgIds=out['img_id'], iscrowd=None))
        polygons += sum(isinstance(a['segmentation'], list) for a in anns)
        rles += sum(isinstance(a['segmentation'], dict) for a in anns)
    assert polygons > 0


@pytest.mark.parametrize('bad', [None, [], [[1.0, 2.0, 3.0]], [[1, 2, 3, 4]], {'counts': 'x'},
                                 'not a segmentation'])
def test_bad_segmentation_names_the_image_or_is_skipped_and_counted(tiny_data, tmp_path, bad):
    src = osp.join(tiny_data, 'multitask')
    with open(osp.join(src, 'annotations', 'person_keypoints_val.json')) as f:
        data = json.load(f)
    victim = copy.deepcopy(data['annotations'][0])
    if bad is None:
        del data['annotations'][0]['segmentation']
    else:
        data['annotations'][0]['segmentation'] = bad
    (tmp_path / 'annotations').mkdir()
    with open(tmp_path / 'annotations' / 'person_keypoints_val.json', 'w') as f:
        json.dump(data, f)
    shutil.copytree(osp.join(src, 'val'), tmp_path / 'val')
    image = f'{victim["image_id"]:012d}.jpg'
    with pytest.raises(BadAnnotationError) as err:
        _dataset(str(tmp_path), 'val', pipeline=[])
    assert image in str(err.value) and f'annotation id {victim["id"]}' in str(err.value)
    skipping = _dataset(str(tmp_path), 'val', pipeline=[], skip_bad_images=True)
    assert skipping.num_bad_annotations == 1
    assert len(skipping) == len(_dataset(src, 'val', pipeline=[])) - 1
