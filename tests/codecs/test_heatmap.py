"""Top-down heatmap codec: official target rules, round trips per mode, decoder details."""
import numpy as np
import pytest

from hrnet_tasks.codecs.heatmap import HeatmapCodec, blur_heatmaps, quarter_offset

SIZES = [((192, 256), (48, 64), 2.0), ((288, 384), (72, 96), 3.0)]
MODES = {'plain': {}, 'dark': dict(unbiased=True), 'udp': dict(use_udp=True)}


def _random_joints(rng, input_size, n=200, margin=20):
    w, h = input_size
    return np.stack([rng.uniform(margin, w - margin, (1, n)), rng.uniform(margin, h - margin,
                                                                          (1, n))], -1)


def _round_trip_errors(mode, input_size, heatmap_size, sigma, seed=0):
    """|decode(encode(p)) - p| in heatmap pixels, one joint per map."""
    codec = HeatmapCodec(input_size, heatmap_size, sigma, **MODES[mode])
    rng = np.random.default_rng(seed)
    joints = _random_joints(rng, input_size)
    errs = []
    for k in range(joints.shape[1]):
        target = codec.encode(joints[:, k:k + 1], np.ones((1, 1)))
        assert target['keypoint_weights'][0, 0] == 1
        decoded, scores = codec.decode(target['heatmaps'])
        assert 0.9 < scores[0, 0] <= 1.0 + 1e-6
        errs.append(np.abs(decoded[0, 0] - joints[0, k]) * codec.scale)
    return np.array(errs)


@pytest.mark.parametrize('input_size,heatmap_size,sigma', SIZES)
def test_round_trip_per_mode(input_size, heatmap_size, sigma):
    plain = _round_trip_errors('plain', input_size, heatmap_size, sigma)
    dark = _round_trip_errors('dark', input_size, heatmap_size, sigma)
    udp = _round_trip_errors('udp', input_size, heatmap_size, sigma)
    print(f'{input_size} heatmap-px errors (max / mean): plain {plain.max():.3f} / '
          f'{plain.mean():.3f}, DARK {dark.max():.4f} / {dark.mean():.4f}, '
          f'UDP {udp.max():.4f} / {udp.mean():.4f}')
    # plain: the target centre is the rounded pixel, and on an exact Gaussian peak the
    # quarter offset is 0, so the error is the rounding (<= 0.5 heatmap px = 2 input px)
    assert plain.max() <= 0.5 + 1e-6 and plain.mean() > 0.15
    assert dark.max() < 0.1 and dark.mean() < 0.02
    assert udp.max() < 0.1 and udp.mean() < 0.02


def test_plain_target_is_the_official_window():
    codec = HeatmapCodec((192, 256), (48, 64), sigma=2)
    joint = np.array([[[81.0, 101.0]]])  # heatmap (20.25, 25.25) -> centre (20, 25)
    hm = codec.encode(joint, np.ones((1, 1)))['heatmaps'][0]
    assert hm[25, 20] == 1.0 and np.unravel_index(hm.argmax(), hm.shape) == (25, 20)
    row = hm[25]
    for d in range(7):
        assert row[20 + d] == pytest.approx(np.exp(-d**2 / 8), rel=1e-6)
        assert row[20 - d] == pytest.approx(np.exp(-d**2 / 8), rel=1e-6)
    assert row[27] == 0 and row[13] == 0  # the 13x13 window ends at 3 sigma
    assert np.count_nonzero(hm) == 13 * 13


def test_weights_visibility_and_windows_outside_the_map():
    codec = HeatmapCodec((192, 256), (48, 64), sigma=2)
    joints = np.array([[[96, 128], [96, 128], [-40, 128], [96, 300], [-26, 128]]], np.float64)
    out = codec.encode(joints, np.array([[1, 0, 1, 1, 2]]))
    w, hm = out['keypoint_weights'][0], out['heatmaps']
    # visible; invisible; window wholly left of the map; below it; visibility 2 -> 1 and
    # a window ending exactly at column -1 (br = 0, not < 0: the official rule keeps it)
    assert w.tolist() == [1, 0, 0, 0, 1]
    assert hm[0].max() == 1 and not hm[1].any() and not hm[2].any() and not hm[3].any()
    assert out['heatmaps'].dtype == np.float32 and out['keypoint_weights'].dtype == np.float32


def test_trunc_centre_rounding_gives_the_official_face_window():
    codec = HeatmapCodec((256, 256), (64, 64), sigma=1.5, centre_rounding='trunc')
    hm = codec.encode(np.array([[[4 * 30.7, 4 * 20.2]]]), np.ones((1, 1)))['heatmaps'][0]
    cols = np.nonzero(hm[20])[0] - 30
    assert hm[20, 30] == 1.0 and cols.min() == -5 and cols.max() == 4  # asymmetric 10 px


def test_quarter_offset_bounds_and_ties():
    maps = np.zeros((4, 8, 8), np.float32)
    maps[0, 4, 4], maps[0, 4, 5], maps[0, 3, 4] = 1.0, 0.5, 0.2  # right higher, up higher
    maps[1, 4, 4], maps[1, 4, 3], maps[1, 4, 5] = 1.0, 0.3, 0.3  # tie: no x step
    maps[2, 1, 4], maps[2, 1, 5] = 1.0, 0.5  # y == 1: no step on either axis (official)
    maps[3, 4, 6], maps[3, 4, 7] = 1.0, 0.5  # x == W - 2: still inside 1 < x < W - 1
    xy = np.array([[4, 4], [4, 4], [4, 1], [6, 4]], np.float64)
    out = quarter_offset(maps, xy)
    assert out.tolist() == [[4.25, 3.75], [4, 4], [4, 1], [6.25, 4]]


def test_decode_empty_map_and_batch_shapes():
    codec = HeatmapCodec((192, 256), (48, 64), sigma=2)
    maps = np.zeros((3, 5, 64, 48), np.float32)
    maps[1, 2, 10, 20] = 0.7
    kpts, scores = codec.batch_decode(maps)
    assert kpts.shape == (3, 5, 2) and scores.shape == (3, 5)
    assert kpts[1, 2].tolist() == [80, 40] and scores[1, 2] == pytest.approx(0.7)
    assert (kpts[0] == 0).all() and (scores[0] == 0).all()  # max <= 0 -> (0, 0)


def test_blur_keeps_each_maximum():
    rng = np.random.default_rng(0)
    maps = rng.random((2, 3, 20, 16)).astype(np.float32)
    out = blur_heatmaps(maps, 11)
    np.testing.assert_allclose(out.max(axis=(-1, -2)), maps.max(axis=(-1, -2)), rtol=1e-6)
    assert out.shape == maps.shape


def test_flip_shift_rule_and_bad_options():
    assert HeatmapCodec().shift_flipped_heatmap
    assert HeatmapCodec(unbiased=True).shift_flipped_heatmap
    assert not HeatmapCodec(use_udp=True).shift_flipped_heatmap
    with pytest.raises(ValueError, match='choose one'):
        HeatmapCodec(unbiased=True, use_udp=True)
    with pytest.raises(ValueError, match='odd'):
        HeatmapCodec(blur_kernel_size=10)
