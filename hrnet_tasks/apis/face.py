"""Facial landmarks from Python: one result per face box, and its picture.

A face model is a ``TopdownPoseEstimator`` trained on a face set (WFLW, 300W, COFW, AFLW or
another :class:`~hrnet_tasks.datasets.face.FaceLandmarkDataset`); it is recognised by the
dataset metainfo its checkpoint carries or by its config's test dataset. Inference is the
top-down one (:func:`~hrnet_tasks.apis.topdown.inference_topdown`: crop each face box
padded by 1.25, decode, map back to the image); the whole image is one face when no box
is given. A face is kept by its box score (every landmark is drawn: the official model has
no point threshold); the picture is the top-down pose picture (box, landmarks as dots).
"""
from dataclasses import dataclass, replace
from typing import List, Optional

import numpy as np

from hrnet_tasks.apis.drawing import DrawStyle
from hrnet_tasks.apis.inference import ImageLike, TaskAdapter, register_task
from hrnet_tasks.apis.topdown import TopdownPoseResult, draw_topdown, inference_topdown
from hrnet_tasks.datasets.coco_keypoints import parse_pose_metainfo
from hrnet_tasks.datasets.face import FaceLandmarkDataset
from hrnet_tasks.datasets.face_metainfo import FACE_METAINFOS
from hrnet_tasks.models.pose_estimators import TopdownPoseEstimator
from hrnet_tasks.registry import DATASETS


@dataclass(repr=False)
class FaceResult(TopdownPoseResult):
    """Per face: ``keypoints`` (F, K, 3) x, y in image pixels and the heatmap peak,
    ``scores`` (F,) the box scores (1 for boxes given without one), ``bboxes`` (F, 4)
    x1 y1 x2 y2, ``keypoint_names``.

    A face has all its landmarks (the official model predicts and scores every point,
    whatever its heatmap peak), so a face is kept or dropped by its box score alone.
    """

    def __repr__(self):
        best = f', best score {float(self.scores.max()):.3f}' if len(self) else ''
        return f'FaceResult({len(self)} faces, {len(self.keypoint_names)} landmarks{best})'

    def visible(self, style: DrawStyle = DrawStyle()) -> 'FaceResult':
        """The faces a picture drawn with ``style`` shows: box score >= ``score_thr``."""
        keep = self.scores >= style.score_thr
        return FaceResult(self.keypoints[keep], self.scores[keep], self.keypoint_names,
                          self.bboxes[keep])


def face_metainfo(model) -> Optional[dict]:
    """The face metainfo of ``model``: its checkpoint's dataset metainfo when that is a face
    set's, else the metainfo of its config's test dataset when that is a face dataset;
    None for other models."""
    meta = getattr(model, 'dataset_meta', None) or getattr(model, 'metainfo', None) or {}
    if meta.get('dataset_name') in FACE_METAINFOS and 'keypoint_names' in meta:
        return meta
    cfg = getattr(model, 'cfg', None)
    dataset = ((cfg.get('test_dataloader') or {}).get('dataset') or {}) if cfg else {}
    cls = DATASETS.get(dataset.get('type')) if isinstance(dataset.get('type'), str) else None
    if isinstance(cls, type) and issubclass(cls, FaceLandmarkDataset):
        return cls._load_metainfo(dataset.get('metainfo'))
    return None


def is_face_model(model) -> bool:
    return face_metainfo(model) is not None


def inference_faces(model, image: ImageLike, bboxes: Optional[np.ndarray] = None,
                    bbox_scores: Optional[np.ndarray] = None, batch_size: int = 32) -> FaceResult:
    """Landmarks of every face box (P, 4 x1 y1 x2 y2; None: the whole image) of one image."""
    meta = face_metainfo(model)
    if meta is None:
        raise TypeError(f'{type(model).__name__} is not a face landmark model (no face dataset '
                        'in its checkpoint metainfo or test config)')
    if getattr(model, 'dataset_meta', None) is not meta:
        # inference_topdown names the points from the model's dataset metainfo
        model.dataset_meta = parse_pose_metainfo(meta)
    result = inference_topdown(model, image, bboxes, bbox_scores, batch_size)
    scores = np.ones(len(result.bboxes), np.float32) if bbox_scores is None else \
        np.asarray(bbox_scores, np.float32).reshape(-1)
    return FaceResult(result.keypoints, scores, result.keypoint_names, result.bboxes)


def infer_faces(model, images) -> List[FaceResult]:
    """:func:`inference_faces` of each image as one whole-image face."""
    return [inference_faces(model, image) for image in images]


def draw_faces(image: np.ndarray, result: FaceResult, model=None,
               style: DrawStyle = DrawStyle()) -> np.ndarray:
    """The top-down picture of the faces whose box score is >= ``style.score_thr``: the box
    and every landmark as a dot (the face sets have no skeleton links)."""
    return draw_topdown(image, result, model, replace(style, kpt_thr=-np.inf))


register_task(
    TaskAdapter('face', (TopdownPoseEstimator, ), infer_faces, draw_faces,
                shown=FaceResult.visible, accepts=is_face_model, infer_boxes=inference_faces))
