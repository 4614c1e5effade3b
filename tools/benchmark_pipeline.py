"""``tools/benchmark.py pipeline``: how fast the training data pipeline of a config runs,
per worker, and which transform takes the time.

    python tools/benchmark.py pipeline --config CFG [--workers N] [--samples N]
                                   [--data-root DIR] [--split train|val]
                                   [--cfg-options k=v ...] [--json FILE]

One process loads ``--samples`` samples (cycling over the dataset) through the
config's pipeline, one transform at a time, and reports samples/s (what one
dataloader worker delivers; also from CPU time, which holds on a loaded machine) and
each transform's share of the time. The numpy
RNG is seeded per sample, so two runs draw the same augmentations. With
``--workers N`` (N > 0) a ``torch.utils.data.DataLoader`` with N worker processes
also loads the samples and the total and per-worker samples/s are reported; on a
machine with fewer free cores than N the per-worker figure drops accordingly.
"""
import time
from collections import OrderedDict


def add_parser(subparsers, bench):
    from mmengine.config import DictAction
    p = subparsers.add_parser('pipeline', help='training pipeline samples/s and time per transform',
                              description=__doc__.split('\n\n')[0])
    p.add_argument('--config', required=True, help='a train config')
    p.add_argument('--split', choices=('train', 'val', 'test'), default='train',
                   help='which dataloader\'s dataset and pipeline (default: train)')
    p.add_argument('--data-root', help='override the dataset\'s data_root (e.g. '
                   '../shared/data/coco_kpt for the COCO pose configs)')
    p.add_argument('--cfg-options', nargs='+', default={}, action=DictAction,
                   help='override config keys, e.g. '
                   'train_dataloader.dataset.data_prefix=images')
    p.add_argument('--samples', type=int, default=50, help='samples timed (default: 50)')
    p.add_argument('--warmup', type=int, default=2, help='untimed samples first (default: 2)')
    p.add_argument('--workers', type=int, default=0,
                   help='also time a DataLoader with this many worker processes (default: 0)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--json', metavar='FILE')
    p.set_defaults(func=lambda args: run(args, bench), batch=1, repeats=1, threads=None)


def build_dataset(args):
    from mmengine.config import Config

    from hrnet_tasks.cli import leaf_dataset_cfgs
    from hrnet_tasks.registry import DATASETS
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    dataset_cfg = cfg[f'{args.split}_dataloader']['dataset']
    if args.data_root:
        for leaf in leaf_dataset_cfgs(dataset_cfg):
            leaf['data_root'] = args.data_root
    return DATASETS.build(dataset_cfg)


def _seed(seed: int):
    import random

    import numpy as np
    np.random.seed(seed % 2**32)
    random.seed(seed)


def time_transforms(dataset, samples: int, warmup: int, seed: int):
    """Wall and CPU seconds per transform over ``samples`` samples. A dataset without a
    ``pipeline`` of its own (a wrapper) is timed per whole sample, as ``'sample'``."""
    pipeline, info = getattr(dataset, 'pipeline', None), getattr(dataset, 'get_data_info', None)
    transforms = getattr(pipeline, 'transforms', None)
    wall, cpu = OrderedDict(), OrderedDict()

    def add(name, w0, c0):
        wall[name] = wall.get(name, 0.0) + time.perf_counter() - w0
        cpu[name] = cpu.get(name, 0.0) + time.process_time() - c0

    n = len(dataset)
    for i in range(warmup + samples):
        idx = i % n
        _seed(seed + i)
        timed = i >= warmup
        if transforms is None or info is None:
            w0, c0 = time.perf_counter(), time.process_time()
            dataset[idx]
            if timed:
                add('sample', w0, c0)
            continue
        results = info(idx)
        for t in transforms:
            w0, c0 = time.perf_counter(), time.process_time()
            results = t(results)
            if timed:
                add(type(t).__name__, w0, c0)
            if results is None:  # a transform that drops the sample (rare in training)
                break
    return wall, cpu


def time_loader(dataset, samples: int, workers: int, seed: int):
    """Samples/s of a DataLoader with ``workers`` processes (first batch untimed)."""
    import torch
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader, Subset

    indices = [i % len(dataset) for i in range(samples + workers)]
    loader = DataLoader(Subset(dataset, indices), batch_size=1, num_workers=workers,
                        collate_fn=pseudo_collate, worker_init_fn=lambda w: _seed(seed + w),
                        generator=torch.Generator().manual_seed(seed))
    it = iter(loader)
    for _ in range(workers):  # every worker has started and delivered once
        next(it)
    t0 = time.perf_counter()
    count = sum(1 for _ in it)
    return count / (time.perf_counter() - t0)


def run(args, bench):
    from hrnet_tasks.cpu_capability import describe_cpu
    if args.samples < 1 or args.workers < 0:
        raise SystemExit('error: --samples must be >= 1 and --workers >= 0')
    dataset = build_dataset(args)
    print(f'pipeline benchmark: {args.config} ({args.split}, {len(dataset)} samples in the '
          f'dataset), {args.samples} samples after {args.warmup} warm-up; cpu: {describe_cpu()}',
          flush=True)
    wall, cpu = time_transforms(dataset, args.samples, args.warmup, args.seed)
    total, total_cpu = sum(wall.values()), sum(cpu.values())
    per_worker, per_worker_cpu = args.samples / total, args.samples / max(total_cpu, 1e-9)
    cpu_share = total_cpu / max(total, 1e-9)
    print(f'{"transform":<28} {"ms/sample":>10} {"CPU ms":>8} {"CPU share":>9}')
    for name, seconds in wall.items():
        print(f'{name:<28} {seconds / args.samples * 1e3:>10.2f} '
              f'{cpu[name] / args.samples * 1e3:>8.2f} {cpu[name] / max(total_cpu, 1e-9):>9.1%}')
    result = dict(config=args.config, split=args.split, samples=args.samples,
                  per_worker_samples_s=per_worker, per_worker_samples_s_cpu=per_worker_cpu,
                  cpu_share=round(cpu_share, 3),
                  ms_per_sample={k: v / args.samples * 1e3 for k, v in wall.items()},
                  cpu_ms_per_sample={k: v / args.samples * 1e3 for k, v in cpu.items()})
    if cpu_share < 0.85:
        print(f'note: this process got {cpu_share:.0%} of one core: other processes competed; '
              'the CPU-time figure is what one worker with a core of its own delivers')
    if args.workers:
        loader_rate = time_loader(dataset, args.samples, args.workers, args.seed)
        result.update(workers=args.workers, loader_samples_s=loader_rate)
        print(f'DataLoader with {args.workers} workers: {loader_rate:.2f} samples/s '
              f'({loader_rate / args.workers:.2f} per worker)')
    if args.json:
        import json
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    # last line: the headline
    print(f'samples/s per worker: {per_worker:.2f} (from CPU time: {per_worker_cpu:.2f})')
    return result
