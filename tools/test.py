"""Evaluate a checkpoint on the config's test set and print the metrics.

    python tools/test.py CONFIG CHECKPOINT [--dist] [--amp] [--out FILE] [--cfg-options k=v ...]

Shows a progress bar (images/s, ETA) on a terminal and a log line every 10 %
otherwise.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout


def parse_args(argv=None):
    from hrnet_tasks.cli import add_common_args
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    add_common_args(parser)
    parser.add_argument('--out', help='dump every prediction to this pickle file')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # No torch before the checks below: a wrong path is reported at once.
    from hrnet_tasks.cli import check_checkpoint, check_data, load_config
    from hrnet_tasks.datapaths import DataPathError
    from hrnet_tasks.errors import CheckpointError, ConfigError
    try:
        cfg, class_options = load_config(args)
        check_checkpoint(args.checkpoint)
        other_datasets = check_data(cfg, splits=('test', ))

        from hrnet_tasks.utils import register_all_modules
        register_all_modules()
        from hrnet_tasks.engine.launch import check_class_arguments, check_registered_data
        from hrnet_tasks.engine.registered_types import check_registered_types
        check_registered_types(cfg)
        check_class_arguments(class_options)
        check_registered_data(other_datasets)
    except (ConfigError, DataPathError, CheckpointError) as err:
        sys.exit(f'error: {err}')
    from hrnet_tasks.engine import Runner
    from hrnet_tasks.engine.launch import shutdown_distributed
    cfg.load_from = args.checkpoint
    cfg.resume = False
    cfg.setdefault('test_cfg', {})
    if args.amp:
        cfg.test_cfg.fp16 = True  # mmengine's TestLoop autocasts (bf16 on CPU)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1, save_last=False)
    if sys.stderr.isatty() and cfg.default_hooks.get('logger'):
        # the progress bar replaces the per-iteration log lines (the metrics are still logged)
        cfg.default_hooks.logger.interval = 10**9
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [dict(type='TestProgressHook')]
    if args.out:
        evaluator = cfg.test_evaluator
        evaluator = list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]
        cfg.test_evaluator = evaluator + [dict(type='DumpResults', out_file_path=args.out)]
    try:
        runner = Runner.from_cfg(cfg)
        metrics = runner.test()
    except (ConfigError, CheckpointError) as err:
        sys.exit(f'error: {err}')
    shutdown_distributed()
    return metrics


if __name__ == '__main__':
    main()
