"""Tiny synthetic COCO-format person keypoints: stick figures with known joints.

Writes ``<out>/pose/{annotations/person_keypoints_{train,val}.json, train/, val/}``:
160x128 JPEGs with 0-3 stick figures (17 COCO joints, people 44-110 px tall, left
limbs drawn in warm colours and right limbs in cool ones so a flip is visible),
on noisy backgrounds. Deterministic for a given seed. The val split has one
image with nobody in it (the empty-image edge case) and, in train, some images
carry an extra person annotation with no labelled keypoints (an ignore region).
"""
import json
import os
import os.path as osp

import cv2
import numpy as np

# Normalised joint layout of a standing figure (x: person's left is +x in the
# image, as for a person facing the camera; y: 0 = top of the head, 1 = feet).
TEMPLATE = np.array(
    [
        [0.0, 0.07],  # nose
        [0.025, 0.05],
        [-0.025, 0.05],  # eyes (left, right)
        [0.05, 0.07],
        [-0.05, 0.07],  # ears
        [0.13, 0.2],
        [-0.13, 0.2],  # shoulders
        [0.17, 0.37],
        [-0.17, 0.37],  # elbows
        [0.19, 0.52],
        [-0.19, 0.52],  # wrists
        [0.08, 0.53],
        [-0.08, 0.53],  # hips
        [0.09, 0.75],
        [-0.09, 0.75],  # knees
        [0.1, 0.97],
        [-0.1, 0.97],  # ankles
    ],
    np.float64)
LIMBS = [(5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16), (5, 6), (11, 12),
         (5, 11), (6, 12), (0, 5), (0, 6)]
LEFT = {5, 7, 9, 11, 13, 15, 1, 3}
SIZE = (160, 128)  # width, height
CATEGORY = dict(id=1,
                name='person',
                supercategory='person',
                keypoints=[
                    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
                    'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
                    'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle'
                ],
                skeleton=[[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13],
                          [6, 7], [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4],
                          [3, 5], [4, 6], [5, 7]])


def _person(rng, height, cx, top):
    pts = TEMPLATE.copy()
    # random arm / leg swings and a little jitter
    for a, b, c in ((5, 7, 9), (6, 8, 10)):
        ang = rng.uniform(-1.2, 1.2)
        for j in (b, c):
            d = pts[j] - pts[a]
            rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
            pts[j] = pts[a] + rot @ d
    for a, b, c in ((11, 13, 15), (12, 14, 16)):
        ang = rng.uniform(-0.35, 0.35)
        for j in (b, c):
            d = pts[j] - pts[a]
            rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
            pts[j] = pts[a] + rot @ d
    pts += rng.normal(0, 0.01, pts.shape)
    xy = np.stack([cx + pts[:, 0] * height, top + pts[:, 1] * height], 1)
    return xy


def _draw(img, xy, height):
    thick = max(1, int(round(height / 30)))
    for a, b in LIMBS:
        colour = (40, 80, 230) if a in LEFT and b in LEFT else \
            (230, 120, 40) if a not in LEFT and b not in LEFT else (60, 200, 60)
        cv2.line(img, tuple(int(v) for v in xy[a]), tuple(int(v) for v in xy[b]), colour, thick,
                 cv2.LINE_AA)
    head_r = max(2, int(height * 0.07))
    cv2.circle(img, (int(xy[0, 0]), int(xy[0, 1] - head_r * 0.2)), head_r, (230, 230, 230), -1,
               cv2.LINE_AA)
    for j in (1, 2):
        cv2.circle(img, (int(xy[j, 0]), int(xy[j, 1])), max(1, thick // 2),
                   (0, 0, 255) if j == 1 else (255, 0, 0), -1)
    for j in range(5, 17):
        cv2.circle(img, (int(xy[j, 0]), int(xy[j, 1])), thick + 1, (0, 40, 160) if j in LEFT else
                   (160, 60, 0), -1)


def _segmentation(xy, height, size, as_rle: bool):
    """The drawn figure's own pixels as COCO polygons, or as compressed RLE."""
    from pycocotools import mask as mask_utils
    w, h = size
    canvas = np.zeros((h, w, 3), np.uint8)
    _draw(canvas, xy, height)
    region = canvas.any(2).astype(np.uint8)
    if as_rle:
        rle = mask_utils.encode(np.asfortranarray(region))
        return dict(size=rle['size'], counts=rle['counts'].decode())
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [[float(v) for v in c.reshape(-1)] for c in contours if len(c) >= 3]


def _crowd(rng, img, size):
    """A cluster of small figures annotated as one crowd region (uncompressed RLE, as COCO
    stores crowds)."""
    from pycocotools import mask as mask_utils
    w, h = size
    region = np.zeros((h, w, 3), np.uint8)
    x0, y0 = rng.uniform(10, w - 50), rng.uniform(0, h - 30)
    for j in range(4):
        xy = _person(rng, 20.0, x0 + 10 * j, y0 + rng.uniform(0, 6))
        _draw(img, xy, 20.0)
        _draw(region, xy, 20.0)
    mask = np.asfortranarray(region.any(2).astype(np.uint8))
    flat = mask.reshape(-1, order='F')
    change = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], change, [flat.size]]))
    counts = ([0] if flat[0] else []) + [int(r) for r in runs]
    bbox = [float(v) for v in mask_utils.toBbox(mask_utils.encode(mask))]
    return dict(size=[h, w], counts=counts), bbox, float(mask.sum())


