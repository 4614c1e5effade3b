"""What tools/train.py and tools/test.py share: config loading, option checks,
launcher/AMP/resume wiring and the pre-flight data check.

Everything that can be checked from the config alone is checked here, before
the Runner builds a model, so a typo costs seconds, not a queued GPU job.
"""
import argparse
import glob
import inspect
import os
import os.path as osp
import re
from typing import Any, Optional

import torch
from mmengine.config import Config, DictAction

from hrnet_tasks import registry as R
from hrnet_tasks.errors import ConfigError


def add_common_args(parser: argparse.ArgumentParser):
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: fp16 + loss scaling on CUDA, bf16 autocast on CPU')
    parser.add_argument('--dist', action='store_true',
                        help='distributed run under torchrun (same as --launcher pytorch); '
                        'nccl on CUDA, gloo on CPU')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. model.backbone.arch=w18 '
                        'train_dataloader.batch_size=64')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)


def load_config(args) -> Config:
    if not osp.isfile(args.config):
        raise ConfigError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    check_cfg_options(cfg, args.cfg_options)
    cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = 'pytorch' if args.dist and args.launcher == 'none' else args.launcher
    if cfg.launcher != 'none':
        # mmengine defaults to nccl, which does not exist without CUDA.
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
        cfg.env_cfg.dist_cfg.backend = 'nccl' if torch.cuda.is_available() else 'gloo'
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


# ---------------------------------------------------------------- option checks

_REGISTRIES = (R.MODELS, R.DATASETS, R.TRANSFORMS, R.OPTIMIZERS, R.OPTIM_WRAPPERS,
               R.PARAM_SCHEDULERS, R.HOOKS, R.METRICS, R.DATA_SAMPLERS, R.LOOPS,
               R.VISUALIZERS, R.VISBACKENDS, R.TASK_UTILS, R.RUNNERS)


def _lookup_type(type_name: Any):
    if not isinstance(type_name, str):
        return type_name if inspect.isclass(type_name) else None
    for registry in _REGISTRIES:
        try:
            found = registry.get(type_name)
        except Exception:  # a registry whose lazy import fails is not the one
            found = None
        if found is not None:
            return found
    return None


def accepted_keys(cls) -> Optional[set]:
    """Constructor arguments of ``cls``; ``None`` when it forwards ``**kwargs`` to
    something we cannot see (then any key is accepted)."""
    keys = set()
    for klass in inspect.getmro(cls):
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            return None
        keys |= {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        keys.discard('self')
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return keys
    return None


def check_cfg_options(cfg: Config, options: dict):
    """Reject ``--cfg-options`` keys that the config or the target class does not know."""
    for key in options:
        parts = key.split('.')
        node: Any = cfg.to_dict()
        for depth, part in enumerate(parts):
            path = '.'.join(parts[:depth + 1])
            last = depth == len(parts) - 1
            if isinstance(node, (list, tuple)):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(f'--cfg-options {key}: {path!r} indexes a list of '
                                      f'{len(node)} items; use 0..{len(node) - 1}')
                node = node[int(part)]
                continue
            if not isinstance(node, dict):
                raise ConfigError(f'--cfg-options {key}: {".".join(parts[:depth])!r} is a '
                                  f'{type(node).__name__}, not a dict')
            if part in node:
                node = node[part]
                continue
            if last and 'type' in node:  # a new argument for a registered class
                cls = _lookup_type(node['type'])
                allowed = accepted_keys(cls) if cls is not None else None
                if allowed is None or part in allowed:
                    break
                raise ConfigError(f'--cfg-options {key}: {cls.__name__} has no argument {part!r}; '
                                  f'valid: {", ".join(sorted(allowed))}')
            where = '.'.join(parts[:depth]) or 'the config top level'
            raise ConfigError(f'--cfg-options {key}: unknown key {part!r} in {where}; valid keys: '
                              f'{", ".join(sorted(str(k) for k in node.keys()))}')


# ---------------------------------------------------------------- data check

def _dataset_cfgs(dataset_cfg):
    """The leaf dataset configs under wrappers (ConcatDataset, RepeatDataset, ...)."""
    if not isinstance(dataset_cfg, dict):
        return
    if 'datasets' in dataset_cfg:
        for sub in dataset_cfg['datasets']:
            yield from _dataset_cfgs(sub)
    elif 'dataset' in dataset_cfg:
        yield from _dataset_cfgs(dataset_cfg['dataset'])
    else:
        yield dataset_cfg


def check_data(cfg: Config, splits=('train', 'val')):
    """Raise ``DataPathError`` naming the first missing data root / annotation file."""
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        for ds in _dataset_cfgs(loader.get('dataset')):
            cls = _lookup_type(ds.get('type'))
            if cls is not None and hasattr(cls, 'check_paths'):
                cls.check_paths(**{k: v for k, v in ds.items() if k != 'type'})


# ---------------------------------------------------------------- train set-up

def find_latest_checkpoint(work_dir: str) -> Optional[str]:
    """Latest complete checkpoint in ``work_dir`` (files are renamed into place,
    so any ``epoch_N.pth``/``iter_N.pth`` present is whole)."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            path = f.read().strip()
        if osp.isfile(path):
            return path
    found = []
    for path in glob.glob(osp.join(work_dir, '*.pth')):
        m = re.fullmatch(r'(epoch|iter)_(\d+)\.pth', osp.basename(path))
        if m:
            found.append((int(m.group(2)), path))
    return max(found)[1] if found else None


def apply_train_args(cfg: Config, args):
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ConfigError(f'--amp: optim_wrapper.type is {wrapper!r}; --amp needs '
                              'OptimWrapper or AmpOptimWrapper')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        if torch.cuda.is_available():
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume is not None:
        path = args.resume or find_latest_checkpoint(cfg.work_dir)
        if args.resume and not osp.isfile(args.resume):
            raise ConfigError(f'--resume: checkpoint not found: {args.resume}')
        if path is None:
            print(f'--resume: no checkpoint in {cfg.work_dir}; starting from scratch')
        cfg.resume = path is not None
        cfg.load_from = path
    elif args.load_from:
        if not osp.isfile(args.load_from):
            raise ConfigError(f'--load-from: checkpoint not found: {args.load_from}')
        cfg.load_from = args.load_from
        cfg.resume = False
    randomness = dict(cfg.get('randomness') or {})
    if args.seed is not None:
        randomness['seed'] = args.seed
    if args.deterministic:
        randomness['deterministic'] = True
        randomness.setdefault('seed', 0)
        if randomness['seed'] is None:
            randomness['seed'] = 0
        os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
    cfg.randomness = randomness
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', {})['enable'] = True


def shutdown_distributed():
    """Tear the process group down before exit.

    Left to interpreter shutdown, gloo's worker threads can outlive their
    owner and abort the process ("terminate called without an active
    exception") after a run that succeeded.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
