"""data_prep/imagenet.py on a fake 3-class ImageNet with a fake devkit."""
import os

import numpy as np
import pytest
from scipy.io import savemat

from conftest import run_tool

WNIDS = ['n03000000', 'n01000000', 'n02000000']  # ILSVRC ids 1, 2, 3 (not sorted order)


@pytest.fixture
def fake_imagenet(tmp_path):
    root = tmp_path / 'imagenet'
    for wnid in WNIDS:
        os.makedirs(root / 'train' / wnid)
        (root / 'train' / wnid / f'{wnid}_1.JPEG').write_bytes(b'x')
    os.makedirs(root / 'val')
    truth = [1, 2, 3, 3, 1]  # ILSVRC ids of val images 1..5
    for i in range(len(truth)):
        (root / 'val' / f'ILSVRC2012_val_{i + 1:08d}.JPEG').write_bytes(b'x')
    devkit = tmp_path / 'devkit'
    os.makedirs(devkit / 'data')
    synsets = np.array([(i + 1, w) for i, w in enumerate(WNIDS)],
                       dtype=[('ILSVRC2012_ID', 'O'), ('WNID', 'O')])
    savemat(devkit / 'data' / 'meta.mat', {'synsets': synsets})
    (devkit / 'data' / 'ILSVRC2012_validation_ground_truth.txt').write_text(
        '\n'.join(map(str, truth)) + '\n')
    return root, devkit, truth


def test_val_folders_from_devkit_is_rerunnable(fake_imagenet):
    root, devkit, truth = fake_imagenet
    for _ in range(2):  # the second run finds everything in place
        proc = run_tool('data_prep/imagenet.py', 'val-folders', '--root', str(root),
                        '--devkit', str(devkit))
        assert proc.returncode == 0, proc.stderr
    for i, ilsvrc_id in enumerate(truth):
        assert (root / 'val' / WNIDS[ilsvrc_id - 1] / f'ILSVRC2012_val_{i + 1:08d}.JPEG').is_file()
    assert '0 flat images to move' in proc.stdout and '5 already in place' in proc.stdout
    check = run_tool('data_prep/imagenet.py', 'check', '--root', str(root), '--classes', '3')
    assert check.returncode == 0 and 'val: 3 class folders, 5 images' in check.stdout


def test_val_list_uses_sorted_wnid_indices(fake_imagenet):
    root, devkit, truth = fake_imagenet
    proc = run_tool('data_prep/imagenet.py', 'val-list', '--root', str(root),
                    '--devkit', str(devkit))
    assert proc.returncode == 0, proc.stderr
    lines = (root / 'meta' / 'val.txt').read_text().split('\n')[:5]
    order = sorted(WNIDS)
    assert lines == [f'ILSVRC2012_val_{i + 1:08d}.JPEG {order.index(WNIDS[t - 1])}'
                     for i, t in enumerate(truth)]


def test_check_reports_problems(tmp_path):
    proc = run_tool('data_prep/imagenet.py', 'check', '--root', str(tmp_path))
    assert proc.returncode == 1 and 'train: MISSING' in proc.stdout
