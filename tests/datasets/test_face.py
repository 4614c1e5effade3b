"""Face datasets: the official csv and mmpose's JSON on the shared real samples, the
official crop, COFW's box from the points, flip tables, and one-line errors."""
import json
import os
import os.path as osp

import numpy as np
import pytest

from hrnet_tasks.datasets import (AFLWDataset, COFWDataset, Face300WDataset, WFLWDataset)
from hrnet_tasks.datasets.face_metainfo import FACE_METAINFOS
from hrnet_tasks.datasets.transforms.loading import BadImageError
from hrnet_tasks.datasets.transforms.topdown import GetBBoxCenterScale, TopdownAffine

SETS = {'wflw': (WFLWDataset, 'test_wflw.json', 4), '300w': (Face300WDataset, 'test_300w.json', 2),
        'cofw': (COFWDataset, 'test_cofw.json', 2), 'aflw': (AFLWDataset, 'test_aflw.json', 2)}
CSV_300W = 'face_landmarks_300w_test_2faces.csv'


def _face(shared_data, name):
    root = osp.join(shared_data, 'face', name)
    if not osp.isdir(root):
        pytest.skip(f'{root} not found: the shared face samples are absent')
    return root


def _center_side(sample):
    box = sample['bbox'][0].astype(np.float64)
    return (box[:2] + box[2:]) / 2, box[2] - box[0]


@pytest.mark.parametrize('name', list(SETS))
def test_json_samples(shared_data, name):
    cls, ann, count = SETS[name]
    root = _face(shared_data, name)
    ds = cls(ann_file=ann, data_root=root)
    k = ds.metainfo['num_keypoints']
    assert len(ds) == count
    raw = json.load(open(osp.join(root, ann)))['annotations']
    for i in range(len(ds)):
        s = ds.get_data_info(i)
        a = next(a for a in raw if a['id'] == s['id'])
        assert s['keypoints'].shape == (1, k, 2) and s['keypoints_visible'].shape == (1, k)
        np.testing.assert_allclose(s['keypoints'][0].reshape(-1),
                                   np.array(a['keypoints']).reshape(k, 3)[:, :2].reshape(-1),
                                   rtol=1e-6)
        assert s['keypoints_visible'].min() == 1  # COFW's v = 1 and 2 both count
        assert s['img_id'] == a['image_id'] and osp.isfile(s['img_path'])
        if 'center' in a:
            center, side = _center_side(s)
            np.testing.assert_allclose(center, a['center'], atol=1e-4)
            np.testing.assert_allclose(side, 200 * a['scale'], atol=1e-3)


def test_300w_csv_equals_json(shared_data, tmp_path):
    """The two official csv lines parse to the faces of mmpose's JSON (center, scale, all
    68 points); spec B9.4: image 197 center (489.5, 503.5) scale 2.385, 565 (333, 466) 2.63."""
    root = _face(shared_data, '300w')
    # the csv names the images as in the official tree; link them there (no copy)
    os.makedirs(tmp_path / 'Test' / '01_Indoor')
    for img in ('indoor_029.png', 'indoor_020.png'):
        os.symlink(osp.join(root, img), tmp_path / 'Test' / '01_Indoor' / img)
    from_csv = Face300WDataset(ann_file=osp.join(root, CSV_300W),
                               data_prefix=dict(img=str(tmp_path)))
    from_json = Face300WDataset(ann_file='test_300w.json', data_root=root)
    assert len(from_csv) == 2
    for i, (center, scale) in enumerate((((489.5, 503.5), 2.385), ((333.0, 466.0), 2.63))):
        a, b = from_csv.get_data_info(i), from_json.get_data_info(i)
        np.testing.assert_array_equal(a['keypoints'], b['keypoints'])
        got_center, side = _center_side(a)
        np.testing.assert_allclose(got_center, center)
        assert side == pytest.approx(200 * scale, abs=1e-3)
        assert a['img_path'].endswith(f'Test/01_Indoor/{osp.basename(b["img_path"])}')
        assert (a['img_id'], a['id']) == (i, i)  # csv: distinct images / lines in file order


