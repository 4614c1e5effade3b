"""COCO keypoint dataset, metainfo, masks, bottom-up transforms and bad-input errors."""
import json
import os.path as osp
import shutil

import numpy as np
import pytest

from hrnet_tasks.datasets import CocoKeypointDataset, DataPathError, parse_pose_metainfo
from hrnet_tasks.datasets.transforms import BadImageError
from hrnet_tasks.datasets.transforms.bottomup import (BottomupRandomAffine, BottomupRandomFlip,
                                                      BottomupResize, PackBottomupInputs)


def coco_root(shared_data):
    root = osp.join(shared_data, 'coco_kpt')
    if not osp.isdir(root):
        pytest.skip(f'{root} not found')
    return root


def test_metainfo_from_dict_and_custom_keypoints(tmp_path):
    coco = parse_pose_metainfo(None)
    assert coco['num_keypoints'] == 17 and len(coco['sigmas']) == 17
    assert coco['flip_indices'][5] == 6 and coco['flip_indices'][15] == 16
    assert (15, 13) in coco['skeleton_links'] and len(coco['skeleton_links']) == 19
    custom = dict(keypoint_names=['head', 'l_hand', 'r_hand', 'l_foot', 'r_foot'],
                  flip_pairs=[('l_hand', 'r_hand'), ('l_foot', 'r_foot')],
                  skeleton=[('head', 'l_hand'), ('head', 'r_hand')],
                  sigmas=[0.05] * 5)
    meta = parse_pose_metainfo(custom)
    assert meta['flip_indices'] == [0, 2, 1, 4, 3] and meta['skeleton_links'] == [(0, 1), (0, 2)]
    assert meta['group_order'] == [0, 1, 2, 3, 4]
    path = tmp_path / 'my_meta.py'
    path.write_text(f'dataset_info = {custom!r}\n')
    assert parse_pose_metainfo(dict(from_file=str(path)))['flip_indices'] == [0, 2, 1, 4, 3]
    with pytest.raises(ValueError, match='4 sigmas for 5 keypoints'):
        parse_pose_metainfo({**custom, 'sigmas': [0.05] * 4})


def _custom_dataset(tmp_path, n_kpts=5, kpt_numbers=15, with_image=True):
    (tmp_path / 'img').mkdir(exist_ok=True)
    import cv2
    cv2.imwrite(str(tmp_path / 'img' / 'b.jpg'), np.zeros((40, 60, 3), np.uint8))
    if with_image:
        cv2.imwrite(str(tmp_path / 'img' / 'a.jpg'), np.zeros((40, 60, 3), np.uint8))
    ann = dict(images=[
        dict(id=1, file_name='a.jpg', width=60, height=40),
        dict(id=2, file_name='b.jpg', width=60, height=40)
    ],
               annotations=[
                   dict(id=7,
                        image_id=1,
                        category_id=1,
                        iscrowd=0,
                        area=100.0,
                        bbox=[1, 1, 10, 10],
                        num_keypoints=1,
                        keypoints=[5, 5, 2] + [0] * (kpt_numbers - 3))
               ],
               categories=[dict(id=1, name='thing')])
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    meta = dict(keypoint_names=[f'k{i}' for i in range(n_kpts)],
                flip_pairs=[(1, 2)],
                sigmas=[0.05] * n_kpts)
    return dict(ann_file=str(tmp_path / 'ann.json'),
                data_prefix=dict(img=str(tmp_path / 'img')),
                metainfo=meta)


def test_custom_keypoint_set_loads_without_code_changes(tmp_path):
    ds = CocoKeypointDataset(**_custom_dataset(tmp_path))
    assert len(ds) == 1 and len(CocoKeypointDataset(**_custom_dataset(tmp_path),
                                                    test_mode=True)) == 2
    assert ds.metainfo['num_keypoints'] == 5
    info = ds.get_data_info(0)
    assert info['keypoints'].shape == (1, 5, 3) and info['flip_indices'] == [0, 2, 1, 3, 4]


def test_bad_inputs_name_the_file(tmp_path):
    with pytest.raises(DataPathError, match='missing.json'):
        CocoKeypointDataset(ann_file=str(tmp_path / 'missing.json'))
    with pytest.raises(ValueError,
                       match=r'ann.json: annotation id 7 .* 12 keypoint numbers, expected 15'):
        CocoKeypointDataset(**_custom_dataset(tmp_path, kpt_numbers=12))
    cfg = _custom_dataset(tmp_path, with_image=False)
    (tmp_path / 'img' / 'a.jpg').unlink()
    with pytest.raises(BadImageError, match='a.jpg'):
        CocoKeypointDataset(**cfg, test_mode=True)
    ds = CocoKeypointDataset(**cfg, skip_bad_images=True, test_mode=True)
    assert len(ds) == 1 and ds.num_missing_images == 1


