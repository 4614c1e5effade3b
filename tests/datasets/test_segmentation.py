"""Segmentation datasets and transforms: real Cityscapes/ADE samples, label
conversion, image+label consistency, bad input."""
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.dataset import Compose

from conftest import ROOT
from hrnet_tasks.datasets import ADE20KDataset, CityscapesDataset, DataPathError, SegDataset
from hrnet_tasks.datasets.segmentation import (CITYSCAPES_ID_TO_TRAINID,
                                               cityscapes_labelids_to_trainids)
from mmcv.transforms import Pad, RandomFlip, RandomResize

from hrnet_tasks.datasets.transforms.segmentation import BadLabelError, SegRandomCrop

LOAD = [dict(type='LoadImage'), dict(type='LoadSegAnnotations')]
PACK = LOAD + [dict(type='PackSegInputs')]


def test_cityscapes_mapping_table():
    ids = np.arange(256, dtype=np.uint8)
    mapped = cityscapes_labelids_to_trainids(ids)
    assert set(np.unique(mapped)) == set(range(19)) | {255}
    evaluated = [7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33]
    assert [int(mapped[i]) for i in evaluated] == list(range(19))
    assert sorted(CITYSCAPES_ID_TO_TRAINID) == evaluated
    assert all(mapped[i] == 255 for i in range(256) if i not in evaluated)


def test_real_cityscapes_sample(shared_data, tmp_path):
    root = osp.join(shared_data, 'seg', 'cityscapes')
    prefix = dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val')
    ds = CityscapesDataset(data_root=root, data_prefix=prefix, pipeline=PACK, test_mode=True)
    assert len(ds) == 1 and ds.metainfo['classes'][13] == 'car'
    assert len(ds.metainfo['palette']) == 19
    item = ds[0]
    assert tuple(item['inputs'].shape) == (3, 128, 256)
    train_ids = item['data_samples'].gt_sem_seg.data[0].numpy()
    assert set(np.unique(train_ids)) == {0, 1, 2, 4, 5, 7, 8, 10, 11, 13, 255}
    # on-the-fly labelIds -> trainIds (official) agrees with the stored trainIds on ~99.77 %
    on_the_fly = CityscapesDataset(data_root=root, data_prefix=prefix, pipeline=PACK,
                                   use_label_ids=True, test_mode=True)[0]
    mapped = on_the_fly['data_samples'].gt_sem_seg.data[0].numpy()
    agreement = (mapped == train_ids).mean()
    print(f'labelIds->trainIds agreement with the stored labelTrainIds: {100 * agreement:.2f} % '
          f'({int((mapped != train_ids).sum())} pixels differ)')
    assert 0.995 < agreement < 1.0
    # data_prep/cityscapes.py writes the same map as the on-the-fly LUT, and is idempotent
    work = tmp_path / 'cs'
    shutil.copytree(root, work)
    for f in work.glob('gtFine/val/*/*labelTrainIds.png'):
        f.unlink()
    for expected in ('written 1, kept 0', 'written 0, kept 1'):
        proc = subprocess.run([sys.executable, osp.join(ROOT, 'data_prep', 'cityscapes.py'),
                               str(work), '--nproc', '2'], capture_output=True, text=True)
        assert proc.returncode == 0 and expected in proc.stdout, proc.stdout + proc.stderr
    written = cv2.imread(str(next(work.glob('gtFine/val/*/*labelTrainIds.png'))),
                         cv2.IMREAD_UNCHANGED)
    assert np.array_equal(written, mapped)


