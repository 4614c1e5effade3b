"""Write Cityscapes ``*_gtFine_labelTrainIds.png`` from ``*_gtFine_labelIds.png``.

    python data_prep/cityscapes.py data/cityscapes [--nproc 8] [--force]

Uses the official cityscapesScripts id table (19 evaluated classes -> 0..18,
every other id -> 255), in parallel. Idempotent: existing outputs are kept
unless --force. Prints what it found and did. Expected layout:

    data/cityscapes/leftImg8bit/{train,val,test}/<city>/<name>_leftImg8bit.png
    data/cityscapes/gtFine/{train,val,test}/<city>/<name>_gtFine_labelIds.png
"""
import argparse
import os
import os.path as osp
import sys
from multiprocessing import Pool

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from hrnet_tasks.progress import Progress  # noqa: E402

SUFFIX_IN = '_gtFine_labelIds.png'
SUFFIX_OUT = '_gtFine_labelTrainIds.png'


def _lut():
    from hrnet_tasks.datasets.segmentation import CITYSCAPES_ID_TO_TRAINID, label_lut
    return label_lut(CITYSCAPES_ID_TO_TRAINID)


def convert_one(args):
    src, force = args
    dst = src[:-len(SUFFIX_IN)] + SUFFIX_OUT
    if osp.isfile(dst) and not force:
        return 'kept'
    import cv2  # here, not at the top: `--help` and the layout checks stay instant
    import numpy as np
    label = cv2.imread(src, cv2.IMREAD_UNCHANGED)
    if label is None or label.ndim != 2:
        return f'error: cannot read a single-channel label map: {src}'
    tmp = dst + '.tmp.png'
    cv2.imwrite(tmp, _lut()[label.astype(np.uint8)])
    os.replace(tmp, dst)  # never leave a half-written file behind
    return 'written'


def find_label_ids(root: str):
    gt = osp.join(root, 'gtFine')
    found = []
    for dirpath, _, files in os.walk(gt):
        found += [osp.join(dirpath, f) for f in files if f.endswith(SUFFIX_IN)]
    return sorted(found)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('root', help='Cityscapes root holding leftImg8bit/ and gtFine/')
    parser.add_argument('--nproc', type=int, default=min(8, os.cpu_count() or 1))
    parser.add_argument('--force', action='store_true', help='rewrite existing outputs')
    args = parser.parse_args(argv)
    if not osp.isdir(osp.join(args.root, 'gtFine')):
        sys.exit(f'error: {osp.join(args.root, "gtFine")} not found; download '
                 'gtFine_trainvaltest.zip '
                 'and leftImg8bit_trainvaltest.zip from cityscapes-dataset.com and unzip both into '
                 f'{args.root}')
    files = find_label_ids(args.root)
    if not files:
        sys.exit(f'error: no *{SUFFIX_IN} under {osp.join(args.root, "gtFine")}')
    for split in ('train', 'val', 'test'):
        n = sum(f'{os.sep}gtFine{os.sep}{split}{os.sep}' in f for f in files)
        if n:
            print(f'{split}: {n} label maps')
    print(f'converting {len(files)} *{SUFFIX_IN} -> *{SUFFIX_OUT} with {args.nproc} processes '
          '(labelId -> trainId, official table; other ids -> 255)')
    jobs = [(f, args.force) for f in files]
    progress = Progress(len(jobs), 'label maps')
    results = []
    if args.nproc > 1:
        with Pool(args.nproc) as pool:
            for result in pool.imap_unordered(convert_one, jobs, chunksize=16):
                results.append(result)
                progress.update()
    else:
        for job in jobs:
            results.append(convert_one(job))
            progress.update()
    progress.close()
    errors = [r for r in results if r.startswith('error')]
    print(f'written {results.count("written")}, kept {results.count("kept")} (already there; '
          f'--force to redo), errors {len(errors)}')
    for err in errors[:10]:
        print(err)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
