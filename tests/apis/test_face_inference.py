"""The face adapter: a top-down model trained on a face set gets FaceResult (boxes, all
landmarks, named by the face metainfo), a body-pose one keeps the top-down adapter."""
import os.path as osp

import numpy as np
import pytest

from conftest import ROOT
from hrnet_tasks.apis import FaceResult, inference, inference_faces, init_model, task_of
from hrnet_tasks.apis.drawing import DrawStyle

pytestmark = pytest.mark.usefixtures('one_thread', 'seeded')


@pytest.fixture(scope='module')
def face_model():
    # no checkpoint: the face metainfo comes from the config's test dataset type
    return init_model(osp.join(ROOT, 'configs/tiny/face.py'))


def test_adapter_choice(face_model):
    assert task_of(face_model).name == 'face'
    pose = init_model(osp.join(ROOT, 'configs/tiny/topdown.py'))
    assert task_of(pose).name == 'topdown'


def test_results_per_face_box(face_model):
    image = np.random.default_rng(0).integers(0, 255, (120, 160, 3), np.uint8)
    boxes = np.array([[10, 10, 70, 80], [80, 20, 150, 100]], np.float32)
    result = inference_faces(face_model, image, boxes, bbox_scores=np.array([0.9, 0.2]))
    assert isinstance(result, FaceResult) and result.keypoints.shape == (2, 68, 3)
    assert result.keypoint_names[67] == 'kpt-67'
    np.testing.assert_array_equal(result.bboxes, boxes)
    np.testing.assert_allclose(result.scores, [0.9, 0.2])  # faces keep their box scores
    shown = result.visible(DrawStyle(score_thr=0.3))
    assert len(shown) == 1 and shown.scores[0] == pytest.approx(0.9)
    whole = inference(face_model, image)  # the whole image is one face
    assert repr(whole) == 'FaceResult(1 faces, 68 landmarks, best score 1.000)'
    np.testing.assert_array_equal(whole.bboxes, [[0, 0, 160, 120]])
    picture = task_of(face_model).draw(image, result, face_model, DrawStyle(score_thr=0.3))
    assert picture.shape[0] >= 480
