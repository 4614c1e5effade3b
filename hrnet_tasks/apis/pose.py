"""Bottom-up pose results and their picture."""
from dataclasses import dataclass
from typing import List

import numpy as np

from hrnet_tasks.apis.drawing import DrawStyle, add_legend, draw_people, upscale, visible_people
from hrnet_tasks.apis.inference import (TaskAdapter, build_test_pipeline, collate_and_predict,
                                        load_inputs, register_task)
from hrnet_tasks.models.pose_estimators import BottomUpPoseEstimator


@dataclass
class PoseResult:
    keypoints: np.ndarray  # (P, K, 3): x, y (original image pixels), joint score
    scores: np.ndarray  # (P,) person scores
    keypoint_names: List[str]

    def __len__(self):
        return len(self.scores)

    def __repr__(self):
        best = f', best score {float(self.scores.max()):.3f}' if len(self) else ''
        people = '1 person' if len(self) == 1 else f'{len(self)} people'
        return f'PoseResult({people}, {len(self.keypoint_names)} keypoints{best})'

    def visible(self, style: DrawStyle = DrawStyle()) -> 'PoseResult':
        """The people a picture drawn with ``style`` shows (``drawing.visible_people``)."""
        keep = visible_people(self.keypoints, self.scores, style)
        return PoseResult(self.keypoints[keep], self.scores[keep], self.keypoint_names)


def pose_metainfo(model) -> dict:
    from hrnet_tasks.datasets.coco_keypoints import parse_pose_metainfo
    meta = getattr(model, 'metainfo', None) or getattr(model, 'dataset_meta', None)
    if meta and 'keypoint_names' in meta:
        return parse_pose_metainfo(meta)
    return parse_pose_metainfo(None)


def infer_pose(model, images) -> List[PoseResult]:
    pipe_path = build_test_pipeline(model.cfg, from_array=False)
    pipe_array = build_test_pipeline(model.cfg, from_array=True)
    samples = collate_and_predict(model, load_inputs(images, pipe_path, pipe_array))
    names = pose_metainfo(model)['keypoint_names']
    results = []
    for s in samples:
        kpts = np.concatenate([s.pred_keypoints, s.pred_keypoint_scores[..., None]], axis=-1)
        order = np.argsort(-s.pred_scores, kind='stable')
        results.append(PoseResult(kpts[order], s.pred_scores[order], list(names)))
    return results


def draw_pose(image: np.ndarray, result: PoseResult, model=None,
              style: DrawStyle = DrawStyle()) -> np.ndarray:
    """The skeletons of the people above ``style.score_thr`` (joints above ``style.kpt_thr``,
    links from the metainfo) on an upscaled copy of the image, and a legend with their
    number and scores: the people ``result.visible(style)`` holds."""
    canvas, scale = upscale(image)
    drawn = draw_people(canvas, result.keypoints, result.scores,
                        pose_metainfo(model)['skeleton_links'], scale, style)
    return add_legend(canvas, people_legend(result.scores, drawn, style))


def people_legend(scores: np.ndarray, drawn, style: DrawStyle) -> list:
    """Legend entries: how many people are drawn at which threshold, then each one's score
    in its colour."""
    head = (None, f'{len(drawn)} {"person" if len(drawn) == 1 else "people"}, score >= '
                  f'{style.score_thr:g} (joints >= {style.kpt_thr:g})')
    return [head] + [(colour, f'person {p + 1}: {scores[p]:.2f}') for p, colour in drawn]


register_task(TaskAdapter('pose', (BottomUpPoseEstimator, ), infer_pose, draw_pose,
                          shown=PoseResult.visible))
