"""Top-down crop transforms: official box rules, flip, half body, random box, affine, packing."""
import cv2
import numpy as np
import pytest
import torch

from hrnet_tasks.datasets.coco_keypoints import COCO_METAINFO, parse_pose_metainfo
from hrnet_tasks.datasets.transforms.topdown import (GenerateTarget, GetBBoxCenterScale,
                                                     PackTopdownInputs, RandomBBoxTransform,
                                                     RandomHalfBody, TopdownAffine,
                                                     TopdownRandomFlip, apply_matrix,
                                                     crop_to_image, fix_aspect_ratio,
                                                     warp_matrix)

FLIP = parse_pose_metainfo(COCO_METAINFO)['flip_indices']


def official_affine(center, scale_px, rot, output_size):
    """The official ``get_affine_transform`` construction: three point pairs."""
    src_w, (dst_w, dst_h) = scale_px[0], output_size
    r = np.deg2rad(rot)
    src_dir = np.array([-0.5 * src_w * np.sin(r) * -1, -0.5 * src_w * np.cos(r)])
    dst_dir = np.array([0, -0.5 * dst_w])
    third = lambda a, b: b + np.array([-(a - b)[1], (a - b)[0]])  # noqa: E731
    src = np.array([center, center + src_dir, third(center, center + src_dir)], np.float32)
    dst_c = np.array([dst_w * 0.5, dst_h * 0.5])
    dst = np.array([dst_c, dst_c + dst_dir, third(dst_c, dst_c + dst_dir)], np.float32)
    return cv2.getAffineTransform(src, dst)


def sample(k=17, width=640, height=480):
    rng = np.random.default_rng(0)
    kpts = np.stack([rng.uniform(200, 300, k), rng.uniform(100, 400, k)], -1)[None]
    return dict(img=np.zeros((height, width, 3), np.uint8), bbox=np.array([[180, 80, 320, 420]],
                                                                          np.float32),
                keypoints=kpts.astype(np.float32), keypoints_visible=np.ones((1, k), np.float32),
                flip_indices=FLIP, img_shape=(height, width), ori_shape=(height, width))


def test_box_to_center_scale_matches_official_xywh2cs():
    # the highest-scoring detection of the shared sample (image 40083)
    x, y, w, h = 38.328, 112.414, 174.680, 169.569
    out = GetBBoxCenterScale(1.25).transform(dict(bbox=np.array([[x, y, x + w, y + h]])))
    np.testing.assert_allclose(out['bbox_center'][0], (125.668, 197.1985), atol=1e-3)
    scale = fix_aspect_ratio(out['bbox_scale'], 192 / 256)[0] / 200
    np.testing.assert_allclose(scale, (1.09175, 1.45567), atol=1e-5)
    # idempotent, and the short side grows (never the long side shrinks)
    again = fix_aspect_ratio(fix_aspect_ratio([[10, 40]], 0.75), 0.75)
    np.testing.assert_allclose(again, [[30, 40]])
    np.testing.assert_allclose(fix_aspect_ratio([[90, 40]], 0.75), [[90, 120]])


@pytest.mark.parametrize('rot', [0.0, 30.0, -72.5])
def test_warp_matrix_equals_the_official_three_point_affine(rot):
    center, scale = np.array([389.64, 217.57]), np.array([324.075, 432.1])
    ours = warp_matrix(center, scale, rot, (192, 256))
    np.testing.assert_allclose(ours, official_affine(center, scale, rot, (192, 256)), atol=1e-4)
    np.testing.assert_allclose(apply_matrix(center, ours), (96, 128), atol=1e-9)
    back = crop_to_image(apply_matrix([[10.0, 20.0]], ours), ours)
    np.testing.assert_allclose(back, [[10, 20]], atol=1e-9)


def test_udp_warp_puts_box_edges_on_first_and_last_pixel():
    mat = warp_matrix((100.0, 50.0), (60.0, 80.0), 0.0, (192, 256), use_udp=True)
    np.testing.assert_allclose(apply_matrix([[70, 10], [130, 90]], mat), [[0, 0], [191, 255]],
                               atol=1e-9)


@pytest.mark.parametrize('offset', [1, 0])
def test_flip_swaps_pairs_and_mirrors(offset):
    np.random.seed(0)
    data = GetBBoxCenterScale().transform(sample())
    before = {k: np.array(v, copy=True) for k, v in data.items() if isinstance(v, np.ndarray)}
    data['img'][5, 7] = 255
    out = TopdownRandomFlip(prob=1.0, flip_offset=offset).transform(data)
    w = 640
    assert out['flip'] and out['img'][5, w - 1 - 7].max() == 255
    np.testing.assert_allclose(out['keypoints'][0, :, 0],
                               w - offset - before['keypoints'][0, FLIP, 0])
    np.testing.assert_allclose(out['keypoints'][0, :, 1], before['keypoints'][0, FLIP, 1])
    np.testing.assert_allclose(out['bbox_center'][0, 0], w - offset - before['bbox_center'][0, 0])
    np.testing.assert_allclose(out['bbox'][0], [w - offset - 320, 80, w - offset - 180, 420])
    assert sorted(FLIP) == list(range(17)) and [FLIP[i] for i in FLIP] == list(range(17))
    assert not TopdownRandomFlip(prob=0.0).transform(sample())['flip']


