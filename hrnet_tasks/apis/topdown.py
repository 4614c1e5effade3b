"""Top-down pose from Python: one result per person box, and its picture.

``inference_topdown(model, image, bboxes)`` crops every box (x1, y1, x2, y2 in image
pixels; the whole image when none is given), runs the model on the crops in batches and
returns a :class:`TopdownPoseResult`: per person the keypoints (x, y, score), the box and
the instance score the COCO metric ranks by (box score x mean joint score above 0.2).
``inference(model, images)`` (the generic entry of :mod:`hrnet_tasks.apis`) treats each
image as one person crop. A detector's boxes (e.g. ``tools/test.py --out`` of a detection
config, COCO results) come in through :func:`read_bboxes`.
"""
import json
import os.path as osp
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
from mmengine.dataset import Compose

from hrnet_tasks.apis.inference import (ImageLike, TaskAdapter, build_test_pipeline,
                                        collate_and_predict, register_task)
from hrnet_tasks.apis.drawing import (DrawStyle, LabelPlacer, add_legend, draw_people, upscale,
                                      visible_people)
from hrnet_tasks.apis.pose import PoseResult, people_legend, pose_metainfo
from hrnet_tasks.evaluation.topdown_coco_metric import rescore
from hrnet_tasks.models.pose_estimators import TopdownPoseEstimator


@dataclass(repr=False)
class TopdownPoseResult(PoseResult):
    """:class:`PoseResult` (keypoints (P, K, 3) in image pixels with joint scores, person
    scores, keypoint names) plus the person boxes (P, 4) x1 y1 x2 y2 the crops came from,
    in the order the boxes were given."""
    bboxes: np.ndarray = None

    def __repr__(self):
        return 'Topdown' + super().__repr__()

    def visible(self, style: DrawStyle = DrawStyle()) -> 'TopdownPoseResult':
        """The people a picture drawn with ``style`` shows, with their boxes."""
        keep = visible_people(self.keypoints, self.scores, style)
        return TopdownPoseResult(self.keypoints[keep], self.scores[keep], self.keypoint_names,
                                 self.bboxes[keep])


def _load(model, image: ImageLike) -> dict:
    """The image decoded as the config's test pipeline loads it (path) or as given (array)."""
    steps = [dict(t) for t in model.cfg.test_pipeline if t['type'].startswith('Load')]
    if isinstance(image, str):
        return Compose(steps)(dict(img_path=image))
    image = np.ascontiguousarray(image)
    return dict(img=image, img_shape=image.shape[:2], ori_shape=image.shape[:2])


def inference_topdown(model, image: ImageLike, bboxes: Optional[np.ndarray] = None,
                      bbox_scores: Optional[np.ndarray] = None, batch_size: int = 32,
                      keypoint_score_thr: float = 0.2) -> TopdownPoseResult:
    """Pose of every person box of one image (path or H x W x 3 BGR array).

    Args:
        bboxes: (P, 4) x1 y1 x2 y2 in image pixels; None: the whole image is one person.
        bbox_scores: (P,) detector scores (default 1).
        batch_size: crops per forward pass.
        keypoint_score_thr: joints above it enter the instance score.
    """
    loaded = _load(model, image)
    h, w = loaded['img'].shape[:2]
    boxes = np.array([[0, 0, w, h]], np.float32) if bboxes is None else \
        np.asarray(bboxes, np.float32).reshape(-1, 4)
    scores = np.ones(len(boxes), np.float32) if bbox_scores is None else \
        np.asarray(bbox_scores, np.float32).reshape(-1)
    if len(scores) != len(boxes):
        raise ValueError(f'inference_topdown: {len(boxes)} boxes but {len(scores)} box scores')
    pipeline = build_test_pipeline(model.cfg, from_array=True)
    names = list(pose_metainfo(model)['keypoint_names'])
    keypoints = np.zeros((len(boxes), len(names), 3), np.float32)
    for start in range(0, len(boxes), batch_size):
        data = [pipeline(dict(loaded, bbox=box[None], bbox_score=score[None]))
                for box, score in zip(boxes[start:start + batch_size],
                                      scores[start:start + batch_size])]
        for i, sample in enumerate(collate_and_predict(model, data)):
            keypoints[start + i, :, :2] = sample.pred_keypoints[0]
            keypoints[start + i, :, 2] = sample.pred_keypoint_scores[0]
    person = rescore(scores, keypoints[..., 2], keypoint_score_thr).astype(np.float32) \
        if len(boxes) else np.zeros(0, np.float32)
    return TopdownPoseResult(keypoints, person, names, boxes)


