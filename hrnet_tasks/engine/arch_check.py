"""The HRNet arch check on checkpoint load, as an mmengine hook.

mmengine calls ``after_load_checkpoint(runner, checkpoint)`` with the loaded file
before it copies the weights into the model (``load_from``, ``--resume``), so a
checkpoint of another arch fails here with one message naming both arches
instead of hundreds of shape errors. The check itself belongs to the backbone:
every submodule with a ``check_checkpoint(state, prefix, source)`` method (the
HRNet) checks its part, so the engine needs no import of the models.
"""
from typing import Mapping

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from hrnet_tasks.registry import HOOKS


def check_hrnet_archs(model, state: Mapping, source: str):
    """Raise a readable error when ``state`` holds another HRNet arch than ``model`` (or an
    unconverted official/timm file); ``source`` names the checkpoint in the message."""
    model = model.module if is_model_wrapper(model) else model
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    for name, module in model.named_modules():
        check = getattr(module, 'check_checkpoint', None)
        if callable(check):
            check(state, f'{name}.' if name else '', source)


@HOOKS.register_module()
class HRNetArchCheckHook(Hook):
    """Check every checkpoint the runner loads against the model's HRNet arch.

    The runner of this project adds it to every run; ``Runner.checkpoint_source``
    names the file in the message.
    """

    priority = 'VERY_HIGH'  # before any hook that consumes the loaded checkpoint

    def after_load_checkpoint(self, runner, checkpoint: dict):
        state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else {}
        check_hrnet_archs(runner.model, state,
                          getattr(runner, 'checkpoint_source', None) or 'the checkpoint')
