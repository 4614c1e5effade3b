"""What tools/train.py and tools/test.py share once the model stack is imported:
the checks that need the registries, and distributed start and end.

The checks that need no registry (config keys, data paths of the project's
datasets, checkpoint files) live in ``hrnet_tasks.cli`` and run first, before
torch is imported; they are re-exported here.
"""
import inspect
import os
import re
import sys
import time
import traceback
from typing import Any, Optional

from hrnet_tasks import cli
from hrnet_tasks.cli import (DEFAULT_DIST_TIMEOUT, add_common_args, apply_train_args,  # noqa: F401
                             check_checkpoint, check_data, checkpoint_problem,
                             find_latest_checkpoint, load_config)
from hrnet_tasks.errors import ConfigError

# seconds a rank whose peer died waits to be stopped by torchrun before it exits itself
PEER_GRACE_S = 10


def _registries() -> tuple:
    from hrnet_tasks import registry as R
    return (R.MODELS, R.DATASETS, R.TRANSFORMS, R.OPTIMIZERS, R.OPTIM_WRAPPERS,
            R.PARAM_SCHEDULERS, R.HOOKS, R.METRICS, R.DATA_SAMPLERS, R.LOOPS,
            R.VISUALIZERS, R.VISBACKENDS, R.TASK_UTILS, R.RUNNERS)


def _lookup_type(type_name: Any):
    if not isinstance(type_name, str):
        return type_name if inspect.isclass(type_name) else None
    for registry in _registries():
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


def check_class_arguments(deferred):
    """The ``--cfg-options`` keys that add an argument to a registered class
    (returned by ``check_cfg_options``): the class must accept it."""
    for key, type_name, argument in deferred:
        cls = _lookup_type(type_name)
        allowed = accepted_keys(cls) if cls is not None else None
        if allowed is not None and argument not in allowed:
            raise ConfigError(f'--cfg-options {key}: {cls.__name__} has no argument '
                              f'{argument!r}; valid: {", ".join(sorted(allowed))}')


def check_cfg_options(cfg, options: dict):
    """All of the ``--cfg-options`` checks at once: the config's keys, then the
    arguments of registered classes."""
    check_class_arguments(cli.check_cfg_options(cfg, options))


def check_registered_data(dataset_cfgs):
    """Path check of the dataset configs ``check_data`` left to the registry."""
    for ds in dataset_cfgs:
        cls = _lookup_type(ds.get('type'))
        if cls is not None and hasattr(cls, 'check_paths'):
            cls.check_paths(**{k: v for k, v in ds.items() if k != 'type'})


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


# How a collective reports that another rank died (gloo, NCCL).
_PEER_DIED = re.compile(r'closed by peer|reset by peer|Broken pipe|remote process exited|'
                        r'NCCL communicator was aborted')


def exit_failed_rank(exc: BaseException):
    """End this rank now, after ``exc`` ended its part of a distributed run.

    torchrun stops the other ranks (blocked in a collective) as soon as one exits
    non-zero, but an ordinary interpreter exit can block in the process group's
    teardown (NCCL waits for the collectives in flight), which would keep the whole
    job alive until the collective timeout. The error goes to torchrun's error file,
    so its summary names the rank that failed first and its exception. A rank whose
    collective failed because a peer died waits a moment for torchrun to stop it,
    so that the summary names the peer, not this rank, as the root cause.
    """
    rank, world = os.environ.get('RANK', '?'), os.environ.get('WORLD_SIZE', '?')
    secondary = bool(_PEER_DIED.search(str(exc)))
    if secondary:
        first_line = (str(exc).splitlines() or [''])[0][:200]
        print(f'error: rank {rank} of {world} stops: another rank died '
              f'({type(exc).__name__}: {first_line})', file=sys.stderr, flush=True)
    else:
        traceback.print_exception(exc)
        print(f'error: rank {rank} of {world} failed: {type(exc).__name__}: {exc}',
              file=sys.stderr, flush=True)
        if re.search(r'[Tt]imed? ?out', str(exc)):
            print('error: a collective waited longer than --dist-timeout: another rank hangs, '
                  'or one rank works alone that long (raise --dist-timeout then)',
                  file=sys.stderr, flush=True)
    try:
        if secondary:
            time.sleep(PEER_GRACE_S)
        else:
            from torch.distributed.elastic.multiprocessing.errors import ErrorHandler
            ErrorHandler().record_exception(exc)  # no-op outside torchrun
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)