def test_half_body_takes_the_chosen_part_padded_by_1_5():
    np.random.seed(0)
    data = GetBBoxCenterScale().transform(sample())
    upper = data['keypoints'][0, :11]
    out = RandomHalfBody(prob=1.0, upper_prioritized_prob=1.0).transform(dict(data))
    np.testing.assert_allclose(out['bbox_center'][0], upper.mean(0), rtol=1e-6)
    np.testing.assert_allclose(out['bbox_scale'][0], (upper.max(0) - upper.min(0)) * 1.5,
                               rtol=1e-6)
    lower = data['keypoints'][0, 11:]
    out = RandomHalfBody(prob=1.0, upper_prioritized_prob=0.0).transform(dict(data))
    np.testing.assert_allclose(out['bbox_center'][0], lower.mean(0), rtol=1e-6)
    # 8 visible joints are not "more than 8": the box is kept
    few = dict(data, keypoints_visible=np.r_[np.ones(8), np.zeros(9)][None])
    out = RandomHalfBody(prob=1.0).transform(few)
    np.testing.assert_allclose(out['bbox_scale'], data['bbox_scale'])


def _draws(transform, n=3000):
    scales, rots = [], []
    for _ in range(n):
        out = transform.transform(dict(bbox_center=np.zeros((1, 2)), bbox_scale=np.ones((1, 2))))
        scales.append(out['bbox_scale'][0, 0])
        rots.append(out['bbox_rotation'][0])
    return np.array(scales), np.array(rots)


def test_random_bbox_official_pose_and_face_ranges():
    np.random.seed(0)
    scales, rots = _draws(RandomBBoxTransform())  # official pose defaults
    assert scales.min() >= 0.65 - 1e-9 and scales.max() <= 1.35 + 1e-9
    # N(1, 0.35) clipped at 1 sigma: 31.7 % of the draws sit on the bounds
    assert np.mean(np.abs(scales - 1) > 0.35 - 1e-9) == pytest.approx(0.317, abs=0.03)
    assert np.abs(rots).max() <= 90 and 0.55 < np.mean(rots != 0) < 0.65
    assert np.abs(rots).max() > 60  # clipped at 2 x 45, not at 45
    scales, rots = _draws(RandomBBoxTransform(scale_factor=0.25, scale_dist='uniform',
                                              rotate_factor=30, rotate_dist='uniform'))
    assert scales.min() >= 0.75 and scales.max() <= 1.25
    assert scales.std() == pytest.approx(0.25 / np.sqrt(3), abs=0.01)
    assert np.abs(rots).max() <= 30 and 0.55 < np.mean(rots != 0) < 0.65
    with pytest.raises(ValueError, match='scale_dist'):
        RandomBBoxTransform(scale_dist='normal')


def test_affine_targets_and_packing_end_to_end():
    from hrnet_tasks.codecs.heatmap import HeatmapCodec
    data = sample()
    kpt = data['keypoints'][0, 0]
    cv2.circle(data['img'], (int(round(kpt[0])), int(round(kpt[1]))), 3, (255, 255, 255), -1)
    data = GetBBoxCenterScale().transform(data)
    data = TopdownAffine((192, 256)).transform(data)
    assert data['img'].shape == (256, 192, 3) and data['img_shape'] == (256, 192)
    crop_pt = data['transformed_keypoints'][0, 0]
    assert data['img'][int(round(crop_pt[1])), int(round(crop_pt[0]))].min() > 200
    np.testing.assert_allclose(crop_to_image(data['transformed_keypoints'], data['warp_mat']),
                               data['keypoints'], atol=1e-3)
    # the box (140 x 340) is widened to 0.75 aspect, then padded 1.25
    np.testing.assert_allclose(data['input_scale'], (255 * 1.25, 340 * 1.25), atol=1e-4)
    codec = dict(type='HeatmapCodec', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
    data = GenerateTarget(codec).transform(data)
    packed = PackTopdownInputs().transform(data)
    s = packed['data_samples']
    assert packed['inputs'].shape == (3, 256, 192) and packed['inputs'].dtype == torch.uint8
    assert s.gt_heatmaps.shape == (17, 64, 48) and s.keypoint_weights.shape == (1, 17)
    assert s.gt_keypoints.shape == (1, 17, 2) and s.gt_keypoints_visible.shape == (1, 17)
    np.testing.assert_allclose(s.gt_keypoints, sample()['keypoints'])
    assert s.metainfo['input_size'] == (192, 256) and s.metainfo['warp_mat'].shape == (2, 3)
    decoded, _ = HeatmapCodec((192, 256), (48, 64), 2).decode(s.gt_heatmaps.numpy())
    image_pts = crop_to_image(decoded, s.metainfo['warp_mat'])
    # within half a heatmap pixel (4 input px x the crop's 1.66 image px per input px / 2)
    assert np.abs(image_pts - sample()['keypoints']).max() < 0.5 * 4 * 318.75 / 192 + 1e-3
