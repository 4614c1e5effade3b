"""The `Albumentations` transform: labels follow albumentations' geometry exactly, joints that
leave the image turn invisible, mirrors swap left/right joints, filled label pixels are ignored;
and the example configs of every task run on the tiny data."""
import os.path as osp
import pickle

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from hrnet_tasks.datasets import parse_pose_metainfo
from hrnet_tasks.datasets.transforms.albumentations import Albumentations, iter_albumentations
from hrnet_tasks.registry import DATASETS, TRANSFORMS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FLIP = parse_pose_metainfo(None)['flip_indices']
H, W = 48, 64


def albu(*transforms, **kwargs):
    return TRANSFORMS.build(dict(type='Albumentations', transforms=list(transforms), **kwargs))


def sample_arrays(seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    seg = rng.integers(0, 6, (H, W), dtype=np.uint8)
    seg[:5, :5] = 255  # ignore stays ignore
    mask = (rng.random((H, W)) > 0.3).astype(np.float32)
    kpts = np.zeros((2, 17, 3), np.float32)
    kpts[..., 0] = rng.uniform(0, W - 1, (2, 17))
    kpts[..., 1] = rng.uniform(0, H - 1, (2, 17))
    kpts[..., 2] = 2
    kpts[1, 3, 2] = 0  # an unlabelled joint stays unlabelled
    kpts[0, 0, :2] = (W - 2, 1)  # corners: the affine below pushes some out of the image
    kpts[0, 1, :2] = (1, H - 2)
    kpts[0, 2, :2] = (W - 2, H - 2)
    return img, seg, mask, kpts


def albu_affine_matrix(rotate, scale, tx, ty):
    """albumentations' Affine matrix from its documented parameters: rotation about the pixel
    centre ((W - 1) / 2, (H - 1) / 2), scale, then translation; composed in its order."""
    cx, cy = W / 2 - 0.5, H / 2 - 0.5
    rad = np.deg2rad(rotate % 360)
    to_origin = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
    scaling = np.diag([scale, scale, 1.0])
    rotation = np.array([[np.cos(rad), np.sin(rad), 0], [-np.sin(rad), np.cos(rad), 0],
                         [0, 0, 1]])
    no_shear = np.eye(3)
    shift = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    back = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]])
    return back @ shift @ no_shear @ rotation @ scaling @ to_origin


def test_affine_moves_image_labels_and_keypoints_like_cv2():
    img, seg, mask, kpts = sample_arrays()
    rotate, scale, tx, ty = 25.0, 1.1, 6, -4
    transform = albu(
        dict(type='Affine', rotate=rotate, scale=scale, translate_px=dict(x=tx, y=ty),
             border_mode=cv2.BORDER_CONSTANT, fill_mask=7, p=1.0))
    matrix = albu_affine_matrix(rotate, scale, tx, ty)

    out = transform(dict(img=img.copy(), gt_seg_map=seg.copy()))
    np.testing.assert_array_equal(
        out['img'], cv2.warpAffine(img, matrix[:2], (W, H), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=0))
    expected_seg = cv2.warpAffine(seg, matrix[:2], (W, H), flags=cv2.INTER_NEAREST,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=255)
    assert (expected_seg == 255).mean() > 0.1  # the corners rotated in are really tested
    np.testing.assert_array_equal(out['gt_seg_map'], expected_seg)  # not fill_mask=7
    assert out['img_shape'] == (H, W)

    out = transform(dict(img=img.copy(), keypoints=kpts.copy(), mask=mask.copy(),
                         flip_indices=FLIP))
    np.testing.assert_array_equal(
        out['mask'], cv2.warpAffine(mask, matrix[:2], (W, H), flags=cv2.INTER_NEAREST,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=0))
    xy1 = np.concatenate([kpts[..., :2], np.ones(kpts.shape[:2] + (1, ))], -1)
    expected_xy = xy1 @ matrix[:2].T
    np.testing.assert_allclose(out['keypoints'][..., :2], expected_xy, atol=1e-3)
    outside = ((expected_xy[..., 0] < 0) | (expected_xy[..., 0] >= W) |
               (expected_xy[..., 1] < 0) | (expected_xy[..., 1] >= H))
    assert 0 < outside.sum() < outside.size
    expected_vis = np.where(outside, 0, kpts[..., 2])
    np.testing.assert_array_equal(out['keypoints'][..., 2], expected_vis)
    assert out['keypoints'][1, 3, 2] == 0


