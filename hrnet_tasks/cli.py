"""What the command-line tools share, importable without torch.

``tools/train.py`` and ``tools/test.py`` parse their arguments, load the config and
check option keys, data paths and checkpoint files here before the model stack
(torch, mmcv, mmpretrain: seconds of CPU) is imported, so ``--help`` and a typo
answer at once. The checks that need a registered class (a new argument of a
class, the data paths of a dataset type this module does not know) run afterwards,
in ``hrnet_tasks.engine.launch``.
"""
import argparse
import ast
import functools
import glob
import importlib.util
import os
import os.path as osp
from typing import Any, List, Optional, Tuple

from mmengine.config import Config, DictAction

from hrnet_tasks.checkpoint_files import (checkpoint_problem, damaged_checkpoint,  # noqa: F401
                                          find_latest_checkpoint)
from hrnet_tasks.datapaths import PREPARE_HINTS, check_paths, required_paths
from hrnet_tasks.decode_cap import decoder_caps, max_instances_problem
from hrnet_tasks.errors import ConfigError

# Long enough for rank 0 to evaluate or save a checkpoint while the other ranks wait in a
# barrier; short enough that a rank that hangs (rather than dies) ends the job in ten minutes
# instead of torch's thirty. A rank that dies ends the job at once (torchrun stops the others).
DEFAULT_DIST_TIMEOUT = 600

# --vis-backend name -> (mmengine backend type, pip package it needs)
VIS_BACKENDS = {'tensorboard': ('TensorboardVisBackend', 'tensorboard'),
                'wandb': ('WandbVisBackend', 'wandb')}


def add_common_args(parser: argparse.ArgumentParser):
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: fp16 + loss scaling on CUDA, bf16 autocast on CPU')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the train/val/test steps (mmengine compile=True); '
                        'runs eager with a warning where torch.compile cannot run')
    parser.add_argument('--dist', action='store_true',
                        help='distributed run under torchrun (same as --launcher pytorch); '
                        'nccl on CUDA, gloo on CPU')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--dist-timeout', type=float, metavar='SECONDS',
                        help='process-group timeout: a rank that waits this long in a collective '
                        'fails the job (default: env_cfg.dist_cfg.timeout, else '
                        f'{DEFAULT_DIST_TIMEOUT})')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. model.backbone.arch=w18 '
                        'train_dataloader.batch_size=64')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)


def load_config(args) -> Tuple[Config, list]:
    """The config with ``--cfg-options`` merged, and the option keys that still need a
    registered class to be checked (see ``hrnet_tasks.engine.launch.check_class_arguments``)."""
    if not osp.isfile(args.config):
        raise ConfigError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    deferred = check_cfg_options(cfg, args.cfg_options)
    cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = 'pytorch' if args.dist and args.launcher == 'none' else args.launcher
    if cfg.launcher != 'none':
        import torch  # only a distributed run needs the device this early
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
        dist_cfg = cfg.env_cfg.dist_cfg
        # mmengine defaults to nccl, which does not exist without CUDA.
        dist_cfg.backend = 'nccl' if torch.cuda.is_available() else 'gloo'
        if getattr(args, 'dist_timeout', None) is not None:
            dist_cfg.timeout = args.dist_timeout
        dist_cfg.setdefault('timeout', DEFAULT_DIST_TIMEOUT)
        if not dist_cfg.timeout > 0:
            raise ConfigError(f'--dist-timeout / env_cfg.dist_cfg.timeout must be > 0 seconds, '
                              f'not {dist_cfg.timeout}')
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    apply_speed_args(cfg, args)
    check_decoder_caps(cfg, args.config)
    return cfg, deferred


def check_decoder_caps(cfg: Config, config_file: str):
    """A bottom-up decoder's ``max_instances`` below what COCO AP ranks, named by its key."""
    for key, value in decoder_caps(cfg.to_dict()):
        problem = max_instances_problem(value)
        if problem:
            raise ConfigError(f'{config_file}: {key[:-len("max_instances")]}{problem}')


def apply_speed_args(cfg: Config, args):
    """``--amp`` on a CPU without native bf16 warns (bf16 is emulated there and slower than
    fp32); ``--compile`` sets mmengine's ``compile=True`` and compiles evaluation too, or
    warns and stays eager where torch.compile cannot run."""
    amp, compile_ = getattr(args, 'amp', False), getattr(args, 'compile', False)
    if not (amp or compile_):
        return
    import torch
    from hrnet_tasks.cpu_capability import compile_or_warn, warn_if_emulated_bf16
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if amp and device == 'cpu':
        warn_if_emulated_bf16('--amp')
    if compile_ and compile_or_warn('--compile', device):
        cfg.compile = True
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [dict(type='CompileEvalHook')]


# ---------------------------------------------------------------- option checks

def check_cfg_options(cfg: Config, options: dict) -> List[Tuple[str, Any, str]]:
    """Reject ``--cfg-options`` keys that the config does not know.

    A key that adds an argument to a dict with a ``type`` is valid if that class
    accepts it; those are returned as (key, type, argument) for
    ``check_class_arguments``, which needs the registries.
    """
    deferred = []
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
                allowed = project_class_arguments(node['type'])
                if allowed is None:  # not ours, or it forwards **kwargs: needs the class
                    deferred.append((key, node['type'], part))
                elif part not in allowed:
                    raise ConfigError(f'--cfg-options {key}: {node["type"]} has no argument '
                                      f'{part!r}; valid: {", ".join(sorted(allowed))}')
                break
            where = '.'.join(parts[:depth]) or 'the config top level'
            raise ConfigError(f'--cfg-options {key}: unknown key {part!r} in {where}; valid keys: '
                              f'{", ".join(sorted(str(k) for k in node.keys()))}')
    return deferred


