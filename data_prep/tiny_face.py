"""Tiny synthetic faces with the 68 landmarks of 300W (iBUG scheme), in both annotation
formats the face datasets read.

Writes ``<out>/face/``::

    images/{train,val}/*.jpg                       160x160 JPEGs, 1 or 2 faces each
    annotations/face_landmarks_tiny_{train,val}.csv   the official HRNet csv
    annotations/tiny_{train,val}.json                 the same faces, mmpose's COCO style

A face is a filled skin-coloured outline whose lower edge is the jaw contour (points
0-16), with eyebrows, nose, eyes and lips drawn through their landmarks; size, position,
in-plane rotation, yaw (features shifted and one side narrowed), eye and mouth opening
and colours vary. The scheme is left/right symmetric as a real face's, so a horizontal
flip with the 300W pairs gives a valid face. Each face's box is the square around its
landmark extent (side = the longer extent, center jittered by 3 %), written as the
official ``center_w, center_h, scale = side / 200``. Deterministic for a given seed.
"""
import csv
import json
import os
import os.path as osp

import cv2
import numpy as np

SIZE = 160  # image side
K = 68


def _arc(centre, half_w, half_h, degrees):
    """Points on an ellipse at the given angles (0 = +x, 90 = up in the image)."""
    t = np.deg2rad(np.asarray(degrees, np.float64))
    return np.stack([centre[0] + half_w * np.cos(t), centre[1] - half_h * np.sin(t)], 1)


def face_template(rng) -> np.ndarray:
    """68 points in a face frame (width about 1, y down, origin between the eyes' row and the
    nose) with random expression and yaw."""
    eye_open = rng.uniform(0.5, 1.2)
    mouth_open = rng.uniform(0.0, 0.09)
    brow_raise = rng.uniform(-0.02, 0.04)
    jaw = _arc((0, 0.05), 0.48, -0.5, 180 - np.arange(17) * 180 / 16)  # ear - chin - ear
    brows = [_arc((cx, -0.2 - brow_raise), 0.15, 0.05, np.linspace(160, 20, 5))
             for cx in (-0.22, 0.22)]
    bridge = np.stack([np.zeros(4), np.linspace(-0.12, 0.1, 4)], 1)
    nostrils = _arc((0, 0.13), 0.1, -0.04, np.linspace(180, 0, 5))
    eye_angles = [180, 120, 60, 0, -60, -120]  # outer/inner corner, upper lid, lower lid
    eyes = [_arc((cx, -0.07), 0.1, 0.045 * eye_open, eye_angles) for cx in (-0.2, 0.2)]
    lips_c = (0, 0.3)
    outer_up = _arc(lips_c, 0.2, 0.06, [180, 150, 120, 90, 60, 30, 0])
    outer_low = _arc((0, 0.3 + mouth_open), 0.2, 0.07, [-30, -60, -90, -120, -150])
    outer_low[:, 1] = np.maximum(outer_low[:, 1], outer_up[1:6][::-1, 1] + 0.01)
    inner_up = _arc((0, 0.3), 0.13, 0.02, [180, 135, 90, 45, 0])
    inner_low = _arc((0, 0.3 + mouth_open), 0.13, 0.02, [-45, -90, -135])
    pts = np.concatenate([jaw, *brows, bridge, nostrils, *eyes, outer_up, outer_low, inner_up,
                          inner_low])
    # yaw: the inner features slide sideways and the half of the face they slide to narrows
    yaw = rng.uniform(-0.35, 0.35)
    inner = np.arange(17, K)
    pts[inner, 0] += yaw * 0.12 * (1 - pts[inner, 0]**2)
    side = np.sign(pts[:, 0]) == np.sign(yaw)
    pts[side, 0] *= 1 - abs(yaw) * 0.25
    return pts


def _place(rng, pts, width, centre):
    """Face frame -> image pixels: scale to ``width`` px, aspect jitter, rotation, shift."""
    angle = np.deg2rad(rng.uniform(-25, 25))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    stretch = np.array([1.0, rng.uniform(1.05, 1.25)])
    return (pts * stretch * width) @ rot.T + centre


def _colour(rng, base, spread=25):
    return tuple(int(np.clip(c + rng.integers(-spread, spread + 1), 0, 255)) for c in base)


def _poly(points):
    return [np.round(points * 16).astype(np.int32)]  # 4 fractional bits for cv2 drawing


