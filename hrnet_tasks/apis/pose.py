"""Bottom-up pose results and their picture."""
from dataclasses import dataclass
from typing import List

import cv2
import numpy as np

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
        return f'PoseResult({len(self)} people, {len(self.keypoint_names)} keypoints{best})'


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


def draw_pose(image: np.ndarray,
              result: PoseResult,
              model=None,
              score_thr: float = 0.1,
              max_people: int = 20) -> np.ndarray:
    """Skeletons (links from the metainfo) and joint scores on an upscaled copy of the image."""
    meta = pose_metainfo(model)
    scale = max(1.0, 480 / max(image.shape[:2]))
    canvas = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    rng = np.random.default_rng(0)
    for p in range(min(len(result), max_people)):
        if result.scores[p] < score_thr:
            continue
        colour = tuple(int(c) for c in rng.integers(60, 256, 3))
        pts = result.keypoints[p]
        for a, b in meta['skeleton_links']:
            if pts[a, 2] >= score_thr and pts[b, 2] >= score_thr:
                cv2.line(canvas, (int(pts[a, 0] * scale), int(pts[a, 1] * scale)),
                         (int(pts[b, 0] * scale), int(pts[b, 1] * scale)), colour, 2, cv2.LINE_AA)
        for x, y, s in pts:
            if s < score_thr:
                continue
            c = (int(x * scale), int(y * scale))
            cv2.circle(canvas, c, 3, colour, -1, cv2.LINE_AA)
            cv2.putText(canvas, f'{s:.2f}', (c[0] + 3, c[1] - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.3,
                        (255, 255, 255), 1, cv2.LINE_AA)
        top = pts[pts[:, 2] >= score_thr]
        if len(top):
            org = (int(top[:, 0].min() * scale), max(10, int(top[:, 1].min() * scale) - 6))
            cv2.putText(canvas, f'{result.scores[p]:.2f}', org, cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                        colour, 1, cv2.LINE_AA)
    return canvas


register_task(TaskAdapter('pose', (BottomUpPoseEstimator, ), infer_pose, draw_pose))
