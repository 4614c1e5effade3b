"""Detection from Python: results in original image pixels, the boxes picture, and
detect-then-pose with two models or with one joint model (random weights: the mechanics,
not the accuracy)."""
import cv2
import numpy as np
import pytest
import torch

from hrnet_tasks.apis import inference, init_model, task_of
from hrnet_tasks.apis.detect_pose import detect_then_pose, draw_detect_pose
from hrnet_tasks.apis.detection import DetectionResult
from hrnet_tasks.apis.drawing import DrawStyle
from hrnet_tasks.datasets import parse_pose_metainfo

IMAGE = 'data/tiny/det/val/000000100001.jpg'


CLASSES = ('person', 'sports ball', 'kite')


@pytest.fixture(scope='module')
def models(tiny_data):
    torch.manual_seed(0)
    det = init_model('configs/tiny/det.py')
    joint = init_model('configs/tiny/multitask_det_topdown.py')
    for head in (det.head, joint.heads['det']):  # random weights that favour 'person'
        head.detector.roi_heads.box_predictor.cls_score.bias.data[1] = 3.0
        head.detector.roi_heads.detections_per_img = 5  # a few people to pose
    # what a trained checkpoint's meta carries (the datasets' metainfo)
    det.dataset_meta = dict(classes=CLASSES)
    joint.dataset_meta = dict(det=dict(classes=CLASSES), topdown=parse_pose_metainfo(None))
    return dict(det=det, pose=init_model('configs/tiny/topdown.py'), joint=joint)


def test_detector_results_and_picture(models):
    det = models['det']
    image = cv2.imread(IMAGE)
    result = inference(det, image)
    assert isinstance(result, DetectionResult) and len(result) > 0
    assert list(result.classes) == list(CLASSES)
    assert np.all(np.diff(result.scores) <= 0)  # best first
    assert result.bboxes[:, 2].max() <= image.shape[1] and result.bboxes[:, 3].max() <= \
        image.shape[0]
    adapter = task_of(det)
    style = DrawStyle(score_thr=float(np.median(result.scores)))
    picture = adapter.draw(image, result, det, style=style)
    assert picture.shape[0] >= 480 and picture.shape[1] > 640  # upscaled, with a legend
    assert len(adapter.shown(result, style)) == int((result.scores >= style.score_thr).sum())


@pytest.mark.parametrize('kind', ['two models', 'joint'])
def test_detect_then_pose(models, kind):
    det, pose = (models['det'], models['pose']) if kind == 'two models' else \
        (models['joint'], models['joint'])
    result = detect_then_pose(det, pose, IMAGE, det_score_thr=0.0)
    people = result.detections.select(0.0, classes=['person'])
    assert len(people) > 0 and len(result.poses) == len(people)
    np.testing.assert_allclose(result.poses.bboxes, people.bboxes)
    assert result.poses.keypoints.shape == (len(people), 17, 3)
    picture = draw_detect_pose(cv2.imread(IMAGE), result, pose, DrawStyle(score_thr=0.0))
    assert picture.ndim == 3 and picture.shape[0] >= 480


def test_detect_then_pose_names_a_wrong_model(models):
    with pytest.raises(ValueError, match='needs a Detector .* not TopdownPoseEstimator'):
        detect_then_pose(models['pose'], models['pose'], IMAGE)


def test_joint_model_inference_detects_then_poses(models):
    from hrnet_tasks.apis import MultiTaskResult
    joint = models['joint']
    result = inference(joint, IMAGE)
    assert isinstance(result, MultiTaskResult) and set(result.tasks) == {'det', 'topdown'}
    people = result['det'].select(0.5, classes=['person'])
    assert len(result['topdown']) == len(people) > 0
    picture = task_of(joint).draw(cv2.imread(IMAGE), result, joint, style=DrawStyle())
    assert picture.shape[0] >= 480