def infer_topdown(model, images) -> List[TopdownPoseResult]:
    """:func:`inference_topdown` of each image as one whole-image person."""
    return [inference_topdown(model, image) for image in images]


def _image_id(image: str):
    """The number in an image's file name (COCO: 000000123456.jpg -> 123456), else None."""
    found = re.search(r'(\d+)', osp.splitext(osp.basename(image))[0])
    return int(found.group(1)) if found else None


def _by_image_id(path: str, entries: list, images: Sequence[str]) -> dict:
    """Detection results over many images (``tools/test.py --out``: ``image_id``,
    ``category_id``, ...) -> image -> its person entries, matched by the id in its name."""
    per_id = {}
    for entry in entries:
        if int(entry.get('category_id', 1)) == 1:  # COCO person
            per_id.setdefault(int(entry['image_id']), []).append(entry)
    ids = {image: _image_id(image) for image in images}
    if not any(i in per_id for i in ids.values()):
        raise ValueError(f'{path} holds detections of image ids {sorted(per_id)[:3]}... but '
                         f'none of {[i for i in ids.values()]} (the numbers in the image file '
                         'names): give the detections of these images')
    return {image: per_id.get(i, []) for image, i in ids.items()}


def read_bboxes(path: str, images: Sequence[str]) -> Dict[str, tuple]:
    """Person boxes per image from a JSON file:

    * a list of boxes for a single image;
    * COCO detection results over many images (a list of dicts with ``image_id``, as
      ``tools/test.py --out`` writes): each image takes the person (``category_id`` 1)
      entries of the id in its file name (``000000123456.jpg`` -> 123456);
    * a dict image path (or file name) -> list of boxes.

    A box is ``[x, y, w, h]`` (COCO) or a COCO detection result ``{"bbox": [x, y, w, h],
    "score": s, ...}``. Returns image -> (boxes (P, 4) x1 y1 x2 y2, scores (P,)); raises
    ``ValueError`` naming the file."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        raise ValueError(f'cannot read the boxes file {path}: {exc}') from None
    if isinstance(data, list) and data and all(isinstance(e, dict) and 'image_id' in e
                                               for e in data):
        data = _by_image_id(path, data, images)
    elif isinstance(data, list):
        if len(images) != 1:
            raise ValueError(f'{path} is one list of boxes, for one image, but {len(images)} '
                             'images were given: make it a dict image -> boxes')
        data = {images[0]: data}
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a list of boxes or a dict image -> boxes')
    out = {}
    for image in images:
        entries = data.get(image, data.get(osp.basename(image)))
        if entries is None:
            raise ValueError(f'{path} has no boxes for {image} (keys: image paths or file '
                             'names)')
        boxes, scores = [], []
        for entry in entries:
            box = entry.get('bbox') if isinstance(entry, dict) else entry
            if not isinstance(box, (list, tuple)) or len(box) != 4:
                raise ValueError(f'{path}: a box of {image} is {entry!r}; expected [x, y, w, h] '
                                 'or {"bbox": [x, y, w, h], "score": s}')
            x, y, bw, bh = (float(v) for v in box)
            boxes.append([x, y, x + bw, y + bh])
            scores.append(float(entry.get('score', 1.0)) if isinstance(entry, dict) else 1.0)
        out[image] = (np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32))
    return out


def draw_topdown(image: np.ndarray, result: TopdownPoseResult, model=None,
                 style: DrawStyle = DrawStyle()) -> np.ndarray:
    """The bottom-up picture (skeletons above the thresholds, the people legend) plus each
    drawn person's box, in that person's colour."""
    canvas, scale = upscale(image)
    placer = LabelPlacer(canvas.shape)
    drawn = draw_people(canvas, result.keypoints, result.scores,
                        pose_metainfo(model)['skeleton_links'], scale, style, placer)
    for p, colour in drawn:
        x1, y1, x2, y2 = (int(round(v * scale)) for v in result.bboxes[p])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 1, cv2.LINE_AA)
    return add_legend(canvas, people_legend(result.scores, drawn, style))


register_task(TaskAdapter('topdown', (TopdownPoseEstimator, ), infer_topdown, draw_topdown,
                          shown=TopdownPoseResult.visible))