def test_real_ade20k_sample_reduce_zero_label(shared_data):
    root = osp.join(shared_data, 'seg', 'ADEChallengeData2016')
    ds = ADE20KDataset(data_root=root, pipeline=PACK, test_mode=True,
                       data_prefix=dict(img_path='images/validation',
                                        seg_map_path='annotations/validation'))
    assert len(ds) == 1 and len(ds.metainfo['classes']) == 150
    assert ds.metainfo['classes'][:3] == ('wall', 'building', 'sky')
    raw = cv2.imread(ds.get_data_info(0)['seg_map_path'], cv2.IMREAD_UNCHANGED)
    label = ds[0]['data_samples'].gt_sem_seg.data[0].numpy()
    assert label.shape == raw.shape == (512, 683)
    assert set(np.unique(raw)) == {0, 1, 2, 3, 5, 7, 10, 18}
    assert set(np.unique(label)) == {255, 0, 1, 2, 4, 6, 9, 17}
    assert np.array_equal(label == 255, raw == 0) and 254 not in label
    assert np.array_equal(label[raw > 0], raw[raw > 0] - 1)


def make_generic(root, size=(40, 60), label_size=None, values=(0, 1, 2), n=3):
    rng = np.random.default_rng(0)
    (root / 'img').mkdir(parents=True, exist_ok=True)
    (root / 'ann').mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(root / 'img' / f'{i}.jpg'), rng.integers(0, 255, (*size, 3), np.uint8))
        lab = rng.choice(values, size=label_size or size).astype(np.uint8)
        cv2.imwrite(str(root / 'ann' / f'{i}.png'), lab)
    (root / 'classes.txt').write_text('bg\nthing\nstuff\n')
    return dict(data_root=str(root), data_prefix=dict(img_path='img', seg_map_path='ann'),
                classes='classes.txt')


def test_generic_dataset_and_palette(tmp_path):
    ds = SegDataset(pipeline=PACK, **make_generic(tmp_path))
    assert len(ds) == 3 and ds.metainfo['classes'] == ('bg', 'thing', 'stuff')
    assert len(set(ds.metainfo['palette'])) == 3
    assert ds[1]['data_samples'].gt_sem_seg.data.shape == (1, 40, 60)


@pytest.mark.parametrize('kind, message', [
    ('size', 'label map size 30x20 differs from its image 60x40'),
    ('values', 'label values [7] outside the 3 classes'),
    ('missing', 'label map not found'),
])
def test_bad_labels_name_the_file_or_are_skipped(tmp_path, kind, message):
    cfg = make_generic(tmp_path, label_size=(20, 30) if kind == 'size' else None,
                       values=(0, 1, 7, 255) if kind == 'values' else (0, 1, 2))
    if kind == 'missing':
        (tmp_path / 'ann' / '1.png').unlink()
    ds = SegDataset(pipeline=PACK, test_mode=True, **cfg)
    with pytest.raises(BadLabelError) as err:
        ds[1]
    assert message in str(err.value) and '1.png' in str(err.value)
    if kind == 'missing':  # skip-and-count in training
        train = SegDataset(pipeline=PACK, skip_bad_images=True, **cfg)
        items = [train[1] for _ in range(3)]
        # each call skips the bad sample (and any random replacement that is bad too)
        assert train.num_skipped_images >= 3 and all('inputs' in i for i in items)
        assert all(i['data_samples'].img_path.endswith(('0.jpg', '2.jpg')) for i in items)


def test_missing_data_root_names_the_fix():
    with pytest.raises(DataPathError, match='data_prep/cityscapes.py'):
        CityscapesDataset(data_root='data/nowhere',
                          data_prefix=dict(img_path='leftImg8bit/train',
                                           seg_map_path='gtFine/train'))


