"""Tiny synthetic COCO-format detection: stick figures plus balls and kites.

Writes ``<out>/det/{annotations/instances_{train,val}.json, train/, val/}``: the scenes of
data_prep/tiny_pose.py (160x128, 0-3 stick figures, each with its own mask; some crowd
regions; one empty val image), on which up to two shapes are drawn where no person is:
filled circles ('sports ball', COCO id 37) and triangles ('kite', id 38). The category ids
are COCO's, so they are not contiguous (1, 37, 38): the dataset maps them to labels 0-2.
Every instance has a box and a polygon segmentation (Mask R-CNN). Deterministic per seed.
"""
import json
import os
import os.path as osp

import cv2
import numpy as np

from tiny_pose import SIZE, _split  # the stick-figure scene generator (data_prep/)

CATEGORIES = [dict(id=1, name='person', supercategory='person'),
              dict(id=37, name='sports ball', supercategory='sports'),
              dict(id=38, name='kite', supercategory='sports')]
SHAPE_COLOURS = {37: (30, 200, 240), 38: (200, 60, 200)}  # BGR


def _shape_mask(cat_id: int, centre, radius: int) -> np.ndarray:
    w, h = SIZE
    mask = np.zeros((h, w), np.uint8)
    cx, cy = centre
    if cat_id == 37:
        cv2.circle(mask, (cx, cy), radius, 1, -1)
    else:
        pts = np.array([[cx, cy - radius], [cx - radius, cy + radius], [cx + radius, cy + radius]])
        cv2.fillPoly(mask, [pts.astype(np.int32)], 1)
    return mask


def _overlaps(box, boxes, margin: float = 2.0) -> bool:
    x0, y0, x1, y1 = box
    return any(x0 < bx + bw + margin and bx - margin < x1 and y0 < by + bh + margin
               and by - margin < y1 for bx, by, bw, bh in boxes)


def _add_shapes(rng, img: np.ndarray, image_id: int, anns: list, ann_id: int) -> int:
    """Draw up to two shapes away from every annotated region; append their annotations."""
    w, h = SIZE
    taken = [a['bbox'] for a in anns if a['image_id'] == image_id]
    for _ in range(int(rng.integers(0, 3))):
        cat_id = int(rng.choice([37, 38]))
        for _attempt in range(20):
            radius = int(rng.integers(7, 16))
            centre = (int(rng.integers(radius + 1, w - radius - 1)),
                      int(rng.integers(radius + 1, h - radius - 1)))
            mask = _shape_mask(cat_id, centre, radius)
            ys, xs = np.nonzero(mask)
            box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
            if not _overlaps(box, taken):
                break
        else:
            continue
        jitter = rng.integers(-25, 25, size=3)
        colour = tuple(int(np.clip(c + j, 0, 255)) for c, j in zip(SHAPE_COLOURS[cat_id], jitter))
        img[mask > 0] = colour
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        bbox = [box[0], box[1], box[2] - box[0], box[3] - box[1]]
        anns.append(dict(id=ann_id, image_id=image_id, category_id=cat_id, iscrowd=0,
                         bbox=bbox, area=float(mask.sum()),
                         segmentation=[[float(v) for v in c.reshape(-1)] for c in contours
                                       if len(c) >= 3]))
        taken.append(bbox)
        ann_id += 1
    return ann_id


def make_det(out: str, seed: int = 0, n_train: int = 200, n_val: int = 40) -> str:
    root = osp.join(out, 'det')
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    rng = np.random.default_rng(seed)
    ann_id = 1
    for split, n, empty in (('train', n_train, -1), ('val', n_val, n_val - 1)):
        images, anns, ann_id = _split(rng, n, split, root, ann_id, empty, person_masks=True)
        for ann in anns:  # an instances file: boxes and masks, no keypoints
            ann.pop('keypoints', None)
            ann.pop('num_keypoints', None)
        empty_id = 100001 + empty if split == 'val' else None  # tiny_pose's val ids
        for image in images:
            if image['id'] == empty_id:
                continue  # the empty image stays empty
            path = osp.join(root, split, image['file_name'])
            img = cv2.imread(path)
            ann_id = _add_shapes(rng, img, image['id'], anns, ann_id)
            cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        data = dict(info=dict(description=f'tiny synthetic detection scenes ({split})'),
                    images=images, annotations=anns, categories=CATEGORIES)
        with open(osp.join(root, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump(data, f)
    return root