def test_cofw_box_from_points_and_from_bbox(shared_data):
    """Spec B9.6: official COFW boxes id 1766 center (89, 191) scale 0.81, id 1805
    (157.5, 155.5) 0.635; mmpose's JSON bbox is larger (105 x 180 for id 1766)."""
    root = _face(shared_data, 'cofw')
    official = COFWDataset(ann_file='test_cofw.json', data_root=root)
    for i, (center, scale) in enumerate((((89.0, 191.0), 0.81), ((157.5, 155.5), 0.635))):
        got_center, side = _center_side(official.get_data_info(i))
        np.testing.assert_allclose(got_center, center)
        assert side == pytest.approx(200 * scale)
    mmpose = COFWDataset(ann_file='test_cofw.json', data_root=root, box_source='bbox')
    got_center, side = _center_side(mmpose.get_data_info(0))
    np.testing.assert_allclose(got_center, (38 + 105 / 2, 102 + 180 / 2))
    assert side == 180


def test_aflw_box_size(shared_data):
    root = _face(shared_data, 'aflw')
    ds = AFLWDataset(ann_file='test_aflw.json', data_root=root)
    assert [ds.get_data_info(i)['box_size'] for i in range(2)] == [362.0, 128.0]


def test_crop_is_the_official_one(shared_data):
    """GetBBoxCenterScale(1.25) + TopdownAffine(256) crops 200 x 1.25 x scale pixels around
    the center (the official loaders' scale *= 1.25): the center lands on (128, 128) and a
    point half that side to the right on x = 256."""
    root = _face(shared_data, '300w')
    s = Face300WDataset(ann_file='test_300w.json', data_root=root).get_data_info(0)
    half = 200 * 1.25 * 2.385 / 2
    s['keypoints'] = np.array([[[489.5, 503.5], [489.5 + half, 503.5]]], np.float32)
    s['img'] = np.zeros((845, 960, 3), np.uint8)
    out = TopdownAffine((256, 256)).transform(GetBBoxCenterScale(1.25).transform(s))
    np.testing.assert_allclose(out['transformed_keypoints'][0], [[128, 128], [256, 128]],
                               atol=1e-3)


@pytest.mark.parametrize('name,pairs', [('wflw', 44), ('300w', 29), ('cofw', 11), ('aflw', 8)])
def test_flip_tables(name, pairs):
    cls = SETS[name][0]
    flip = cls._load_metainfo()['flip_indices']
    assert len(FACE_METAINFOS[name]['flip_pairs']) == pairs
    assert sum(i != j for i, j in enumerate(flip)) == 2 * pairs
    assert [flip[j] for j in flip] == list(range(len(flip)))  # an involution


def _csv(path, rows, k, extra=()):
    head = ['image_name', 'scale', *extra, 'center_w', 'center_h']
    head += [f'original_{i}_{a}' for i in range(k) for a in 'xy']
    path.write_text('\n'.join([','.join(head)] + [','.join(map(str, r)) for r in rows]) + '\n')
    return str(path)


def test_aflw_csv_reads_box_size(tmp_path):
    (tmp_path / 'a.jpg').write_bytes(b'x')
    pts = list(np.arange(38) + 100.0)
    ann = _csv(tmp_path / 'aflw.csv', [['a.jpg', 1.5, 321.0, 120, 130, *pts]], 19, ('box_size', ))
    s = AFLWDataset(ann_file=ann, data_prefix=dict(img=str(tmp_path))).get_data_info(0)
    assert s['box_size'] == 321.0
    np.testing.assert_allclose(_center_side(s)[0], (120, 130))
    np.testing.assert_allclose(s['keypoints'][0, 1], (102, 103))
    # the official COFW rule from a csv's points: x 100..136, y 101..137
    s = AFLWDataset(ann_file=ann, data_prefix=dict(img=str(tmp_path)),
                    box_source='keypoints').get_data_info(0)
    center, side = _center_side(s)
    np.testing.assert_allclose(center, (118, 119))
    assert side == 36
    with pytest.raises(ValueError, match="box_source='bbox' needs the JSON bbox"):
        AFLWDataset(ann_file=ann, box_source='bbox')


