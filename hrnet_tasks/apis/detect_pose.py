"""Detect, then pose: a detector's person boxes feed a top-down pose model, in one call.

``detect_then_pose(det_model, pose_model, image)`` runs the detector on the whole image,
keeps the boxes of ``person_class`` scored at least ``det_score_thr`` and runs top-down
pose on their crops (:func:`hrnet_tasks.apis.topdown.inference_topdown`). Either model may
be one head of a joint :class:`MultiTaskModel` (a detection head and a top-down heatmap
head on one HRNet): pass the same joint model twice and one checkpoint detects and poses,
through the same backbone (a whole-image pass, then a pass over the crops).
"""
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Optional

import numpy as np
from mmengine.config import Config

from hrnet_tasks.apis.detection import DetectionResult, draw_detections, infer_detection
from hrnet_tasks.apis.drawing import DrawStyle, LabelPlacer, add_legend, draw_people, upscale
from hrnet_tasks.apis.inference import ImageLike
from hrnet_tasks.apis.pose import pose_metainfo
from hrnet_tasks.apis.topdown import TopdownPoseResult, inference_topdown


@dataclass
class DetectPoseResult:
    detections: DetectionResult  # every box the detector kept (all classes)
    poses: TopdownPoseResult  # one person per selected box, in the order of ``boxes``

    def __repr__(self):
        return f'DetectPoseResult({len(self.detections)} boxes, {len(self.poses)} people posed)'


class TaskView:
    """One head of a joint ``MultiTaskModel`` seen as a single-task model by the inference
    functions: its test pipeline (the task's validation pipeline), its dataset metainfo
    and head, and ``test_step`` tagging every sample with the task so only that head runs."""

    def __init__(self, model, task: str):
        self.model, self.task = model, task
        self.head = model.heads[task]
        tasks = model.cfg.val_dataloader.dataset.get('tasks') or {}
        if task not in tasks:
            raise KeyError(f'the joint config has no validation dataset for head {task!r} '
                           '(val_dataloader.dataset.tasks), whose pipeline inference needs')
        self.cfg = Config(dict(test_pipeline=tasks[task]['pipeline']))
        meta = getattr(model, 'dataset_meta', None) or {}
        self.dataset_meta = meta.get(task) if isinstance(meta.get(task), dict) else meta
        self.metainfo = getattr(self.head, 'metainfo', None)

    def parameters(self):
        return self.model.parameters()

    def test_step(self, data):
        # crops of in-memory images carry no flip pairs: the task's dataset metainfo has them
        flip = (self.dataset_meta or {}).get('flip_indices')
        for sample in data['data_samples']:
            sample.set_metainfo(dict(task=self.task))
            if flip is not None and sample.metainfo.get('flip_indices') is None:
                sample.set_metainfo(dict(flip_indices=list(flip)))
        return self.model.test_step(data)


def head_named(model, kind: str) -> Optional[str]:
    """The name of ``model``'s first ``'det'`` (DetectionHead) or ``'topdown'`` (heatmap head
    on one crop) head, for a ``MultiTaskModel``; None otherwise."""
    from hrnet_tasks.models.heads import DetectionHead, HeatmapHead
    kinds = {'det': DetectionHead, 'topdown': HeatmapHead}
    for name, head in (getattr(model, 'heads', None) or {}).items():
        if isinstance(head, kinds[kind]):
            return name
    return None


def is_detect_pose_model(model) -> bool:
    """Whether ``model`` is a joint model with a detection head and a top-down head."""
    return head_named(model, 'det') is not None and head_named(model, 'topdown') is not None


def as_task(model, kind: str):
    """``model`` itself when it is a single-task model of ``kind`` (``'det'``: a
    ``Detector``; ``'topdown'``: a ``TopdownPoseEstimator``), the :class:`TaskView` of its
    head of that kind when it is a joint model; ``ValueError`` otherwise."""
    from hrnet_tasks.models.detectors import Detector
    from hrnet_tasks.models.pose_estimators import TopdownPoseEstimator
    single = {'det': Detector, 'topdown': TopdownPoseEstimator}[kind]
    if isinstance(model, single):
        return model
    name = head_named(model, kind)
    if name is None:
        raise ValueError(f'detect-then-pose needs a {single.__name__} (or a joint model with '
                         f'such a head) as its {"detector" if kind == "det" else "pose model"}'
                         f', not {type(model).__name__}')
    return TaskView(model, name)


def detect_then_pose(det_model, pose_model, image: ImageLike, det_score_thr: float = 0.5,
                     person_class: str = 'person', batch_size: int = 32) -> DetectPoseResult:
    """Detections of ``image`` (path or BGR array) and the pose of each ``person_class`` box
    scored at least ``det_score_thr`` (mmpose's demo uses 0.3-0.5)."""
    detector = as_task(det_model, 'det')
    detections = infer_detection(detector, [image])[0]
    if person_class not in detections.classes:
        raise ValueError(f'the detector has no class {person_class!r} (its classes: '
                         f'{", ".join(detections.classes[:10])}...)')
    people = detections.select(det_score_thr, classes=[person_class])
    poses = inference_topdown(as_task(pose_model, 'topdown'), image, people.bboxes,
                              people.scores, batch_size=batch_size)
    return DetectPoseResult(detections, poses)


def draw_detect_pose(image: np.ndarray, result: DetectPoseResult, pose_model=None,
                     style: DrawStyle = DrawStyle()) -> np.ndarray:
    """Every box above ``style.score_thr`` and the skeletons of the posed people on the
    photo (upscaled for readable labels), with a legend of the classes and people."""
    canvas, scale = upscale(image)
    placer = LabelPlacer(canvas.shape)
    meta = pose_metainfo(as_task(pose_model, 'topdown') if pose_model is not None
                         else SimpleNamespace())
    poses = result.poses
    drawn = draw_people(canvas, poses.keypoints, poses.scores, meta['skeleton_links'], scale,
                        style, placer)
    legend = draw_detections(canvas, result.detections, scale, style, placer)
    legend += [(colour, f'person {p}: {poses.scores[p]:.2f}') for p, colour in drawn]
    return add_legend(canvas, legend)
