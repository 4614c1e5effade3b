"""Train any hrnet_tasks config: classification, pose or segmentation.

    python tools/train.py CONFIG [--work-dir DIR] [--amp] [--dist | --launcher slurm]
                                 [--resume [CKPT]] [--load-from CKPT] [--seed N]
                                 [--deterministic] [--cfg-options k=v ...]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from hrnet_tasks.utils import register_all_modules  # noqa: E402


def parse_args(argv=None):
    from hrnet_tasks.engine.launch import add_common_args
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='config file')
    add_common_args(parser)
    parser.add_argument('--resume', nargs='?', const='', default=None, metavar='CKPT',
                        help='resume from CKPT, or from the latest checkpoint in the work dir')
    parser.add_argument('--load-from', help='initialise all weights from CKPT (no optimizer state)')
    parser.add_argument('--seed', type=int, help='random seed')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic algorithms (and seed 0 unless --seed is given)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale lr linearly with the total batch size '
                        '(auto_scale_lr.base_batch_size)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    register_all_modules()
    from hrnet_tasks.datasets import DataPathError
    from hrnet_tasks.engine import Runner
    from hrnet_tasks.errors import ConfigError
    from hrnet_tasks.engine.launch import (apply_train_args, check_data, load_config,
                                           shutdown_distributed)
    try:
        cfg = load_config(args)
        apply_train_args(cfg, args)
        check_data(cfg, splits=('train', 'val'))
        runner = Runner.from_cfg(cfg)
    except (ConfigError, DataPathError) as err:
        sys.exit(f'error: {err}')
    try:
        runner.train()
    except ConfigError as err:  # e.g. --load-from a checkpoint of another arch
        sys.exit(f'error: {err}')
    shutdown_distributed()


if __name__ == '__main__':
    main()