def _split(rng, n_images, split, out, start_ann, empty_image, person_masks=False):
    """``person_masks``: each person's segmentation is its drawn figure (polygons; every
    third person RLE) and some images get a crowd region, instead of box polygons."""
    w, h = SIZE
    images, anns = [], []
    ann_id = start_ann
    os.makedirs(osp.join(out, split), exist_ok=True)
    for i in range(n_images):
        base = rng.integers(60, 190, size=3)
        noise = cv2.resize(rng.normal(0, 22, (h // 8, w // 8, 3)), (w, h),
                           interpolation=cv2.INTER_CUBIC)
        img = np.clip(base + noise, 0, 255).astype(np.uint8)
        n_people = 0 if i == empty_image else int(rng.integers(1, 4))
        slots = rng.permutation(3)[:n_people]
        image_id = (1 if split == 'train' else 100001) + i
        for slot in slots:
            height = float(rng.uniform(44, 110))
            cx = (slot + 0.5) * w / 3 + rng.uniform(-8, 8)
            top = rng.uniform(2, max(3, h - height * 0.98 - 2))
            xy = _person(rng, height, cx, top)
            _draw(img, xy, height)
            vis = np.where((xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h), 2,
                           0)
            kpts = np.concatenate([xy, vis[:, None]], 1)
            kpts[vis == 0, :2] = 0
            lab = xy[vis > 0]
            x0, y0 = lab.min(0) - height * 0.06
            x1, y1 = lab.max(0) + height * 0.06
            x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
            bw, bh = x1 - x0, y1 - y0
            anns.append(
                dict(id=ann_id,
                     image_id=image_id,
                     category_id=1,
                     iscrowd=0,
                     bbox=[round(float(v), 2) for v in (x0, y0, bw, bh)],
                     area=round(float(bw * bh), 2),
                     segmentation=_segmentation(xy, height, SIZE, ann_id % 3 == 0)
                     if person_masks else [[float(v) for v in (x0, y0, x1, y0, x1, y1, x0, y1)]],
                     keypoints=[
                         round(float(v), 2) if k % 3 < 2 else int(v)
                         for k, v in enumerate(kpts.reshape(-1))
                     ],
                     num_keypoints=int((vis > 0).sum())))
            ann_id += 1
        if person_masks and i % 6 == 2:
            counts, bbox, area = _crowd(rng, img, SIZE)
            anns.append(dict(id=ann_id, image_id=image_id, category_id=1, iscrowd=1, bbox=bbox,
                             area=area, segmentation=counts, keypoints=[0] * 51,
                             num_keypoints=0))
            ann_id += 1
        if split == 'train' and i % 10 == 3 and not person_masks:  # unlabelled person: ignore
            x0, y0 = float(rng.uniform(0, w - 20)), float(rng.uniform(0, h - 30))
            anns.append(
                dict(id=ann_id,
                     image_id=image_id,
                     category_id=1,
                     iscrowd=0,
                     bbox=[x0, y0, 12.0, 20.0],
                     area=240.0,
                     segmentation=[[x0, y0, x0 + 12, y0, x0 + 12, y0 + 20, x0, y0 + 20]],
                     keypoints=[0] * 51,
                     num_keypoints=0))
            ann_id += 1
        name = f'{image_id:012d}.jpg'
        cv2.imwrite(osp.join(out, split, name), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        images.append(dict(id=image_id, file_name=name, width=w, height=h))
    return images, anns, ann_id


def make_pose(out: str, seed: int = 0, n_train: int = 200, n_val: int = 40,
              task: str = 'pose') -> str:
    """``task='multitask'``: the same kind of set under ``<out>/multitask`` with each person's
    segmentation drawn from its figure (polygons and RLE) and crowd regions (RLE)."""
    person_masks = task == 'multitask'
    root = osp.join(out, task)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    rng = np.random.default_rng(seed)
    ann_id = 1
    for split, n, empty in (('train', n_train, -1), ('val', n_val, n_val - 1)):
        images, anns, ann_id = _split(rng, n, split, root, ann_id, empty, person_masks)
        data = dict(info=dict(description=f'tiny synthetic stick figures ({split})'),
                    images=images,
                    annotations=anns,
                    categories=[CATEGORY])
        with open(osp.join(root, 'annotations', f'person_keypoints_{split}.json'), 'w') as f:
            json.dump(data, f)
    return root