def test_real_coco_train_filter_and_ignore_mask(shared_data):
    root = coco_root(shared_data)
    train = CocoKeypointDataset(data_root=root,
                                ann_file='annotations/person_keypoints_train2017.json',
                                data_prefix=dict(img='train2017/'))
    test = CocoKeypointDataset(data_root=root,
                               ann_file='annotations/person_keypoints_train2017.json',
                               data_prefix=dict(img='train2017/'),
                               test_mode=True)
    assert len(train) == 36 and len(test) == 37  # image 70133 has no annotation
    infos = [train.get_data_info(i) for i in range(len(train))]
    assert sum(len(i['keypoints']) for i in infos) == 172 - 5  # every non-crowd person
    crowd = next(i for i in infos if i['img_id'] == 129648)
    from hrnet_tasks.datasets.transforms.bottomup import valid_mask_from_segmentations
    from pycocotools import mask as mask_utils
    mask = valid_mask_from_segmentations(crowd['ignore_segmentations'], crowd['height'],
                                         crowd['width'])
    ann = [a for a in train.coco.loadAnns(train.coco.getAnnIds(imgIds=129648)) if a['iscrowd']][0]
    rle = mask_utils.frPyObjects(ann['segmentation'], crowd['height'], crowd['width'])
    inside = mask_utils.decode(rle).astype(bool)
    assert inside.sum() > 0 and (mask[inside] == 0).all()
    assert 0 < mask.mean() < 1


def _identity_affine():
    t = BottomupRandomAffine(input_size=128, heatmap_strides=(4, 2))
    t.sample = lambda h, w: (min(h, w), (w / 2, h / 2), 0.0)
    return t


def test_identity_affine_scales_joints_and_flip(shared_data):
    img = np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8)
    kpts = np.zeros((1, 17, 3), np.float32)
    kpts[0, :, 0], kpts[0, :, 1], kpts[0, :, 2] = np.linspace(10, 240, 17), 100, 2
    res = _identity_affine().transform(
        dict(img=img, keypoints=kpts, ignore_segmentations=[[[0, 0, 64, 0, 64, 64, 0, 64]]]))
    assert res['img'].shape == (128, 128, 3)
    for r, k in zip((32, 64), res['keypoints_list']):
        np.testing.assert_allclose(k[..., :2], kpts[..., :2] * r / 256, atol=1e-4)
    assert res['masks'][0][:7, :7].max() == 0 and res['masks'][0][10:, 10:].min() == 1
    flip = BottomupRandomFlip(prob=1.0)
    before = [m.copy() for m in res['masks']]
    k_before = [k.copy() for k in res['keypoints_list']]
    res = flip.transform(dict(res, flip_indices=parse_pose_metainfo(None)['flip_indices']))
    assert np.array_equal(res['masks'][1], before[1][:, ::-1])
    assert res['keypoints_list'][0][0, 6, 0] == pytest.approx(32 - 1 - k_before[0][0, 5, 0])


def test_affine_off_canvas_is_masked():
    t = BottomupRandomAffine(input_size=128, heatmap_strides=(4, 2))
    t.sample = lambda h, w: (2 * min(h, w), (w / 2, h / 2), 0.0)  # zoom out: borders off-image
    res = t.transform(
        dict(img=np.full((100, 100, 3), 200, np.uint8), keypoints=np.zeros((0, 17, 3))))
    assert res['masks'][0][0, 0] == 0 and res['masks'][0][16, 16] == 1
    assert res['img'][0, 0].max() == 0


def test_training_sample_on_tiny_data(tiny_data):
    from mmengine.config import Config
    from hrnet_tasks.registry import DATASETS
    cfg = Config.fromfile('configs/tiny/pose.py')
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(ds) == 200
    sample = ds[3]['data_samples']
    assert [tuple(h.shape) for h in sample.gt_heatmaps] == [(17, 32, 32), (17, 64, 64)]
    assert [tuple(m.shape) for m in sample.gt_masks] == [(32, 32), (64, 64)]
    assert tuple(sample.gt_joints[0].shape) == (30, 17, 2)
    assert float(sample.gt_heatmaps[0].max()) == 1.0
    val = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(val) == 40  # includes the image with nobody in it
    assert val[39]['data_samples'].metainfo['input_size'] == (192, 128)


def test_test_resize_packs_back_projection_info():
    res = BottomupResize(input_size=512).transform(dict(img=np.zeros((480, 640, 3), np.uint8)))
    assert res['img'].shape == (512, 704, 3) and res['input_size'] == (704, 512)
    assert res['warp_center'] == (320, 240) and res['warp_scale'] == pytest.approx(480 / 512)
    packed = PackBottomupInputs().transform(res)
    assert tuple(packed['inputs'].shape) == (3, 512, 704)


def test_data_prep_coco_checker(shared_data, tmp_path, capsys):
    import importlib.util
    path = osp.join(osp.dirname(__file__), '..', '..', 'data_prep', 'coco.py')
    spec = importlib.util.spec_from_file_location('coco_prep', path)
    prep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prep)
    root = coco_root(shared_data)
    report = prep.check_split(root, 'train2017', size_check=False)
    assert (report['images'], report['images_with_annotations'], report['crowd_regions']) == (37,
                                                                                              36, 5)
    assert report['people'] == 167 and report['people_with_keypoints'] == 86
    assert not report['problems']
    # a copy with one image removed: reported by name, exit status 1
    (tmp_path / 'annotations').mkdir()
    shutil.copy(osp.join(root, 'annotations', 'person_keypoints_val2017.json'),
                tmp_path / 'annotations')
    shutil.copytree(osp.join(root, 'val2017'), tmp_path / 'val2017')
    (tmp_path / 'val2017' / '000000000785.jpg').unlink()
    assert prep.main(['--root', str(tmp_path), '--splits', 'val2017']) == 1
    assert '000000000785.jpg' in capsys.readouterr().out
