"""Evaluate a checkpoint on the config's test set and print the metrics.

    python tools/test.py CONFIG CHECKPOINT [--dist] [--amp] [--out FILE] [--cfg-options k=v ...]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from hrnet_tasks.utils import register_all_modules  # noqa: E402


def parse_args(argv=None):
    from hrnet_tasks.engine.launch import add_common_args
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    add_common_args(parser)
    parser.add_argument('--out', help='dump every prediction to this pickle file')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    register_all_modules()
    from hrnet_tasks.datasets import DataPathError
    from hrnet_tasks.engine import Runner
    from hrnet_tasks.errors import ConfigError
    from hrnet_tasks.engine.launch import check_data, load_config, shutdown_distributed
    try:
        cfg = load_config(args)
        if not osp.isfile(args.checkpoint):
            raise ConfigError(f'checkpoint not found: {args.checkpoint}')
        check_data(cfg, splits=('test', ))
    except (ConfigError, DataPathError) as err:
        sys.exit(f'error: {err}')
    cfg.load_from = args.checkpoint
    cfg.resume = False
    cfg.setdefault('test_cfg', {})
    if args.amp:
        cfg.test_cfg.fp16 = True  # mmengine's TestLoop autocasts (bf16 on CPU)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1, save_last=False)
    if args.out:
        evaluator = cfg.test_evaluator
        evaluator = list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]
        cfg.test_evaluator = evaluator + [dict(type='DumpResults', out_file_path=args.out)]
    try:
        runner = Runner.from_cfg(cfg)
    except ConfigError as err:
        sys.exit(f'error: {err}')
    metrics = runner.test()
    shutdown_distributed()
    return metrics


if __name__ == '__main__':
    main()