def coded_pair(h=60, w=90):
    """Image whose pixel values encode their label: label = img[..., 0] // 20 (0..4)."""
    label = (np.arange(h)[:, None] // 12 + np.arange(w)[None] // 30) % 5
    img = np.repeat((label * 20 + 5)[..., None], 3, axis=2).astype(np.uint8)
    return dict(img=img, gt_seg_map=label.astype(np.uint8), img_shape=(h, w), ori_shape=(h, w))


def test_geometric_transforms_keep_image_and_label_together():
    np.random.seed(0)
    # mmcv's geometric transforms move the label with the image
    pipe = Compose([RandomResize(scale=(90, 60), ratio_range=(0.6, 1.8), keep_ratio=True),
                    SegRandomCrop(crop_size=(40, 50), cat_max_ratio=0.75),
                    RandomFlip(prob=0.5), Pad(size=(64, 64), pad_val=dict(img=0, seg=255))])
    for _ in range(10):
        out = pipe(coded_pair())
        img, lab = out['img'], out['gt_seg_map']
        assert img.shape[:2] == lab.shape == (64, 64)
        pad = lab == 255
        assert (img[pad] == 0).all()
        # nearest-resized label and linear-resized image agree away from edges
        agree = (img[~pad][:, 0].astype(int) - 5) // 20 == lab[~pad]
        assert agree.mean() > 0.9


def test_cat_max_ratio_and_flip_swap():
    np.random.seed(1)
    crop = SegRandomCrop(crop_size=(20, 20), cat_max_ratio=0.75)
    for _ in range(10):
        lab = crop(coded_pair())['gt_seg_map']
        values, counts = np.unique(lab, return_counts=True)
        assert len(values) > 1 and counts.max() / counts.sum() < 0.75
    flip = RandomFlip(prob=1.0, swap_seg_labels=[(1, 2)])
    pair = coded_pair()
    twice = flip(flip(dict(pair, gt_seg_map=pair['gt_seg_map'].copy())))
    assert np.array_equal(twice['gt_seg_map'], pair['gt_seg_map'])
    # mmcv swaps the labels in the flipped view of the input array: pass a copy
    once = flip(dict(pair, gt_seg_map=pair['gt_seg_map'].copy()))
    assert np.array_equal(once['img'], pair['img'][:, ::-1])
    assert once['flip']  # EncoderDecoder un-flips the predictions of such a sample
    mirrored = pair['gt_seg_map'][:, ::-1]
    swapped = mirrored.copy()
    swapped[mirrored == 1], swapped[mirrored == 2] = 2, 1
    assert np.array_equal(once['gt_seg_map'], swapped)


def test_tiny_seg_data(tiny_data):
    root = osp.join(tiny_data, 'seg')
    ds = CityscapesDataset(data_root=root, pipeline=PACK,
                           data_prefix=dict(img_path='leftImg8bit/train',
                                            seg_map_path='gtFine/train'))
    assert len(ds) == 48
    label = ds[0]['data_samples'].gt_sem_seg.data.numpy()
    assert set(np.unique(label)) <= {0, 2, 7, 8, 10, 11, 13, 255}
    ids = CityscapesDataset(data_root=root, pipeline=PACK, use_label_ids=True,
                            data_prefix=dict(img_path='leftImg8bit/train',
                                             seg_map_path='gtFine/train'))[0]
    assert np.array_equal(ids['data_samples'].gt_sem_seg.data.numpy(), label)


def test_ade20k_layout_check(shared_data):
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'data_prep', 'ade20k.py'),
                           osp.join(shared_data, 'seg', 'ADEChallengeData2016'), '--full'],
                          capture_output=True, text=True)
    # the sample holds one validation image and no training split
    assert proc.returncode == 1
    assert 'validation: 1 images, 1 label maps (the release has 2000)' in proc.stdout
    assert 'training: folder missing' in proc.stdout


def test_photometric_distortion_changes_only_the_image():
    from hrnet_tasks.datasets.transforms.segmentation import SegPhotoMetricDistortion
    np.random.seed(3)
    pair = coded_pair()
    label = pair['gt_seg_map'].copy()
    changed = 0
    for _ in range(5):
        out = SegPhotoMetricDistortion()(dict(pair, img=pair['img'].copy()))
        assert np.array_equal(out['gt_seg_map'], label)
        assert out['img'].dtype == np.uint8 and out['img'].shape == pair['img'].shape
        changed += not np.array_equal(out['img'], pair['img'])
    assert changed >= 3
