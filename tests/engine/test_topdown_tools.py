"""The tools on the tiny top-down config: a shortened training run, test with detector boxes,
demo with --bboxes, ONNX export parity, the benchmark, a mixed-dataset run with a top-down
head, and the keypoint-count check before training."""
import json
import re

import cv2
import numpy as np
import pytest

from conftest import run_tool

CFG = 'configs/tiny/topdown.py'
# 32 training crops (1 iteration), validation on the GT boxes of the val split
SMALL = ['train_dataloader.dataset.indices=32', 'train_cfg.max_epochs=1',
         'train_cfg.val_interval=1']
DETS = 'data/tiny/topdown/person_detection_results/dets_val.json'


def _ok(proc):
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def short_run(tiny_data, tmp_path_factory):
    work = tmp_path_factory.mktemp('topdown')
    out = _ok(run_tool('tools/train.py', CFG, '--work-dir', str(work), '--cfg-options', *SMALL))
    return work, out


def test_short_training_validates_with_gt_boxes(short_run):
    work, out = short_run
    gt = json.load(open('data/tiny/topdown/annotations/person_keypoints_val.json'))
    assert f'COCO keypoint evaluation on {len(gt["images"])} images' in out
    assert re.search(r'coco/AP: [\d.]+', out)
    log = open(next(work.glob('*/*.log'))).read()
    assert re.search(r'loss_kpt: [\d.e-]+', log)
    assert (work / 'epoch_1.pth').is_file()


def test_test_tool_reads_the_detection_file(short_run, tmp_path):
    work, _ = short_run
    prefix = tmp_path / 'results'
    out = _ok(run_tool('tools/test.py', CFG, str(work / 'epoch_1.pth'), '--work-dir',
                       str(tmp_path), '--cfg-options', 'test_dataloader.dataset.indices=48',
                       f'test_evaluator.outfile_prefix={prefix}'))
    dets = json.load(open(DETS))
    assert f'{len(dets)} person boxes with score >= 0.0' in out
    assert re.search(r'coco/AP: [\d.]+', out) and re.search(r'coco/AR: [\d.]+', out)
    results = json.load(open(f'{prefix}.keypoints.json'))
    # one pose per box of the 48 tested, fewer where OKS-NMS merged overlapping ones
    assert 0 < len(results) <= 48
    assert all(len(r['keypoints']) == 51 for r in results)


def test_demo_draws_one_skeleton_per_box(short_run, tmp_path):
    work, _ = short_run
    dets = json.load(open(DETS))
    image_id = dets[0]['image_id']
    image = f'data/tiny/topdown/val/{image_id:012d}.jpg'
    boxes = [d for d in dets if d['image_id'] == image_id]  # COCO detection results
    (tmp_path / 'boxes.json').write_text(json.dumps(boxes))
    out_png = tmp_path / 'demo.png'
    out = _ok(run_tool('tools/demo.py', CFG, str(work / 'epoch_1.pth'), image, '--bboxes',
                       str(tmp_path / 'boxes.json'), '--score-thr', '0', '--kpt-thr', '0', '--out',
                       str(out_png)))
    assert re.search(rf'TopdownPoseResult\({len(boxes)} (people|person), 17 keypoints', out)
    picture = cv2.imread(str(out_png))
    assert picture is not None and picture.shape[1] >= 480


def test_inference_api_returns_per_instance_results(short_run):
    from hrnet_tasks.apis import TopdownPoseResult, inference, inference_topdown, init_model
    work, _ = short_run
    model = init_model(CFG, str(work / 'epoch_1.pth'))
    image = cv2.imread('data/tiny/topdown/val/000000100001.jpg')
    boxes = np.array([[10, 5, 60, 120], [70, 10, 120, 110]], np.float32)
    result = inference_topdown(model, image, boxes, bbox_scores=np.array([0.9, 0.5]))
    assert isinstance(result, TopdownPoseResult) and len(result) == 2
    assert result.keypoints.shape == (2, 17, 3) and np.array_equal(result.bboxes, boxes)
    assert np.all(result.scores <= np.array([0.9, 0.5]) + 1e-6)  # box x mean joint score
    single = inference_topdown(model, image, boxes[:1], batch_size=1)
    np.testing.assert_allclose(single.keypoints[0], result.keypoints[0], atol=1e-4)
    whole = inference(model, image)  # no boxes: the whole image is one person
    assert len(whole) == 1 and whole.bboxes.tolist() == [[0, 0, 160, 128]]


def test_export_onnx_matches_pytorch(short_run, tmp_path):
    work, _ = short_run
    out = _ok(run_tool('tools/export_onnx.py', CFG, str(work / 'epoch_1.pth'),
                       str(tmp_path / 'topdown.onnx'), '--dynamic-batch'))
    assert "at 128x96 with outputs ['heatmaps']" in out
    assert 'onnxruntime vs PyTorch max abs diff' in out


def test_benchmark_reports_persons_per_second_and_decode_share(tiny_data):
    out = _ok(run_tool('tools/benchmark.py', 'topdown', '--config', CFG, '--batch', '4',
                       '--repeats', '1', '--warmup', '0', '--min-time', '0'))
    assert re.search(r'forward fp32 .* [\d.]+ +[\d.]+', out)
    assert re.search(r'forward fast .* [\d.]+ +[\d.]+', out)
    share = float(re.search(r'decode\+nms % of forward fp32: ([\d.]+)', out).group(1))
    assert share < 100  # a tiny model: the CPU goal (< 5 %) is for the full-size one


def test_head_keypoint_count_other_than_the_dataset_fails_before_training(tiny_data, tmp_path):
    proc = run_tool('tools/train.py', CFG, '--work-dir', str(tmp_path), '--cfg-options',
                    *SMALL, 'model.head.num_keypoints=16')
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: the train dataset (coco) has 17 keypoints but the head '
                           'predicts 16: set model.head.num_keypoints=17')
    assert 'Epoch(train)' not in proc.stdout + proc.stderr


def test_mixed_dataset_run_with_a_topdown_head(tiny_data, tmp_path):
    out = _ok(run_tool('tools/train.py', 'configs/tiny/multitask_topdown_cls.py', '--work-dir',
                       str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=1',
                       'train_cfg.val_interval=1', 'train_dataloader.batch_sampler.'
                       'batches_per_epoch=3', 'val_dataloader.dataset.tasks.topdown.indices=16',
                       'val_dataloader.dataset.tasks.cls.indices=16'))
    assert re.search(r'topdown/coco/AP: [\d.]+', out)
    assert re.search(r'cls/accuracy/top1: [\d.]+', out)
    log = open(next(tmp_path.glob('*/*.log'))).read()
    # 3 batches at 2:1: crop batches train the top-down head, image batches the classifier
    assert re.search(r'topdown/loss_kpt: [\d.e-]+', log) and re.search(r'cls/loss: [\d.e-]+', log)