@functools.lru_cache(maxsize=None)
def _project_classes() -> dict:
    """Class name -> its ``ast.ClassDef`` for every class in this package, read from the
    source (milliseconds) rather than imported (seconds of torch and mmpretrain)."""
    root = osp.dirname(osp.abspath(__file__))
    classes = {}
    for path in glob.glob(osp.join(root, '**', '*.py'), recursive=True):
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, node)
    return classes


def project_class_arguments(type_name: Any) -> Optional[set]:
    """Constructor arguments of a class this package defines under ``type_name``, from
    its source; None when that cannot tell (a class of another package, one without its
    own ``__init__``, or one taking ``**kwargs``): then the registered class is checked
    after import."""
    node = _project_classes().get(type_name) if isinstance(type_name, str) else None
    init = next((n for n in node.body if isinstance(n, ast.FunctionDef)
                 and n.name == '__init__'), None) if node is not None else None
    if init is None or init.args.kwarg is not None:
        return None
    args = init.args.posonlyargs + init.args.args + init.args.kwonlyargs
    return {a.arg for a in args} - {'self'}


# ---------------------------------------------------------------- data check

def leaf_dataset_cfgs(dataset_cfg):
    """The leaf dataset configs under wrappers (ConcatDataset, RepeatDataset, and
    MultiTaskDataset, whose ``tasks`` maps task names to datasets)."""
    if not isinstance(dataset_cfg, dict):
        return
    if 'datasets' in dataset_cfg or isinstance(dataset_cfg.get('tasks'), dict):
        subs = dataset_cfg['datasets'] if 'datasets' in dataset_cfg \
            else dataset_cfg['tasks'].values()
        for sub in subs:
            yield from leaf_dataset_cfgs(sub)
    elif 'dataset' in dataset_cfg:
        yield from leaf_dataset_cfgs(dataset_cfg['dataset'])
    else:
        yield dataset_cfg


def check_data(cfg: Config, splits=('train', 'val')) -> list:
    """Raise ``DataPathError`` naming the first missing data root / annotation file of the
    project's own dataset types; return the dataset configs of other types (checked by
    ``hrnet_tasks.engine.launch.check_registered_data`` once the registries are loaded)."""
    others = []
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        for ds in leaf_dataset_cfgs(loader.get('dataset')):
            type_name = ds.get('type')
            name = type_name.split('.', 1)[1] if isinstance(type_name, str) and \
                type_name.startswith('hrnet_tasks.') else type_name
            if isinstance(name, str) and name in PREPARE_HINTS:
                check_paths(name, PREPARE_HINTS[name], required_paths(**ds))
            else:
                others.append(ds)
    return others


def check_checkpoint(path: str, what: str = ''):
    """ConfigError naming ``path`` and its problem, for a checkpoint the user gave
    (``what``: the option that gave it, for the message)."""
    prefix = f'{what}: ' if what else ''
    if not osp.exists(path):
        raise ConfigError(f'{prefix}checkpoint not found: {path}')
    damaged = damaged_checkpoint(path)
    if damaged:
        raise ConfigError(prefix + damaged)


# ---------------------------------------------------------------- train set-up

def apply_train_args(cfg: Config, args):
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ConfigError(f'--amp: optim_wrapper.type is {wrapper!r}; --amp needs '
                              'OptimWrapper or AmpOptimWrapper')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        import torch
        if torch.cuda.is_available():
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume is not None:
        if args.resume:
            check_checkpoint(args.resume, '--resume')
            path = args.resume
        else:
            path = find_latest_checkpoint(cfg.work_dir)
            if path is None:
                print(f'--resume: no loadable checkpoint in {cfg.work_dir}; starting from scratch')
        cfg.resume = path is not None
        cfg.load_from = path
    elif args.load_from:
        check_checkpoint(args.load_from, '--load-from')
        cfg.load_from = args.load_from
        cfg.resume = False
    elif cfg.get('load_from') and '://' not in cfg.load_from:  # URLs are fetched later
        check_checkpoint(cfg.load_from, 'load_from (config)')
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
    for name in getattr(args, 'vis_backend', None) or []:
        add_vis_backend(cfg, name)


def add_vis_backend(cfg: Config, name: str):
    """Add mmengine's TensorBoard / W&B backend to the visualizer, so the scalars that
    go to ``vis_data/scalars.json`` (and ``plot_logs.py``) appear there too."""
    backend, package = VIS_BACKENDS[name]
    if importlib.util.find_spec(package) is None:
        raise ConfigError(f'--vis-backend {name}: the {package!r} package is not installed; '
                          f'pip install {package}')
    cfg.setdefault('visualizer', dict(type='UniversalVisualizer', vis_backends=[]))
    backends = list(cfg.visualizer.get('vis_backends') or [])
    if not any(b.get('type') == backend for b in backends):
        backends.append(dict(type=backend))
    cfg.visualizer.vis_backends = backends
