"""Checkpoints that load with ``torch.load(weights_only=True)`` and are written atomically.

torch >= 2.6 refuses to unpickle anything but tensors and plain containers
unless the types are allow-listed. mmengine 0.10.7 writes its message hub
(``HistoryBuffer`` objects holding NumPy arrays and bound methods, which pickle
through ``getattr``) and NumPy scalars into every checkpoint, then
``torch.load``s them with the default, so its own ``resume`` fails.

Our checkpoints avoid the problem at the source: ``ExactResumeHook`` turns
those objects into plain data before saving and back after loading. For files
written by other mmengine projects (e.g. mmpretrain/mmpose releases carrying
NumPy values in their meta) we allow-list HistoryBuffer and the NumPy
array/scalar reconstructors, never ``getattr`` or arbitrary classes.
"""
import os
import os.path as osp
import random
from typing import Any, Optional

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from hrnet_tasks.checkpoint_files import unloadable_checkpoint
from hrnet_tasks.errors import CheckpointError
from hrnet_tasks.safe_globals import allow_checkpoint_types


def load_checkpoint_file(path: str, map_location: Any = 'cpu') -> Any:
    """``torch.load`` with ``weights_only=True``: never runs code from the file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    allow_checkpoint_types()
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        # a refused global (a file that would run code), or empty, truncated, corrupt or
        # not a checkpoint at all: one line
        problem = unloadable_checkpoint(path, exc)
        if problem:
            raise CheckpointError(problem) from None
        raise RuntimeError(
            f'could not load {path} with weights_only=True ({exc}). Only tensors, plain '
            'containers and the allow-listed mmengine types are accepted; convert foreign '
            'checkpoints with tools/convert_checkpoint.py.') from exc


def atomic_save(obj: Any, path: str):
    """Write ``obj`` to ``path`` so that a crash never leaves a truncated file there."""
    tmp = f'{path}.tmp.{os.getpid()}'
    with open(tmp, 'wb') as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


_BUFFER_TAG = '__history_buffer__'


def encode_history_buffer(buffer):
    if not isinstance(buffer, HistoryBuffer):
        return buffer
    log, count = buffer.data
    return {_BUFFER_TAG: True, 'log_history': log.tolist(), 'count_history': count.tolist(),
            'max_length': buffer.max_length}


def decode_history_buffer(value):
    if isinstance(value, dict) and value.get(_BUFFER_TAG):
        return HistoryBuffer(value['log_history'], value['count_history'], value['max_length'])
    return value


def to_plain_data(obj):
    """NumPy arrays to tensors and NumPy scalars to Python scalars, recursively.

    Dicts and lists are updated in place (so a state dict keeps its type and
    ``_metadata``); tuples are rebuilt.
    """
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        for key, value in obj.items():
            obj[key] = to_plain_data(value)
    elif isinstance(obj, list):
        obj[:] = [to_plain_data(v) for v in obj]
    elif isinstance(obj, tuple) and not hasattr(obj, '_fields'):
        return tuple(to_plain_data(v) for v in obj)
    return obj


def rng_state() -> dict:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return dict(python=random.getstate(), torch=torch.get_rng_state(),
                numpy=dict(kind=kind, keys=torch.from_numpy(keys.astype(np.int64)), pos=int(pos),
                           has_gauss=int(has_gauss), gauss=float(gauss)))


def set_rng_state(state: Optional[dict]):
    if not state:
        return
    random.setstate(_to_tuple(state['python']))
    np_state = state['numpy']
    np.random.set_state((np_state['kind'], np_state['keys'].numpy().astype(np.uint32),
                         np_state['pos'], np_state['has_gauss'], np_state['gauss']))
    torch.set_rng_state(state['torch'])


def _to_tuple(x):
    return tuple(_to_tuple(v) for v in x) if isinstance(x, (list, tuple)) else x
