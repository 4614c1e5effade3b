"""Tiny synthetic Cityscapes-format segmentation data (deterministic, CPU-only).

    python data_prep/tiny_seg.py [--out data/tiny]      # or: data_prep/make_tiny.py --tasks seg

Street-like scenes of 128x256 pixels: a sky band, a building band and road,
with cars (rectangles), people (ellipses), trees (circles), traffic signs
(triangles) and unlabeled clutter (labelId 0 -> ignore). Each class has its own
colour with per-image jitter and pixel noise. Written in the Cityscapes layout:

    data/tiny/seg/leftImg8bit/{train,val}/<city>/<city>_000000_0000NN_leftImg8bit.png
    data/tiny/seg/gtFine/{train,val}/<city>/..._gtFine_labelIds.png       (Cityscapes ids)
    data/tiny/seg/gtFine/{train,val}/<city>/..._gtFine_labelTrainIds.png  (0..18, 255)

48 training and 12 validation images (two cities per split).
"""
import argparse
import os
import os.path as osp
import sys

import cv2
import numpy as np

# class name -> (Cityscapes labelId, trainId, BGR colour of the synthetic pixels)
TINY_SEG_CLASSES = {
    'road': (7, 0, (110, 100, 100)),
    'building': (11, 2, (60, 90, 160)),
    'traffic sign': (20, 7, (0, 220, 230)),
    'vegetation': (21, 8, (40, 150, 50)),
    'sky': (23, 10, (230, 180, 120)),
    'person': (24, 11, (80, 40, 220)),
    'car': (26, 13, (150, 30, 20)),
}
UNLABELED_ID = 0
H, W = 128, 256
SPLITS = {'train': (('aachen', 24), ('bochum', 24)), 'val': (('frankfurt', 6), ('lindau', 6))}


def _paint(img, ids, mask, name, rng):
    label_id, _, colour = TINY_SEG_CLASSES[name]
    jitter = rng.integers(-25, 26, size=3)
    img[mask] = np.clip(np.asarray(colour) + jitter, 0, 255)
    ids[mask] = label_id


def make_scene(rng: np.random.Generator):
    img = np.zeros((H, W, 3), np.uint8)
    ids = np.zeros((H, W), np.uint8)
    rows = np.arange(H)[:, None].repeat(W, 1)
    sky = int(rng.integers(H * 20 // 100, H * 40 // 100))
    building = sky + int(rng.integers(H * 15 // 100, H * 30 // 100))
    _paint(img, ids, rows < sky, 'sky', rng)
    _paint(img, ids, (rows >= sky) & (rows < building), 'building', rng)
    _paint(img, ids, rows >= building, 'road', rng)
    shapes = [('vegetation', int(rng.integers(1, 3))), ('car', int(rng.integers(1, 3))),
              ('person', int(rng.integers(1, 3))), ('traffic sign', int(rng.integers(0, 2)))]
    for name, count in shapes:
        for _ in range(count):
            mask = np.zeros((H, W), np.uint8)
            if name == 'vegetation':
                r = int(rng.integers(10, 22))
                centre = (int(rng.integers(r, W - r)), int(rng.integers(sky, building)))
                cv2.circle(mask, centre, r, 1, -1)
            elif name == 'car':
                w, h = int(rng.integers(30, 60)), int(rng.integers(14, 24))
                x, y = int(rng.integers(0, W - w)), int(rng.integers(building, H - h))
                cv2.rectangle(mask, (x, y), (x + w, y + h), 1, -1)
            elif name == 'person':
                a, b = int(rng.integers(4, 7)), int(rng.integers(12, 20))
                cx, cy = int(rng.integers(a, W - a)), int(rng.integers(building - b // 2, H - b))
                cv2.ellipse(mask, (cx, cy), (a, b), 0, 0, 360, 1, -1)
            else:
                r = int(rng.integers(7, 12))
                cx, cy = int(rng.integers(r, W - r)), int(rng.integers(r, building))
                pts = np.array([[cx, cy - r], [cx - r, cy + r], [cx + r, cy + r]], np.int32)
                cv2.fillPoly(mask, [pts], 1)
            _paint(img, ids, mask.astype(bool), name, rng)
    if rng.random() < 0.5:  # unlabeled clutter: ignored in training and evaluation
        x, y = int(rng.integers(0, W - 20)), int(rng.integers(0, H - 12))
        img[y:y + 12, x:x + 20] = rng.integers(0, 256, size=3)
        ids[y:y + 12, x:x + 20] = UNLABELED_ID
    noise = rng.normal(0, 8, size=img.shape)
    img = np.clip(img.astype(np.float64) + noise, 0, 255).astype(np.uint8)
    return img, ids


def to_train_ids(ids: np.ndarray) -> np.ndarray:
    lut = np.full(256, 255, np.uint8)
    for label_id, train_id, _ in TINY_SEG_CLASSES.values():
        lut[label_id] = train_id
    return lut[ids]


def make_seg(out: str, seed: int = 0) -> str:
    rng = np.random.default_rng(seed + 1000)
    root = osp.join(out, 'seg')
    for split, cities in SPLITS.items():
        for city, count in cities:
            img_dir = osp.join(root, 'leftImg8bit', split, city)
            gt_dir = osp.join(root, 'gtFine', split, city)
            os.makedirs(img_dir, exist_ok=True)
            os.makedirs(gt_dir, exist_ok=True)
            for i in range(count):
                img, ids = make_scene(rng)
                stem = f'{city}_000000_{i:06d}'
                cv2.imwrite(osp.join(img_dir, f'{stem}_leftImg8bit.png'), img)
                cv2.imwrite(osp.join(gt_dir, f'{stem}_gtFine_labelIds.png'), ids)
                cv2.imwrite(osp.join(gt_dir, f'{stem}_gtFine_labelTrainIds.png'), to_train_ids(ids))
    return root


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='data/tiny')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    print(f'wrote tiny seg data to {make_seg(args.out, args.seed)}')


if __name__ == '__main__':
    sys.exit(main())
