"""Plot training curves (loss, lr, validation metrics) from work dirs to one PNG.

    python tools/analysis/plot_logs.py WORK_DIR [WORK_DIR ...] [--keys loss accuracy/top1]
                                       [--out curves.png]

Reads mmengine's ``<work_dir>/<timestamp>/vis_data/scalars.json`` files (a
resumed run adds a timestamp folder; they are read in order). Training records
are drawn against the epoch (fractional, from the iteration count), validation
metrics against the epoch at which they were measured. One panel per key, one
line per work dir.
"""
import argparse
import glob
import json
import os.path as osp
import sys
from collections import defaultdict
from typing import Dict, List, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

TRAIN_ONLY = {'epoch', 'iter', 'step', 'time', 'data_time', 'memory'}


def read_curves(work_dir: str) -> Dict[str, List[Tuple[float, float]]]:
    """key -> [(epoch, value)] for one work dir."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir}: is it a work dir?')
    records = []
    for path in files:
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    train = [r for r in records if 'loss' in r and 'iter' in r and 'epoch' in r]
    # mmengine logs the global iteration; the epoch length follows from the last record
    iters_per_epoch = max(r['iter'] for r in train) / max(r['epoch'] for r in train) \
        if train else None
    curves = defaultdict(dict)
    for rec in records:
        if rec in train:
            for key, value in rec.items():
                if key not in TRAIN_ONLY:
                    curves[key][rec['iter']] = (rec['iter'] / iters_per_epoch, value)
        else:  # validation metrics: 'step' is the epoch (or iteration) they belong to
            for key, value in rec.items():
                if key not in TRAIN_ONLY:
                    curves[key][rec.get('step', 0)] = (rec.get('step', 0), value)
    # a resumed run repeats steps; keep the last record of each step
    return {k: sorted(v.values()) for k, v in curves.items()}


def plot(work_dirs: List[str], keys: List[str], out: str, labels: List[str] = None):
    runs = [read_curves(w) for w in work_dirs]
    labels = labels or [osp.basename(osp.normpath(w)) for w in work_dirs]
    if not keys:
        found = sorted({k for r in runs for k in r if k != 'lr'})
        keys = [k for k in found if k == 'loss'] + [k for k in found if k != 'loss']
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.5), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for run, label in zip(runs, labels):
            if key in run:
                xs, ys = zip(*run[key])
                ax.plot(xs, ys, marker='o' if len(xs) < 30 else None, ms=3, label=label)
        ax.set_title(key)
        ax.set_xlabel('epoch (iteration for iteration-based runs)')
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return keys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--keys', nargs='+', help='scalars to plot (default: loss + metrics)')
    parser.add_argument('--labels', nargs='+', help='legend label per work dir')
    parser.add_argument('--out', default='curves.png')
    args = parser.parse_args(argv)
    try:
        keys = plot(args.work_dirs, args.keys or [], args.out, args.labels)
    except FileNotFoundError as err:
        sys.exit(f'error: {err}')
    print(f'plotted {", ".join(keys)} for {len(args.work_dirs)} run(s) to {args.out}')


if __name__ == '__main__':
    main()
