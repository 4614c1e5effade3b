"""Evaluate a checkpoint on the config's test set and print the metrics.

    python tools/test.py CONFIG CHECKPOINT [--dist] [--amp] [--out FILE] [--cfg-options k=v ...]

``--out dets.json`` writes a detector's boxes as COCO results (what the top-down pose
datasets read as ``bbox_file``); another ``--out`` pickles every prediction.

Shows rich's progress bar (images/s, or s/image below one image a second; ETA) on a
terminal and a log line every 10 % otherwise.
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
    parser.add_argument('--out', help='dump every prediction to this pickle file; a .json '
                        'file gets the COCO results of a detection metric (CocoDetMetric)')
    return parser.parse_args(argv)


def writes_results_file(metric_cfg) -> bool:
    """Whether the metric of ``metric_cfg`` takes a ``results_file`` (COCO results json)."""
    import inspect

    from hrnet_tasks.registry import METRICS
    metric_cls = METRICS.get(metric_cfg.get('type')) if isinstance(metric_cfg, dict) else None
    return metric_cls is not None and \
        'results_file' in inspect.signature(metric_cls.__init__).parameters


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
        if args.out.endswith('.json'):
            # metrics that write COCO results take the file (CocoDetMetric's is the top-down
            # pose bbox_file)
            writers = [m for m in evaluator if writes_results_file(m)]
            if not writers:
                sys.exit(f'error: --out {args.out}: a .json is written by metrics with a '
                         f'results_file (CocoDetMetric); test_evaluator has '
                         f'{[m.get("type") for m in evaluator]}. Give a .pkl to dump the '
                         'predictions')
            for metric in writers:
                metric['results_file'] = args.out
        else:
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