def test_csv_row_with_wrong_column_count_names_file_and_line(tmp_path):
    (tmp_path / 'a.jpg').write_bytes(b'x')
    good = ['a.jpg', 1.0, 50, 50, *([10.0] * 136)]
    ann = _csv(tmp_path / 'w.csv', [good, good[:-2]], 68)
    with pytest.raises(ValueError) as err:
        Face300WDataset(ann_file=ann, data_prefix=dict(img=str(tmp_path)))
    msg = str(err.value)
    assert f'{ann}:3: 138 columns, expected 140 for the 68 points of 300w' in msg
    assert '\n' not in msg
    # the same file read as WFLW (98 points) fails on its header width at line 2
    with pytest.raises(ValueError, match=r'w\.csv:2: 140 columns, expected 200'):
        WFLWDataset(ann_file=ann, data_prefix=dict(img=str(tmp_path)))


def test_bad_header_json_and_missing_image(tmp_path):
    bad = tmp_path / 'bad.csv'
    bad.write_text('name,s,x,y\n')
    with pytest.raises(ValueError, match=r'bad\.csv:1: expected the header image_name,scale'):
        Face300WDataset(ann_file=str(bad))
    js = tmp_path / 'f.json'
    js.write_text(json.dumps(dict(images=[dict(id=1, file_name='a.jpg', width=9, height=9)],
                                  annotations=[dict(id=5, image_id=1, keypoints=[1, 2, 1],
                                                    center=[4, 4], scale=0.1)])))
    with pytest.raises(ValueError, match=r'annotation id 5 has 3 keypoint numbers, expected 87'):
        COFWDataset(ann_file=str(js), box_source='center_scale')
    (tmp_path / 'a.jpg').write_bytes(b'x')
    rows = [[name, 1.0, 200, 5, 5, *([1.0] * 38)] for name in ('gone.jpg', 'a.jpg', 'gone.jpg')]
    ann = _csv(tmp_path / 'm.csv', rows, 19, ('box_size', ))
    with pytest.raises(BadImageError, match=r'referenced by .*m\.csv not found: .*gone\.jpg'):
        AFLWDataset(ann_file=ann, data_prefix=dict(img=str(tmp_path)))
    kept = AFLWDataset(ann_file=ann, data_prefix=dict(img=str(tmp_path)), skip_bad_images=True)
    assert len(kept) == 1 and kept.num_missing_images == 1
    with pytest.raises(ValueError, match=r'\.mat files .* not read'):
        (tmp_path / 'COFW_test_color.mat').write_bytes(b'')
        COFWDataset(ann_file=str(tmp_path / 'COFW_test_color.mat'))


def test_tiny_faces_csv_and_json_agree(tiny_data):
    """data_prep/tiny_face.py writes each split in both formats; they read to the same faces."""
    root = osp.join(tiny_data, 'face')
    for split in ('train', 'val'):
        a = Face300WDataset(ann_file=f'annotations/face_landmarks_tiny_{split}.csv',
                            data_root=root, data_prefix=dict(img='images/'))
        b = Face300WDataset(ann_file=f'annotations/tiny_{split}.json', data_root=root,
                            data_prefix=dict(img='images/'))
        assert len(a) == len(b) > 0
        for i in range(len(a)):
            x, y = a.get_data_info(i), b.get_data_info(i)
            assert x['img_path'] == y['img_path'] and x['img_id'] == y['img_id']
            np.testing.assert_array_equal(x['keypoints'], y['keypoints'])
            np.testing.assert_allclose(x['bbox'], y['bbox'], atol=1e-3)
