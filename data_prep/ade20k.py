"""Check an ADE20K SceneParsing (ADEChallengeData2016) folder before training.

    python data_prep/ade20k.py data/ade/ADEChallengeData2016 [--full]

Verifies the layout images/{training,validation}/*.jpg +
annotations/{training,validation}/*.png, the counts (20,210 / 2,000 for the
release), that every image has its label map, and (sampled, or all with
--full) that label maps are single-channel, the image's size, and hold values
0..150 only. Nothing is written: ADE20KDataset applies reduce_zero_label
(0 -> ignore, v -> v - 1) when loading.
"""
import argparse
import os
import os.path as osp
import sys

EXPECTED = {'training': 20210, 'validation': 2000}


def check(root: str, full: bool = False, sample_every: int = 50) -> list:
    import cv2  # here, not at the top: `--help` and a wrong root answer at once
    problems = []
    for split, expected in EXPECTED.items():
        img_dir, ann_dir = osp.join(root, 'images', split), osp.join(root, 'annotations', split)
        if not osp.isdir(img_dir) or not osp.isdir(ann_dir):
            print(f'{split}: missing {img_dir if not osp.isdir(img_dir) else ann_dir}')
            problems.append(f'{split}: folder missing')
            continue
        images = sorted(f[:-4] for f in os.listdir(img_dir) if f.endswith('.jpg'))
        labels = set(f[:-4] for f in os.listdir(ann_dir) if f.endswith('.png'))
        missing = [n for n in images if n not in labels]
        note = '' if len(images) == expected else f' (the release has {expected})'
        print(f'{split}: {len(images)} images, {len(labels)} label maps{note}')
        problems += [f'{split}: no label map for {n}.jpg' for n in missing]
        for k, name in enumerate(images):
            if name in labels and (full or k % sample_every == 0):
                lab = cv2.imread(osp.join(ann_dir, name + '.png'), cv2.IMREAD_UNCHANGED)
                img = cv2.imread(osp.join(img_dir, name + '.jpg'))
                if lab is None or img is None:
                    problems.append(f'{split}/{name}: unreadable')
                elif lab.ndim != 2 or lab.shape != img.shape[:2]:
                    problems.append(f'{split}/{name}: label {lab.shape} vs image {img.shape[:2]}')
                elif lab.max() > 150:
                    problems.append(f'{split}/{name}: label values up to {int(lab.max())} (> 150)')
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('root')
    parser.add_argument('--full', action='store_true', help='check every label map')
    args = parser.parse_args(argv)
    if not osp.isdir(args.root):
        sys.exit(f'error: {args.root} not found; download ADEChallengeData2016.zip '
                 '(MIT Scene Parsing) and unzip it into data/ade/')
    problems = check(args.root, args.full)
    for p in problems[:20]:
        print('problem:', p)
    print('OK' if not problems else f'{len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
