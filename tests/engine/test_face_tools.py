"""tools/train.py, test.py, demo.py and export_onnx.py on the tiny face config (a shortened
run: the synthetic faces' csv for training, their COCO-style JSON for testing). demo.py and
export_onnx.py run in-process (their main()), which spares two interpreter start-ups."""
import importlib.util
import json
import os.path as osp
import re

import cv2
import pytest
import torch

from conftest import ROOT, SHARED_DATA, run_tool

CFG = 'configs/tiny/face.py'
# 16 training faces (1 iteration), validation on 6 faces
SMALL = ['train_dataloader.dataset.indices=16', 'train_cfg.max_epochs=1',
         'train_cfg.val_interval=1', 'val_dataloader.dataset.indices=6']


def _tool(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ok(proc):
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def trained(tiny_data, tmp_path_factory):
    work = tmp_path_factory.mktemp('face_train')
    out = _ok(run_tool('tools/train.py', CFG, '--work-dir', str(work), '--cfg-options', *SMALL))
    return work, out


def test_training_logs_the_loss_and_validates(trained):
    work, out = trained
    log = open(next(work.glob('*/*.log'))).read()
    assert re.search(r'loss_kpt: [\d.e-]+', log)
    assert 'NME evaluation on 6 faces' in out
    assert re.search(r'face/NME: [\d.]+ +face/FR@0.08: [\d.]+ +face/FR@0.1: [\d.]+ +'
                     r'face/AUC@0.1: [\d.]+', out)
    ckpt = torch.load(work / 'epoch_1.pth', map_location='cpu', weights_only=True)
    assert ckpt['meta']['dataset_meta']['dataset_name'] == '300w'
    assert all(torch.isfinite(v.float()).all() for v in ckpt['state_dict'].values())


def test_test_tool_prints_the_nme_line(trained, tmp_path):
    work, _ = trained
    out = _ok(run_tool('tools/test.py', CFG, str(work / 'epoch_1.pth'), '--work-dir',
                       str(tmp_path), '--cfg-options', 'test_dataloader.dataset.indices=5',
                       'test_dataloader.batch_size=2'))
    found = re.search(r'NME evaluation on 5 faces: NME ([\d.]+) %', out)
    assert found and float(found.group(1)) > 0


def test_demo_draws_landmarks_on_a_real_face(trained, tmp_path, capsys, one_thread):
    """A shared 300W photo with its face box: the face adapter handles the top-down model."""
    work, _ = trained
    root = osp.join(SHARED_DATA, 'face', '300w')
    if not osp.isdir(root):
        pytest.skip(f'{root} not found: the shared face samples are absent')
    ann = json.load(open(osp.join(root, 'test_300w.json')))['annotations'][0]
    side = 200 * ann['scale']  # the official face box around the center
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(json.dumps([[ann['center'][0] - side / 2, ann['center'][1] - side / 2,
                                  side, side]]))
    out_png = tmp_path / 'face.png'
    _tool('demo').main([osp.join(ROOT, CFG), str(work / 'epoch_1.pth'),
                        osp.join(root, 'indoor_029.png'), '--bboxes', str(boxes), '--out',
                        str(out_png)])
    out = capsys.readouterr().out
    # a face is kept by its box score (1 here), with all its landmarks
    assert 'FaceResult(1 faces, 68 landmarks, best score 1.000)' in out
    picture = cv2.imread(str(out_png))
    assert picture is not None and picture.shape[1] >= 640


def test_onnx_export_matches_pytorch(trained, tmp_path, capsys, one_thread):
    work, _ = trained
    _tool('export_onnx').main([osp.join(ROOT, CFG), str(work / 'epoch_1.pth'),
                               str(tmp_path / 'face.onnx')])
    out = capsys.readouterr().out
    assert 'exported TopdownPoseEstimator at 128x128' in out
    diff = float(re.search(r'max abs diff: ([\d.e+-]+)', out).group(1))
    assert diff < 1e-4
