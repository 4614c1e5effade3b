"""Tiny synthetic top-down pose set: the stick figures of data_prep/tiny_pose.py (COCO
keypoints with a box per person) plus a person-detection results file.

Writes ``<out>/topdown/{annotations/person_keypoints_{train,val}.json, train/, val/}`` (the
generator of ``tiny_pose.make_pose``: 160x128 images, 0-3 people, 44-110 px tall, each
annotation with its ``bbox``) and ``<out>/topdown/person_detection_results/dets_val.json``
in the COCO results format a person detector writes (``image_id``, ``category_id``,
``bbox`` x y w h, ``score``): every val person's box jittered by up to 8 % of its size with a
score in [0.6, 1), plus one false box per image with a score in [0.02, 0.3), so the
detector-box path (rescoring, OKS-NMS, misses) runs on data the project makes itself.
"""
import json
import os
import os.path as osp

import numpy as np

from tiny_pose import SIZE, make_pose


def make_detections(root: str, seed: int = 0) -> str:
    """The simulated detector output for ``root``'s val split; returns its path."""
    rng = np.random.default_rng(seed + 1)
    with open(osp.join(root, 'annotations', 'person_keypoints_val.json')) as f:
        gt = json.load(f)
    w_img, h_img = SIZE
    dets = []
    for ann in gt['annotations']:
        if ann['iscrowd'] or not ann['num_keypoints']:
            continue
        x, y, w, h = ann['bbox']
        dx, dy, dw, dh = rng.uniform(-0.08, 0.08, 4) * [w, h, w, h]
        dets.append(dict(image_id=ann['image_id'], category_id=1,
                         bbox=[round(float(v), 2) for v in (x + dx, y + dy, w + dw, h + dh)],
                         score=round(float(rng.uniform(0.6, 1.0)), 4)))
    for img in gt['images']:
        bw, bh = rng.uniform(15, 40), rng.uniform(30, 80)
        x, y = rng.uniform(0, w_img - bw), rng.uniform(0, h_img - bh)
        dets.append(dict(image_id=img['id'], category_id=1,
                         bbox=[round(float(v), 2) for v in (x, y, bw, bh)],
                         score=round(float(rng.uniform(0.02, 0.3)), 4)))
    folder = osp.join(root, 'person_detection_results')
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, 'dets_val.json')
    with open(path, 'w') as f:
        json.dump(dets, f)
    return path


def make_topdown(out: str, seed: int = 0) -> str:
    root = make_pose(out, seed=seed, task='topdown')
    make_detections(root, seed)
    return root
