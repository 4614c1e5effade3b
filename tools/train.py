"""Train any hrnet_tasks config: classification, pose or segmentation.

    python tools/train.py CONFIG [--work-dir DIR] [--amp] [--dist | --launcher slurm]
                                 [--dist-timeout S] [--resume [CKPT]] [--load-from CKPT]
                                 [--seed N] [--deterministic] [--vis-backend tensorboard|wandb]
                                 [--cfg-options k=v ...]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout


def parse_args(argv=None):
    from hrnet_tasks.cli import VIS_BACKENDS, add_common_args
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='config file')
    add_common_args(parser)
    parser.add_argument('--resume', nargs='?', const='', default=None, metavar='CKPT',
                        help='resume from CKPT, or from the newest checkpoint in the work dir '
                        'that loads (damaged ones are skipped with a warning)')
    parser.add_argument('--load-from', help='initialise all weights from CKPT (no optimizer state)')
    parser.add_argument('--seed', type=int, help='random seed')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic algorithms (and seed 0 unless --seed is given)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale lr linearly with the total batch size '
                        '(auto_scale_lr.base_batch_size)')
    parser.add_argument('--vis-backend', nargs='+', choices=sorted(VIS_BACKENDS), default=[],
                        help='also send the training curves to TensorBoard / Weights & Biases '
                        '(needs that pip package)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # The checks up to check_data import no torch, so a mistake is reported in well
    # under a second; the model stack is imported only for a run that can start.
    from hrnet_tasks.cli import apply_train_args, check_data, load_config
    from hrnet_tasks.datapaths import DataPathError
    from hrnet_tasks.errors import CheckpointError, ConfigError
    try:
        cfg, class_options = load_config(args)
        apply_train_args(cfg, args)
        other_datasets = check_data(cfg, splits=('train', 'val'))

        from hrnet_tasks.utils import register_all_modules
        register_all_modules()
        from hrnet_tasks.engine import Runner
        from hrnet_tasks.engine.launch import check_class_arguments, check_registered_data
        from hrnet_tasks.engine.registered_types import check_registered_types
        check_registered_types(cfg)
        check_class_arguments(class_options)
        check_registered_data(other_datasets)
        runner = Runner.from_cfg(cfg)
    except (ConfigError, DataPathError, CheckpointError) as err:
        sys.exit(f'error: {err}')

    from hrnet_tasks.engine.launch import exit_failed_rank, shutdown_distributed
    from hrnet_tasks.engine.nan_guard import NonFiniteLoss
    try:
        runner.train()
    except (ConfigError, CheckpointError) as err:  # e.g. --load-from a checkpoint of another arch
        sys.exit(f'error: {err}')
    except NonFiniteLoss as err:  # every rank stops at the same iteration
        sys.exit(f'error: {err}')
    except Exception as exc:
        if cfg.launcher != 'none':
            exit_failed_rank(exc)  # does not return: the job must not wait for this rank
        raise
    shutdown_distributed()


if __name__ == '__main__':
    main()