def draw_face(img, rng, xy):
    """Draw a face through its 68 image-pixel landmarks ``xy``."""
    aa, shift = cv2.LINE_AA, 4
    skin = _colour(rng, (150, 175, 215), 45)
    # forehead: the jaw's ends joined over the top by a half ellipse
    jaw = xy[:17]
    mid, half = (jaw[0] + jaw[16]) / 2, (jaw[16] - jaw[0]) / 2
    up = np.array([half[1], -half[0]]) * 1.1
    t = np.linspace(0, np.pi, 20)[1:-1]
    forehead = mid + np.cos(t)[:, None] * half + np.sin(t)[:, None] * up
    cv2.fillPoly(img, _poly(np.concatenate([jaw, forehead])), skin, aa, shift)
    hair = _colour(rng, (40, 50, 70), 30)
    cv2.polylines(img, _poly(forehead), False, hair, 3, aa, shift)
    width = float(np.linalg.norm(jaw[16] - jaw[0]))
    thick = max(1, int(round(width / 30)))
    for brow in (xy[17:22], xy[22:27]):
        cv2.polylines(img, _poly(brow), False, hair, thick + 1, aa, shift)
    nose = _colour(rng, (90, 110, 160), 20)
    cv2.polylines(img, _poly(xy[27:31]), False, nose, thick, aa, shift)
    cv2.polylines(img, _poly(xy[31:36]), False, nose, thick, aa, shift)
    iris = _colour(rng, (60, 80, 90), 50)
    for eye in (xy[36:42], xy[42:48]):
        cv2.fillPoly(img, _poly(eye), (235, 240, 245), aa, shift)
        centre = eye.mean(0)
        radius = max(1.0, 0.3 * float(np.linalg.norm(eye[3] - eye[0])))
        cv2.circle(img, tuple(np.round(centre * 16).astype(int)), int(radius * 16), iris, -1, aa,
                   shift)
        cv2.polylines(img, _poly(eye), True, (30, 30, 40), 1, aa, shift)
    lips = _colour(rng, (80, 80, 190), 30)
    cv2.fillPoly(img, _poly(xy[48:60]), lips, aa, shift)
    cv2.fillPoly(img, _poly(xy[60:68]), (40, 30, 60), aa, shift)


def _background(rng):
    base = rng.integers(40, 220, size=3)
    noise = cv2.resize(rng.normal(0, 30, (SIZE // 10, SIZE // 10, 3)), (SIZE, SIZE),
                       interpolation=cv2.INTER_CUBIC)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _split(rng, n_images, split, root):
    """Draw ``n_images`` images; returns their faces as (file name, points (68, 2), center,
    scale) and the image records."""
    folder = osp.join(root, 'images', split)
    os.makedirs(folder, exist_ok=True)
    faces, images = [], []
    for i in range(n_images):
        img = _background(rng)
        two = rng.random() < 0.2
        slots = [(SIZE * 0.28, SIZE * 0.5), (SIZE * 0.72, SIZE * 0.5)] if two else \
            [(SIZE * 0.5, SIZE * 0.5)]
        name = f'{split}/{i:05d}.jpg'
        for slot in slots:
            width = rng.uniform(34, 48) if two else rng.uniform(50, 95)
            centre = np.asarray(slot) + rng.uniform(-0.1, 0.1, 2) * SIZE
            xy = _place(rng, face_template(rng), width, centre)
            draw_face(img, rng, xy)
            lo, hi = xy.min(0), xy.max(0)
            side = float((hi - lo).max())
            box_centre = (lo + hi) / 2 + rng.normal(0, 0.03, 2) * side
            faces.append((name, xy, box_centre, side / 200))
        cv2.imwrite(osp.join(root, 'images', name), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
        images.append(dict(id=i, file_name=name, width=SIZE, height=SIZE))
    return faces, images


def _write_csv(path, faces):
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['image_name', 'scale', 'center_w', 'center_h'] +
                        [f'original_{k}_{a}' for k in range(K) for a in 'xy'])
        for name, xy, centre, scale in faces:
            writer.writerow([name, f'{scale:.4f}', f'{centre[0]:.3f}', f'{centre[1]:.3f}'] +
                            [f'{v:.3f}' for v in xy.reshape(-1)])


def _write_json(path, faces, images, split):
    ids = {img['file_name']: img['id'] for img in images}
    anns = []
    for ann_id, (name, xy, centre, scale) in enumerate(faces):
        kpts = np.concatenate([np.round(xy, 3), np.ones((K, 1))], 1)
        lo, hi = xy.min(0), xy.max(0)
        anns.append(dict(id=ann_id, image_id=ids[name], category_id=1, iscrowd=0,
                         keypoints=[float(v) for v in kpts.reshape(-1)], num_keypoints=K,
                         bbox=[round(float(v), 3) for v in (*lo, *(hi - lo))],
                         area=round(float(np.prod(hi - lo)), 3),
                         center=[round(float(v), 3) for v in centre], scale=round(scale, 4)))
    data = dict(info=dict(description=f'tiny synthetic faces, 300W scheme ({split})'),
                images=images, annotations=anns,
                categories=[dict(id=1, name='face', supercategory='person')])
    with open(path, 'w') as f:
        json.dump(data, f)


def make_face(out: str, seed: int = 0, n_train: int = 400, n_val: int = 50) -> str:
    root = osp.join(out, 'face')
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, n in (('train', n_train), ('val', n_val)):
        faces, images = _split(rng, n, split, root)
        _write_csv(osp.join(root, 'annotations', f'face_landmarks_tiny_{split}.csv'), faces)
        _write_json(osp.join(root, 'annotations', f'tiny_{split}.json'), faces, images, split)
    return root
