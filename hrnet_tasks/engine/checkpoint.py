"""Checkpoints that load with ``torch.load(weights_only=True)`` and are written atomically.

torch >= 2.6 refuses to unpickle anything but tensors and plain containers
unless the types are allow-listed. mmengine 0.10.7 writes its message hub
(``HistoryBuffer`` holding numpy arrays), numpy scalars and RNG states into
every checkpoint and then ``torch.load``s them with the default, so its own
``resume`` fails. We allow-list exactly the types mmengine and this project
write; anything else in a file still fails to load, as it should.
"""
import os
import os.path as osp
import random
from typing import Any, Optional

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def _numpy_globals() -> list:
    dtypes = [np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.int8,
              np.uint8, np.uint32, np.uint64, np.bool_]
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    found = [np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar]
    found += [type(np.dtype(t)) for t in dtypes]  # numpy>=1.25 dtype classes, e.g. Float64DType
    return found


SAFE_GLOBALS = [HistoryBuffer, *_numpy_globals()]


def allow_checkpoint_types():
    """Allow-list the non-tensor types found in mmengine/hrnet_tasks checkpoints."""
    torch.serialization.add_safe_globals(SAFE_GLOBALS)


def load_checkpoint_file(path: str, map_location: Any = 'cpu') -> Any:
    """``torch.load`` with ``weights_only=True``: never runs code from the file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    allow_checkpoint_types()
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
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


def rng_state() -> dict:
    return dict(python=random.getstate(), numpy=np.random.get_state(), torch=torch.get_rng_state())


def set_rng_state(state: Optional[dict]):
    if not state:
        return
    random.setstate(_to_tuple(state['python']))
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])


def _to_tuple(x):
    return tuple(_to_tuple(v) for v in x) if isinstance(x, (list, tuple)) else x
