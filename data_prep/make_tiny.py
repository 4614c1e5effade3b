"""Generate the embedded tiny datasets under data/tiny/ (deterministic, CPU-only).

    python data_prep/make_tiny.py [--out data/tiny] [--tasks cls seg pose multitask face]

cls: an ImageNet-format set of 10 classes of coloured shapes on textured
backgrounds, 64x64 JPEGs: data/tiny/cls/{train,val}/<class>/*.JPEG plus
meta/val.txt (the list-file layout). The val split has 101 images, an odd
number, so distributed evaluation has to drop the sampler's padding to count
each image once. seg: data_prep/tiny_seg.py; pose: data_prep/tiny_pose.py;
multitask: the pose kind of set in data/tiny/multitask whose annotations carry
each person's own mask (polygons, some compressed RLE) and crowd regions
(uncompressed RLE), for the joint pose + person-segmentation model. topdown:
data_prep/tiny_topdown.py (the pose figures with a simulated person-detection file). face:
data_prep/tiny_face.py (synthetic faces with the 68 300W landmarks, csv and JSON).
det: data_prep/tiny_det.py (stick figures, balls and kites as COCO instances: boxes and
masks).
"""
import argparse
import os
import os.path as osp
import sys

import cv2
import numpy as np

SHAPES = ('circle', 'square', 'triangle', 'cross', 'ring')
COLOURS = {'red': (40, 40, 220), 'blue': (220, 80, 40)}  # BGR
CLS_CLASSES = tuple(f'{colour}_{shape}' for colour in COLOURS for shape in SHAPES)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    base = rng.integers(60, 200, size=3)
    noise = rng.normal(0, 25, size=(size // 8, size // 8, 3))
    noise = cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def draw_shape(img: np.ndarray, shape: str, colour, centre, radius: int):
    cx, cy = centre
    if shape == 'circle':
        cv2.circle(img, (cx, cy), radius, colour, -1, cv2.LINE_AA)
    elif shape == 'square':
        cv2.rectangle(img, (cx - radius, cy - radius), (cx + radius, cy + radius), colour, -1)
    elif shape == 'triangle':
        pts = np.array([[cx, cy - radius], [cx - radius, cy + radius], [cx + radius, cy + radius]])
        cv2.fillPoly(img, [pts.astype(np.int32)], colour, cv2.LINE_AA)
    elif shape == 'cross':
        t = max(2, radius // 3)
        cv2.rectangle(img, (cx - radius, cy - t), (cx + radius, cy + t), colour, -1)
        cv2.rectangle(img, (cx - t, cy - radius), (cx + t, cy + radius), colour, -1)
    elif shape == 'ring':
        cv2.circle(img, (cx, cy), radius, colour, max(2, radius // 3), cv2.LINE_AA)
    else:
        raise ValueError(shape)


def make_cls(out: str, seed: int = 0, size: int = 64, train_per_class: int = 50,
             val_per_class: int = 10):
    rng = np.random.default_rng(seed)
    root = osp.join(out, 'cls')
    lines = []
    for split, per_class in (('train', train_per_class), ('val', val_per_class)):
        for label, name in enumerate(CLS_CLASSES):
            colour_name, shape = name.split('_')
            folder = osp.join(root, split, name)
            os.makedirs(folder, exist_ok=True)
            count = per_class + (1 if split == 'val' and label == 0 else 0)
            for i in range(count):
                img = _background(rng, size)
                radius = int(rng.integers(size // 8, size // 4))
                centre = rng.integers(radius + 2, size - radius - 2, size=2)
                jitter = rng.integers(-30, 30, size=3)
                colour = tuple(int(np.clip(c + j, 0, 255))
                               for c, j in zip(COLOURS[colour_name], jitter))
                draw_shape(img, shape, colour, tuple(int(c) for c in centre), radius)
                fname = f'{name}_{i:04d}.JPEG'
                cv2.imwrite(osp.join(folder, fname), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
                if split == 'val':
                    lines.append(f'{name}/{fname} {label}')
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    with open(osp.join(root, 'meta', 'val.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(osp.join(root, 'classes.txt'), 'w') as f:
        f.write('\n'.join(CLS_CLASSES) + '\n')
    return root


# task -> function(out_dir, seed) returning the task's data root
MAKERS = {'cls': make_cls}
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from tiny_seg import make_seg  # noqa: E402

MAKERS['seg'] = make_seg
from tiny_pose import make_pose  # noqa: E402

MAKERS['pose'] = make_pose
# pose + person segmentation (the joint model's set): stick figures with their own masks
MAKERS['multitask'] = lambda out, seed: make_pose(out, seed=seed, task='multitask')
from tiny_topdown import make_topdown  # noqa: E402

MAKERS['topdown'] = make_topdown
from tiny_det import make_det  # noqa: E402

MAKERS['det'] = make_det
from tiny_face import make_face  # noqa: E402

MAKERS['face'] = make_face
DONE_MARKER = 'DONE'


def is_made(out: str, task: str) -> bool:
    return osp.isfile(osp.join(out, task, DONE_MARKER))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='data/tiny')
    parser.add_argument('--tasks', nargs='+', default=list(MAKERS), choices=list(MAKERS))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--force', action='store_true', help='regenerate existing data')
    args = parser.parse_args(argv)
    for task in args.tasks:
        if is_made(args.out, task) and not args.force:
            print(f'tiny {task} data already in {osp.join(args.out, task)} (--force to redo)')
            continue
        root = MAKERS[task](args.out, seed=args.seed)
        open(osp.join(args.out, task, DONE_MARKER), 'w').close()
        print(f'wrote tiny {task} data to {root}')


if __name__ == '__main__':
    main()