def test_dropout_filled_label_pixels_become_ignore():
    img, seg, _, _ = sample_arrays(5)
    img[...] = 200  # the hole is the only black area
    transform = albu(dict(type='CoarseDropout', num_holes_range=(1, 1),
                          hole_height_range=(10, 10), hole_width_range=(12, 12), fill=0,
                          fill_mask=0, p=1.0))
    out = transform(dict(img=img.copy(), gt_seg_map=seg.copy()))
    hole = (out['img'] == 0).all(-1)
    assert hole.sum() == 10 * 12
    assert (out['gt_seg_map'][hole] == 255).all()
    np.testing.assert_array_equal(out['gt_seg_map'][~hole], seg[~hole])


def test_horizontal_flip_swaps_left_and_right_joints():
    img, seg, mask, kpts = sample_arrays(1)
    out = albu(dict(type='HorizontalFlip', p=1.0))(
        dict(img=img.copy(), keypoints=kpts.copy(), mask=mask.copy(), flip_indices=FLIP))
    expected = kpts[:, FLIP].copy()
    expected[..., 0] = W - 1 - expected[..., 0]
    np.testing.assert_allclose(out['keypoints'], expected, atol=1e-4)
    # joint 1 (left eye) now holds the mirrored right eye
    np.testing.assert_allclose(out['keypoints'][0, 1, 0], W - 1 - kpts[0, 2, 0], atol=1e-4)
    np.testing.assert_array_equal(out['mask'], mask[:, ::-1])
    np.testing.assert_array_equal(out['img'], img[:, ::-1])


def test_two_mirrors_keep_the_joint_order():
    img, _, mask, kpts = sample_arrays(2)
    out = albu(dict(type='HorizontalFlip', p=1.0), dict(type='VerticalFlip', p=1.0))(
        dict(img=img.copy(), keypoints=kpts.copy(), mask=mask.copy(), flip_indices=FLIP))
    expected = kpts.copy()  # a 180-degree rotation: nobody's left becomes right
    expected[..., 0] = W - 1 - kpts[..., 0]
    expected[..., 1] = H - 1 - kpts[..., 1]
    np.testing.assert_allclose(out['keypoints'], expected, atol=1e-4)


def test_crowd_mask_is_built_before_the_geometry_changes():
    img, _, _, kpts = sample_arrays(3)
    crowd = [[[0, 0, 20, 0, 20, 16, 0, 16]]]  # polygon in the top-left corner
    out = albu(dict(type='HorizontalFlip', p=1.0))(
        dict(img=img.copy(), keypoints=kpts.copy(), ignore_segmentations=crowd,
             flip_indices=FLIP))
    assert out['mask'][8, W - 10] == 0 and out['mask'][8, 10] == 1


