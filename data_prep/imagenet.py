"""Prepare and check ImageNet-1k for configs/cls (data/imagenet/{train,val}/<wnid>/*.JPEG).

The training tarball already unpacks into <wnid>/ folders. The validation
tarball is 50,000 flat files; arrange them with the devkit ground truth:

    # move val/ILSVRC2012_val_*.JPEG into val/<wnid>/ (what configs/cls expect)
    python data_prep/imagenet.py val-folders --root data/imagenet \\
        --devkit ILSVRC2012_devkit_t12
    # or keep val/ flat and write a list file "<file> <class index>" instead
    python data_prep/imagenet.py val-list --root data/imagenet --devkit ILSVRC2012_devkit_t12
    # count images per class and report problems
    python data_prep/imagenet.py check --root data/imagenet

``--devkit`` is the unpacked ILSVRC2012_devkit_t12 (data/meta.mat and
data/ILSVRC2012_validation_ground_truth.txt); ``--wnid-map FILE`` with lines
"<file> <wnid>" works instead. Class indices follow the sorted wnids, the
standard 0..999 order. Every command prints what it will do; moving is skipped
for files already in place, so re-running is safe. ``--dry-run`` changes nothing.
"""
import argparse
import os
import os.path as osp
import shutil
import sys
from collections import Counter
from typing import Dict, List

IMAGE_EXTS = ('.jpeg', '.jpg', '.png')


def devkit_val_wnids(devkit: str) -> List[str]:
    """wnid of each validation image, in file order (ILSVRC2012_val_00000001 first)."""
    from scipy.io import loadmat
    meta = osp.join(devkit, 'data', 'meta.mat')
    truth = osp.join(devkit, 'data', 'ILSVRC2012_validation_ground_truth.txt')
    for path in (meta, truth):
        if not osp.isfile(path):
            sys.exit(f'error: devkit file not found: {path}')
    synsets = loadmat(meta, squeeze_me=True)['synsets']
    id_to_wnid = {int(s['ILSVRC2012_ID']): str(s['WNID']) for s in synsets
                  if int(s['ILSVRC2012_ID']) <= 1000}
    with open(truth) as f:
        return [id_to_wnid[int(line)] for line in f if line.strip()]


def val_assignment(root: str, devkit: str, wnid_map: str) -> Dict[str, str]:
    """file name -> wnid for the flat validation images."""
    if wnid_map:
        if not osp.isfile(wnid_map):
            sys.exit(f'error: --wnid-map file not found: {wnid_map}')
        with open(wnid_map) as f:
            return dict(line.split()[:2] for line in f if line.strip())
    wnids = devkit_val_wnids(devkit)
    return {f'ILSVRC2012_val_{i + 1:08d}.JPEG': w for i, w in enumerate(wnids)}


def val_folders(root: str, assignment: Dict[str, str], dry_run: bool):
    val = osp.join(root, 'val')
    todo = [(f, w) for f, w in sorted(assignment.items()) if osp.isfile(osp.join(val, f))]
    done = sum(osp.isfile(osp.join(val, w, f)) for f, w in assignment.items())
    missing = len(assignment) - len(todo) - done
    print(f'{val}: {len(todo)} flat images to move into {len(set(assignment.values()))} class '
          f'folders; {done} already in place; {missing} listed but absent')
    if dry_run:
        return
    for fname, wnid in todo:
        os.makedirs(osp.join(val, wnid), exist_ok=True)
        shutil.move(osp.join(val, fname), osp.join(val, wnid, fname))
    print(f'moved {len(todo)} images')


def val_list(root: str, assignment: Dict[str, str], out: str, dry_run: bool):
    index = {w: i for i, w in enumerate(sorted(set(assignment.values())))}
    if len(index) != 1000:
        print(f'warning: {len(index)} classes in the ground truth, not 1000: indices follow '
              'their sorted order')
    lines = [f'{f} {index[w]}' for f, w in sorted(assignment.items())
             if osp.isfile(osp.join(root, 'val', f))]
    print(f'writing {len(lines)} lines to {out} (val/ stays flat)')
    if not dry_run:
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        with open(out, 'w') as f:
            f.write('\n'.join(lines) + '\n')
    print(f'use: --cfg-options val_dataloader.dataset.ann_file={osp.relpath(out, root)} '
          f'test_dataloader.dataset.ann_file={osp.relpath(out, root)}')


def count_split(folder: str) -> Counter:
    counts = Counter()
    for entry in sorted(os.listdir(folder)):
        path = osp.join(folder, entry)
        if osp.isdir(path):
            counts[entry] = sum(f.lower().endswith(IMAGE_EXTS) for f in os.listdir(path))
        elif entry.lower().endswith(IMAGE_EXTS):
            counts['<flat>'] += 1
    return counts


def check(root: str, expected_classes: int = 1000) -> int:
    problems = 0
    for split in ('train', 'val'):
        folder = osp.join(root, split)
        if not osp.isdir(folder):
            print(f'{split}: MISSING {folder}')
            problems += 1
            continue
        counts = count_split(folder)
        flat = counts.pop('<flat>', 0)
        empty = [c for c, n in counts.items() if n == 0]
        print(f'{split}: {len(counts)} class folders, {sum(counts.values())} images'
              + (f', {flat} flat images (arrange with val-folders or use val-list)' if flat else '')
              + (f', min/max per class {min(counts.values())}/{max(counts.values())}'
                 if counts else ''))
        if counts and len(counts) != expected_classes:
            print(f'  expected {expected_classes} classes, found {len(counts)}')
            problems += 1
        if empty:
            print(f'  {len(empty)} empty class folders, e.g. {empty[:5]}')
            problems += 1
    print('OK' if problems == 0 else f'{problems} problem(s)')
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    for name in ('val-folders', 'val-list'):
        p = sub.add_parser(name)
        p.add_argument('--root', default='data/imagenet')
        p.add_argument('--devkit', help='unpacked ILSVRC2012_devkit_t12')
        p.add_argument('--wnid-map', help='text file of "<file> <wnid>" lines instead of a devkit')
        p.add_argument('--dry-run', action='store_true')
        if name == 'val-list':
            p.add_argument('--out', help='list file (default: <root>/meta/val.txt)')
    p = sub.add_parser('check')
    p.add_argument('--root', default='data/imagenet')
    p.add_argument('--classes', type=int, default=1000)
    args = parser.parse_args(argv)

    if args.command == 'check':
        return 1 if check(args.root, args.classes) else 0
    if not (args.devkit or args.wnid_map):
        sys.exit('error: give --devkit DIR or --wnid-map FILE')
    if not osp.isdir(osp.join(args.root, 'val')):
        sys.exit(f"error: {osp.join(args.root, 'val')} not found: "
                 'unpack ILSVRC2012_img_val.tar there')
    assignment = val_assignment(args.root, args.devkit, args.wnid_map)
    if args.command == 'val-folders':
        val_folders(args.root, assignment, args.dry_run)
    else:
        val_list(args.root, assignment, args.out or osp.join(args.root, 'meta', 'val.txt'),
                 args.dry_run)
    return 0


if __name__ == '__main__':
    sys.exit(main())
