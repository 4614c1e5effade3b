"""The non-tensor types that ``torch.load(weights_only=True)`` may rebuild from our files.

A leaf module (torch, NumPy and mmengine's HistoryBuffer only), so both the
checkpoint writer (``hrnet_tasks.engine.checkpoint``) and the torch-free file
checks (``hrnet_tasks.checkpoint_files``) can use it without importing each other.
See ``hrnet_tasks.engine.checkpoint`` for why each type is here.
"""
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
