"""Mixed precision that also runs on CPU.

mmengine's ``AmpOptimWrapper`` asserts a GPU. Ours is registered under the same
name in the project scope, so ``--amp`` (and ``optim_wrapper.type='AmpOptimWrapper'``)
works everywhere: on CUDA it is mmengine's wrapper (fp16 + dynamic loss scaling,
or the requested ``dtype``); on CPU it autocasts to bfloat16, which has fp32's
exponent range and so needs no loss scaling. A non-finite loss skips the update in bf16
(``NonFiniteLossGuard``); in fp16 the GradScaler skips it.
"""
from contextlib import contextmanager

import torch
from mmengine.optim import AmpOptimWrapper as MMEngineAmpOptimWrapper
from mmengine.optim import OptimWrapper

from hrnet_tasks.engine.nan_guard import NonFiniteLossGuard
from hrnet_tasks.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(NonFiniteLossGuard, MMEngineAmpOptimWrapper):
    """See the module doc and hrnet_tasks/engine/nan_guard.py."""

    def __init__(self, loss_scale='dynamic', dtype=None, use_fsdp: bool = False, **kwargs):
        self.on_cpu = not torch.cuda.is_available()
        if not self.on_cpu:
            super().__init__(loss_scale=loss_scale, dtype=dtype, use_fsdp=use_fsdp, **kwargs)
            return
        OptimWrapper.__init__(self, **kwargs)
        if dtype not in (None, 'bfloat16', torch.bfloat16):
            raise ValueError(f'CPU mixed precision supports bfloat16 only, got dtype={dtype!r}')
        self.cast_dtype = torch.bfloat16
        self.loss_scaler = None

    def backward(self, loss: torch.Tensor, **kwargs):
        if self.on_cpu:
            return OptimWrapper.backward(self, loss, **kwargs)
        return super().backward(loss, **kwargs)

    def step(self, **kwargs):
        if self.on_cpu:
            return OptimWrapper.step(self, **kwargs)
        return super().step(**kwargs)

    def state_dict(self) -> dict:
        if self.on_cpu:
            return OptimWrapper.state_dict(self)
        return super().state_dict()

    def load_state_dict(self, state_dict: dict):
        if self.on_cpu:
            state_dict.pop('loss_scaler', None)  # a GPU run resumed on CPU
            return OptimWrapper.load_state_dict(self, state_dict)
        return super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        if not self.on_cpu:
            with super().optim_context(model):
                yield
            return
        with OptimWrapper.optim_context(self, model), \
                torch.autocast(device_type='cpu', dtype=self.cast_dtype):
            yield
