"""tools/train.py, test.py (--out dets.json), demo.py and export_onnx.py on the tiny
detection config (a shortened run: 8 training images, 5 validation images). Training and
testing run as processes (the Runner); the other tools in-process (their main())."""
import importlib.util
import json
import os.path as osp
import re

import cv2
import pytest
import torch
from mmengine.config import Config

from conftest import ROOT, run_tool
from hrnet_tasks.registry import MODELS

CFG = 'configs/tiny/det.py'
# a one-iteration model scores every box low: keep them all, so the metric has some to rank
KEEP_ALL = 'model.head.detector.box_score_thresh=0.0'
SMALL = ['train_dataloader.dataset.indices=8', 'train_cfg.max_epochs=1',
         'train_cfg.val_interval=1', 'val_dataloader.dataset.indices=5', KEEP_ALL]
IMAGE = 'data/tiny/det/val/000000100001.jpg'


def tool(name):
    """tools/<name>.py as a module, to call its main() in-process."""
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ok(proc):
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def det_run(tiny_data, tmp_path_factory):
    work = tmp_path_factory.mktemp('det')
    out = _ok(run_tool('tools/train.py', CFG, '--work-dir', str(work), '--seed', '0',
                       '--cfg-options', *SMALL))
    return work, out


def test_training_logs_losses_by_name_and_evaluates(det_run):
    work, out = det_run
    log = open(next(work.glob('*/*.log'))).read()
    for name in ('loss_objectness', 'loss_rpn_box_reg', 'loss_classifier', 'loss_box_reg'):
        assert re.search(rf'{name}: [\d.e-]+', log), name
    assert 'COCO bbox evaluation on 5 images, 3 categories' in out
    assert re.search(r'coco/bbox_mAP: [\d.]+', out) and 'coco/bbox_AR_l@100' in out


def test_test_tool_writes_coco_results_for_topdown(det_run, tmp_path):
    work, _ = det_run
    dets = tmp_path / 'dets.json'
    out = _ok(run_tool('tools/test.py', CFG, str(work / 'epoch_1.pth'), '--work-dir',
                       str(tmp_path), '--out', str(dets),
                       '--cfg-options', 'test_dataloader.dataset.indices=4', KEEP_ALL))
    entries = json.load(open(dets))
    assert f'wrote {len(entries)} detections of 4 images' in out
    assert entries and set(entries[0]) == {'image_id', 'category_id', 'bbox', 'score'}
    assert {e['category_id'] for e in entries} <= {1, 37, 38}  # COCO ids, not labels
    with pytest.raises(SystemExit, match=r'results_file \(CocoDetMetric\).*IoUMetric'):
        tool('test').main(['configs/tiny/seg.py', str(work / 'epoch_1.pth'),
                           '--out', str(tmp_path / 'x.json')])


def test_demo_draws_boxes(det_run, tmp_path, capsys):
    work, _ = det_run
    png = tmp_path / 'boxes.png'
    tool('demo').main([CFG, str(work / 'epoch_1.pth'), IMAGE, '--out', str(png),
                       '--score-thr', '0.0'])
    assert 'DetectionResult(' in capsys.readouterr().out
    picture = cv2.imread(str(png))
    assert picture is not None and picture.shape[0] >= 480


def test_onnx_export_matches_pytorch(det_run, tmp_path, capsys):
    """Faster R-CNN (the tiny checkpoint, the tool end to end) and FCOS (random weights)
    export with their proposals / NMS inside and agree with PyTorch in onnxruntime on a real
    picture."""
    import numpy as np
    import onnxruntime as ort
    work, _ = det_run
    export = tool('export_onnx')
    onnx_file = tmp_path / 'det.onnx'
    export.main([CFG, str(work / 'epoch_1.pth'), str(onnx_file), '--check-image', IMAGE])
    out = capsys.readouterr().out
    assert "outputs ['boxes', 'scores', 'labels']" in out and 'max abs diff' in out
    session = ort.InferenceSession(str(onnx_file), providers=['CPUExecutionProvider'])
    assert [i.shape for i in session.get_inputs()] == [[1, 3, 128, 160]]
    boxes = session.run(None, {'input': np.zeros((1, 3, 128, 160), np.float32)})[0]
    assert boxes.ndim == 2 and boxes.shape[1] == 4
    with pytest.raises(SystemExit, match='one image of a fixed size'):
        export.main([CFG, str(work / 'epoch_1.pth'), str(tmp_path / 'x.onnx'),
                     '--dynamic-batch'])

    from hrnet_tasks.apis import init_model
    keep_all = init_model(CFG, str(work / 'epoch_1.pth'),
                          cfg_options={KEEP_ALL.split('=')[0]: 0.0})  # boxes to compare
    wrapper, _ = export.export(keep_all, str(tmp_path / 'all.onnx'), (128, 160), False, 17)
    diff, scale = export.check(wrapper, str(tmp_path / 'all.onnx'), (128, 160), 1,
                               export.picture_input(keep_all, IMAGE, (128, 160)))
    assert scale > 0 and diff < 1e-3 * scale

    cfg = Config.fromfile(osp.join(ROOT, 'configs/det/fcos_hrnetv2p_w18_1x_coco.py'))
    cfg.model.backbone.arch = 'w18_small_v1'
    torch.manual_seed(0)
    fcos = MODELS.build(cfg.model).eval()
    fcos.head.detector.score_thresh = 0.0  # random weights: keep boxes to compare
    wrapper, names = export.export(fcos, str(tmp_path / 'fcos.onnx'), (128, 160), False, 17)
    diff, scale = export.check(wrapper, str(tmp_path / 'fcos.onnx'), (128, 160), 1,
                               export.picture_input(fcos, IMAGE, (128, 160)))
    assert names == ['boxes', 'scores', 'labels'] and scale > 0 and diff < 1e-3 * scale


def test_demo_detects_then_poses(det_run, tmp_path, capsys):
    """tools/demo.py POSE_CFG POSE_CKPT IMAGE --det-config/--det-checkpoint, and the same
    boxes through --bboxes from tools/test.py's results file."""
    work, _ = det_run
    pose_cfg = 'configs/tiny/topdown.py'
    torch.manual_seed(0)
    pose = MODELS.build(Config.fromfile(osp.join(ROOT, pose_cfg)).model)
    pose_ckpt = tmp_path / 'pose.pth'
    torch.save(dict(state_dict=pose.state_dict()), pose_ckpt)
    demo = tool('demo')
    png = tmp_path / 'det_pose.png'
    demo.main([pose_cfg, str(pose_ckpt), IMAGE, '--det-config', CFG, '--det-checkpoint',
               str(work / 'epoch_1.pth'), '--det-score-thr', '0.0', '--out', str(png)])
    out = capsys.readouterr().out
    boxes, posed = (int(v) for v in re.search(r'DetectPoseResult\((\d+) boxes, (\d+) people',
                                              out).groups())
    assert posed <= boxes and cv2.imread(str(png)).shape[0] >= 480
    with pytest.raises(SystemExit, match='--det-config and --det-checkpoint go together'):
        demo.main([pose_cfg, str(pose_ckpt), IMAGE, '--det-config', CFG])
