"""Inference on images from Python: ``init_model`` + ``inference`` for every task.

Each task registers a :class:`TaskAdapter` (which model types it serves, how
to turn a batch of images into typed results, how to draw one result), so
``tools/demo.py`` and user code stay task-agnostic.
"""
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate

from hrnet_tasks.utils import register_all_modules

ImageLike = Union[str, np.ndarray]


@dataclass
class TaskAdapter:
    name: str
    model_types: tuple
    infer: Callable  # (model, list of images) -> list of results
    # (image BGR array, result, model, style: hrnet_tasks.apis.drawing.DrawStyle) -> BGR array
    draw: Callable
    # (result, style) -> the part of the result the picture shows (e.g. the people above the
    # score threshold), which tools/demo.py prints; None: all of it
    shown: Optional[Callable] = None
    # narrows model_types (e.g. a top-down model trained on faces); such adapters are tried first
    accepts: Optional[Callable] = None  # (model) -> bool
    # per-instance models: (model, image, boxes (P, 4) x1 y1 x2 y2, box scores (P,)) -> result,
    # what tools/demo.py --bboxes calls (None: apis.topdown.inference_topdown)
    infer_boxes: Optional[Callable] = None


TASKS: Dict[str, TaskAdapter] = {}


def register_task(adapter: TaskAdapter):
    TASKS[adapter.name] = adapter
    return adapter


def task_of(model: torch.nn.Module) -> TaskAdapter:
    adapters = sorted(TASKS.values(), key=lambda a: a.accepts is None)
    for adapter in adapters:
        if isinstance(model, adapter.model_types) and (adapter.accepts is None
                                                        or adapter.accepts(model)):
            return adapter
    raise TypeError(f'no inference adapter for {type(model).__name__}; '
                    f'registered tasks: {", ".join(TASKS)}')


def init_model(config: Union[str, Config], checkpoint: Optional[str] = None,
               device: str = 'cpu', cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """Build the config's model, load ``checkpoint`` (HRNet arch checked) and set eval mode."""
    register_all_modules()
    from hrnet_tasks.engine.arch_check import check_hrnet_archs
    from hrnet_tasks.engine.checkpoint import load_checkpoint_file
    from hrnet_tasks.engine.registered_types import check_registered_types
    from hrnet_tasks.models.converters.common import unwrap_state_dict
    from hrnet_tasks.registry import MODELS
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    check_registered_types(cfg)
    model = MODELS.build(cfg.model)
    if checkpoint:
        ckpt = load_checkpoint_file(checkpoint)
        state = unwrap_state_dict(ckpt)
        check_hrnet_archs(model, state, checkpoint)
        model.load_state_dict(state, strict=True)
        meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
        model.dataset_meta = meta.get('dataset_meta')
    else:
        model.init_weights()
    model.cfg = cfg
    return model.to(device).eval()


def optimize_model(model: torch.nn.Module, bf16: Optional[bool] = None) -> torch.nn.Module:
    """Eval-only speed-up for :func:`inference`: BN folded into the convs, channels_last,
    and bf16 autocast where it is fast.

    ``bf16=None`` picks bf16 on CUDA and on a CPU with native bf16 (avx512_bf16 / AMX),
    fp32 elsewhere. ``bf16=True`` on a CPU without native bf16 warns and uses fp32: there
    oneDNN emulates bf16 and channels_last fp32 is the faster choice. Returns a new
    model (the original keeps its BNs and can still be trained).
    """
    from hrnet_tasks.cpu_capability import native_bf16, warn_if_emulated_bf16
    from hrnet_tasks.models.fuse import optimize_for_inference
    device = next(model.parameters()).device
    on_cpu = device.type == 'cpu'
    if bf16 and on_cpu and warn_if_emulated_bf16('optimize_model(bf16=True)'):
        bf16 = False
    elif bf16 is None:
        bf16 = not on_cpu or native_bf16()
    fast = optimize_for_inference(model).to(memory_format=torch.channels_last)
    fast.cfg, fast.dataset_meta = model.cfg, getattr(model, 'dataset_meta', None)
    fast.inference_dtype = torch.bfloat16 if bf16 else None
    return fast


def require_test_pipeline(cfg: Config):
    """One-line :class:`ConfigError` when the config has no ``test_pipeline``."""
    if not cfg.get('test_pipeline'):
        from hrnet_tasks.errors import ConfigError
        raise ConfigError(
            f'{cfg.filename or "the config"} has no test_pipeline, which inference and '
            "tools/demo.py run on every image: define test_pipeline = [dict(type='LoadImage'), "
            "..., dict(type='Pack...Inputs')] in the config, as configs/tiny/pose.py does")


def build_test_pipeline(cfg: Config, from_array: bool) -> Compose:
    """The config's test pipeline; for in-memory images the loading step is dropped."""
    require_test_pipeline(cfg)
    steps = [dict(t) for t in cfg.test_pipeline]
    if from_array:
        steps = [t for t in steps if not t['type'].startswith('Load')]
    return Compose(steps)


def load_inputs(images: Sequence[ImageLike], pipeline_path: Compose, pipeline_array: Compose):
    """Run each image (path or HxWx3 BGR array) through the test pipeline."""
    data = []
    for image in images:
        if isinstance(image, str):
            data.append(pipeline_path(dict(img_path=image)))
        else:
            image = np.ascontiguousarray(image)
            data.append(pipeline_array(dict(img=image, img_shape=image.shape[:2],
                                            ori_shape=image.shape[:2])))
    return data


def inference(model: torch.nn.Module, images: Union[ImageLike, Sequence[ImageLike]],
              batch_size: int = 8) -> Union[object, List[object]]:
    """Typed results for one image (path or BGR array) or a list of them, in batches."""
    single = isinstance(images, (str, np.ndarray))
    batch = [images] if single else list(images)
    adapter = task_of(model)
    results = []
    for start in range(0, len(batch), batch_size):
        results += adapter.infer(model, batch[start:start + batch_size])
    return results[0] if single else results


def collate_and_predict(model, data: list):
    dtype = getattr(model, 'inference_dtype', None)  # set by optimize_model
    device = next(model.parameters()).device.type
    with torch.inference_mode(), torch.autocast(device, dtype=dtype, enabled=dtype is not None):
        return model.test_step(pseudo_collate(data))
