"""The vectorised target encoder against a naive per-pixel reference, and the two details
that must follow the official HigherHRNet code: the test-resize rounding and truncating
keypoints to the heatmap pixel in float64."""
import numpy as np
import pytest

from hrnet_tasks.codecs import AssociativeEmbedding, bottomup_resize_params
from hrnet_tasks.codecs.associative_embedding import align_to
from hrnet_tasks.datasets.transforms.bottomup import apply_affine


def official_window(sigma: float) -> np.ndarray:
    """The official generator's window: float64 Gaussian on a (6 sigma + 3)^2 grid with its
    peak at index 3 sigma + 1, as it is stored into the float32 heatmaps."""
    size = int(6 * sigma + 3)
    x = np.arange(0, size, 1, np.float64)
    y = x[:, None]
    c = 3 * sigma + 1
    return np.exp(-((x - c)**2 + (y - c)**2) / (2 * sigma**2)).astype(np.float32)


def naive_targets(joints: np.ndarray, width: int, height: int, num_k: int, max_people: int,
                  window: np.ndarray):
    """One joint, one window pixel at a time, in plain Python (float64 coordinates)."""
    r = window.shape[0] // 2
    hms = np.zeros((num_k, height, width), np.float32)
    out = np.zeros((max_people, num_k, 2), np.int32)
    for n, person in enumerate(joints):
        slot = 0
        for k, (x, y, v) in enumerate(person):
            ix, iy = int(float(x)), int(float(y))  # Python truncation toward zero
            if v <= 0 or ix < 0 or iy < 0 or ix >= width or iy >= height:
                continue
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    px, py = ix + dx, iy + dy
                    if 0 <= px < width and 0 <= py < height:
                        hms[k, py, px] = max(hms[k, py, px], window[dy + r, dx + r])
            if n < max_people:
                out[n, slot] = (k * height * width + iy * width + ix, 1)
                slot += 1
    return hms, out


@pytest.mark.parametrize('size,people,seed', [((48, 40), 6, 0), ((32, 32), 35, 1),
                                              ((20, 56), 3, 2)])
def test_vectorised_encoder_matches_naive_reference(size, people, seed):
    width, height = size
    codec = AssociativeEmbedding(num_keypoints=5, max_people=30)
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-9, max(size) + 9, (people, 5, 2))
    xy[0, 0] = (-0.5, 3.0)  # int() truncates toward zero: inside
    xy[0, 1] = (width - 1e-9, 2.0)  # just below the border, in float64: inside
    xy[1 % people, 2] = xy[0, 2]  # two people on one pixel
    vis = rng.integers(0, 3, (people, 5, 1)).astype(np.float64)
    vis[0, :2] = 2
    joints = np.concatenate([xy, vis], axis=2)
    ref_hms, ref_joints = naive_targets(joints, width, height, 5, 30, official_window(2))
    hms = codec.encode_heatmaps(joints, size)
    assert hms.dtype == np.float32 and hms.shape == (5, height, width)
    assert np.array_equal(hms, ref_hms)
    assert ref_hms.max() == 1.0
    enc = codec.encode_joints(joints, size)
    assert enc.dtype == np.int32 and np.array_equal(enc, ref_joints)


@pytest.mark.parametrize('sigma', [2, 3])
def test_window_is_the_official_float64_gaussian(sigma):
    codec = AssociativeEmbedding(sigma=sigma)
    assert np.array_equal(codec._window, official_window(sigma))


def test_keypoints_truncate_in_float64():
    codec = AssociativeEmbedding(num_keypoints=2)
    below = np.nextafter(21.0, 0)  # 20.999999999999996: float32 rounds it to 21.0
    assert int(np.float32(below)) == 21
    joints = np.array([[[below, 10.0, 2], [63.99999999, 5.0, 2]]])
    hms = codec.encode_heatmaps(joints, 64)
    assert hms[0, 10, 20] == 1.0 and hms[0, 10, 21] < 1.0
    assert hms[1, 5, 63] == 1.0  # float32 would put it at x = 64, outside the map
    flat = codec.encode_joints(joints, 64)[0, :, 0]
    assert flat.tolist() == [10 * 64 + 20, 64 * 64 + 5 * 64 + 63]
    # the affine keeps float64 all the way to the encoder
    moved = apply_affine(joints.astype(np.float32), np.array([[1.0, 0, 1e-9], [0, 1.0, 0]]))
    assert moved.dtype == np.float64


def test_test_resize_uses_the_official_rounding():
    assert align_to(768.77, 64) == 768  # not a true ceiling (832)
    assert align_to(682.67, 64) == 704 and align_to(512, 64) == 512 and align_to(513, 64) == 576
    # 333x500 at 512: 512 * 500 / 333 = 768.77 -> 768 wide (a true ceiling gives 832)
    assert bottomup_resize_params(333, 500, 512)[0] == (768, 512)
    assert bottomup_resize_params(500, 333, 512)[0] == (512, 768)
    # sizes the true ceiling also gave
    assert bottomup_resize_params(480, 640, 512)[0] == (704, 512)
    assert bottomup_resize_params(640, 427, 512)[0] == (512, 768)
