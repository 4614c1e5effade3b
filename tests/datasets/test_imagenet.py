"""ImageNetDataset: both layouts, real ImageNet samples, bad paths and bad images."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from hrnet_tasks.datasets import DataPathError, ImageNetDataset
from hrnet_tasks.datasets.transforms import BadImageError, LoadImage

LOAD = [dict(type='LoadImage')]


def test_folder_layout(tiny_data):
    ds = ImageNetDataset(data_root=osp.join(tiny_data, 'cls'), data_prefix='val', pipeline=LOAD)
    assert len(ds) == 101
    classes = sorted(os.listdir(osp.join(tiny_data, 'cls', 'val')))
    assert list(ds.metainfo['classes']) == classes
    for i in (0, 50, 100):
        info = ds.get_data_info(i)
        assert osp.basename(osp.dirname(info['img_path'])) == classes[info['gt_label']]
    assert ds[3]['img'].shape == (64, 64, 3)


def test_flat_val_with_list_file(tiny_data, tmp_path):
    """The alternative val layout: flat files + '<file> <label>' lines."""
    src = osp.join(tiny_data, 'cls', 'val')
    lines = []
    for label, name in enumerate(sorted(os.listdir(src))):
        for fname in sorted(os.listdir(osp.join(src, name)))[:2]:
            shutil.copy(osp.join(src, name, fname), tmp_path / fname)
            lines.append(f'{fname} {label}')
    (tmp_path / 'val.txt').write_text('\n'.join(lines) + '\n')
    ds = ImageNetDataset(data_root=str(tmp_path), data_prefix='', ann_file='val.txt', pipeline=LOAD)
    assert len(ds) == 20
    labels = [ds.get_data_info(i)['gt_label'] for i in range(20)]
    assert labels == [i // 2 for i in range(20)]


def test_real_imagenet_samples_keep_their_imagenet_index(shared_data):
    root = osp.join(shared_data, 'cls')
    synsets = open(osp.join(root, 'imagenet_synsets.txt')).read().split()
    ds = ImageNetDataset(data_root=root, data_prefix='images', ann_file='val.txt',
                         classes=synsets, pipeline=LOAD)
    expected = {line.split()[0]: int(line.split()[1])
                for line in open(osp.join(root, 'val.txt')) if line.strip()}
    assert len(ds) == len(expected) == 12
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        rel = osp.relpath(info['img_path'], osp.join(root, 'images'))
        assert info['gt_label'] == expected[rel]
        assert synsets[info['gt_label']] == rel.split('/')[0]  # wnid folder == class wnid
    # grayscale JPEGs come out as 3-channel images
    shapes = {ds[i]['img'].shape[2] for i in range(len(ds))}
    assert shapes == {3}


def test_missing_paths_name_path_and_fix(tmp_path):
    with pytest.raises(DataPathError, match=r"data root not found: '.*nowhere'.*make_tiny.py"):
        ImageNetDataset(data_root=str(tmp_path / 'nowhere'), data_prefix='val')
    (tmp_path / 'val').mkdir()
    with pytest.raises(DataPathError, match=r'annotation file not found: .*meta/val.txt'):
        ImageNetDataset(data_root=str(tmp_path), data_prefix='val', ann_file='meta/val.txt')


@pytest.fixture
def folder_with_bad_image(tiny_data, tmp_path):
    src = osp.join(tiny_data, 'cls', 'val')
    for name in sorted(os.listdir(src))[:2]:
        os.makedirs(tmp_path / name)
        for fname in sorted(os.listdir(osp.join(src, name)))[:3]:
            shutil.copy(osp.join(src, name, fname), tmp_path / name / fname)
    bad = tmp_path / sorted(os.listdir(src))[0] / 'zz_corrupt.JPEG'
    bad.write_bytes(b'\xff\xd8\xff\xe0 this is not a jpeg')
    return tmp_path, str(bad)


def test_load_image_names_the_bad_file(folder_with_bad_image, tmp_path):
    _, bad = folder_with_bad_image
    with pytest.raises(BadImageError, match='zz_corrupt.JPEG'):
        LoadImage().transform(dict(img_path=bad))
    empty = tmp_path / 'empty.JPEG'
    empty.write_bytes(b'')
    with pytest.raises(BadImageError, match='empty'):
        LoadImage().transform(dict(img_path=str(empty)))
    with pytest.raises(BadImageError, match='not found'):
        LoadImage().transform(dict(img_path=str(tmp_path / 'gone.JPEG')))


def test_bad_image_raises_or_is_skipped_and_counted(folder_with_bad_image):
    root, bad = folder_with_bad_image
    strict = ImageNetDataset(data_root=str(root), pipeline=LOAD)
    bad_idx = [i for i in range(len(strict)) if strict.get_data_info(i)['img_path'] == bad][0]
    with pytest.raises(BadImageError, match='zz_corrupt.JPEG'):
        strict[bad_idx]
    lenient = ImageNetDataset(data_root=str(root), pipeline=LOAD, skip_bad_images=True)
    sample = lenient[bad_idx]
    assert sample['img_path'] != bad
    assert lenient.num_skipped_images == 1
    # never in test mode: a substitute would count twice in the metric
    test_mode = ImageNetDataset(data_root=str(root), pipeline=LOAD, skip_bad_images=True,
                                test_mode=True)
    with pytest.raises(BadImageError):
        test_mode[bad_idx]


def test_pipeline_matches_official_eval_preprocessing(tiny_data):
    """Test pipeline of the ImageNet configs: short side 256, centre crop 224."""
    from mmengine.config import Config
    from mmengine.dataset import Compose
    cfg = Config.fromfile('configs/cls/hrnet_w32.py')
    pipeline = Compose(cfg.test_pipeline)
    img = osp.join(tiny_data, 'cls', 'val', 'red_circle', 'red_circle_0000.JPEG')
    out = pipeline(dict(img_path=img))
    assert tuple(out['inputs'].shape) == (3, 224, 224)
    assert out['inputs'].dtype == np.uint8 or str(out['inputs'].dtype) == 'torch.uint8'