def test_between_bottomup_affine_and_flip_every_resolution_follows():
    img, _, _, kpts = sample_arrays(4)
    img = cv2.resize(img, (64, 64))
    full = np.ones((64, 64), np.float32)
    scales = (4, 2)  # heatmap strides: 16 x 16 and 32 x 32 targets
    rotate = 90.0
    results = dict(img=img, keypoints_list=[kpts / [s, s, 1] for s in scales],
                   masks=[full[::s, ::s].copy() for s in scales], flip_indices=FLIP)
    out = albu(dict(type='Affine', rotate=rotate, translate_px=dict(x=8, y=0),
                    border_mode=cv2.BORDER_CONSTANT, p=1.0))(results)
    cx = cy = 31.5
    rot = np.array([[0, 1, 0], [-1, 0, 0]], np.float64)  # albumentations' 90 degrees
    for s, k, k_in, m in zip(scales, out['keypoints_list'], results['keypoints_list'],
                             out['masks']):
        xy = kpts[..., :2] - [cx, cy]
        expected = (xy @ rot[:, :2].T + [cx + 8, cy]) / s
        np.testing.assert_allclose(k[..., :2], expected, atol=1e-3)
        assert m.shape == (64 // s, 64 // s)
        # 8 columns on the left are uncovered: unsupervised at every resolution
        assert (m[:, :8 // s] == 0).all() and (m[:, 8 // s:] == 1).all()


def test_rejects_what_would_break_labels():
    with pytest.raises(ValueError, match='mask_interpolation'):
        albu(dict(type='Affine', rotate=5, mask_interpolation=cv2.INTER_LINEAR))
    img, _, mask, kpts = sample_arrays()
    reflecting = albu(dict(type='Affine', rotate=5, border_mode=cv2.BORDER_REFLECT_101))
    with pytest.raises(ValueError, match='border_mode'):
        reflecting(dict(img=img, keypoints=kpts, mask=mask, flip_indices=FLIP))
    with pytest.raises(KeyError, match='albumentations'):
        albu(dict(type='NoSuchTransform'))


def test_follows_numpy_seeding():
    img = sample_arrays()[0]
    transform = albu(dict(type='Affine', rotate=(-40, 40), p=1.0),
                     dict(type='RandomBrightnessContrast', p=1.0))
    runs = []
    for seed in (0, 0, 1):
        np.random.seed(seed)
        runs.append(transform(dict(img=img.copy()))['img'])
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_survives_pickling_for_spawned_workers():
    img = sample_arrays()[0]
    transform = albu(dict(type='CLAHE', p=1.0))
    copy = pickle.loads(pickle.dumps(transform))
    np.random.seed(0)
    expected = transform(dict(img=img.copy()))['img']
    np.random.seed(0)
    np.testing.assert_array_equal(copy(dict(img=img.copy()))['img'], expected)


def test_mmpretrain_albumentations_still_reachable():
    img = sample_arrays()[0]
    transform = TRANSFORMS.build(dict(type='mmpretrain.Albumentations',
                                      transforms=[dict(type='HorizontalFlip', p=1.0)]))
    out = transform(dict(img=img.copy()))
    np.testing.assert_array_equal(out['img'], img[:, ::-1])


@pytest.mark.parametrize('config, overrides', [
    ('configs/cls/hrnet_w18_albu.py', dict(data_root='cls', data_prefix='train')),
    ('configs/seg/fcn_hrnetv2_w18_small_cityscapes_512x1024_albu.py', dict(data_root='seg')),
    ('configs/pose/higherhrnet_w32_coco_512_albu.py',
     dict(data_root='pose', ann_file='annotations/person_keypoints_train.json',
          data_prefix=dict(img='train/'))),
])
def test_example_config_train_pipeline_runs(tiny_data, config, overrides):
    cfg = Config.fromfile(osp.join(ROOT, config))
    dataset_cfg = cfg.train_dataloader.dataset
    types = [t['type'] for t in dataset_cfg.pipeline]
    assert 'Albumentations' in types
    dataset_cfg.update(overrides, data_root=osp.join(tiny_data, overrides['data_root']))
    dataset = DATASETS.build(dataset_cfg)
    albu_step = next(t for t in dataset.pipeline.transforms if type(t).__name__ ==
                     'Albumentations')
    assert isinstance(albu_step, Albumentations)  # ours shadows mmpretrain's in our scope
    assert [type(t).__name__ for t in albu_step.aug.transforms] == \
        [t['type'] for t in albu_step.transforms]
    for step in iter_albumentations(albu_step.aug):  # every configured step runs on the sample
        step.p = 1.0
    np.random.seed(0)
    packed = dataset[0]
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs.ndim == 3 and inputs.shape[0] == 3
    if 'cls' in config:
        assert tuple(inputs.shape[1:]) == (224, 224) and sample.gt_label.numel() == 1
    elif 'seg' in config:
        assert sample.gt_sem_seg.data.shape[1:] == inputs.shape[1:]
    else:
        assert tuple(inputs.shape[1:]) == (512, 512)
        assert [tuple(h.shape[1:]) for h in sample.gt_heatmaps] == [(128, 128), (256, 256)]
        assert float(sample.gt_heatmaps[0].max()) > 0.5  # people survived the pipeline
