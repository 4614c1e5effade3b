"""``--compile`` for evaluation: mmengine's ``compile=True`` compiles only ``train_step``,
so validation and ``tools/test.py`` would run eager. This hook compiles ``val_step`` and
``test_step`` the same way (``torch.compile`` with the config's ``compile`` options).
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from hrnet_tasks.registry import HOOKS


@HOOKS.register_module()
class CompileEvalHook(Hook):
    """Compile the model's ``val_step`` / ``test_step`` once, before the first use."""

    priority = 'VERY_LOW'

    def _compile(self, runner, step: str):
        import torch
        options = runner.cfg.get('compile')
        if not options:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if getattr(model, f'_compiled_{step}', False):
            return
        options = {} if options is True else dict(options)
        setattr(model, step, torch.compile(getattr(model, step), **options))
        setattr(model, f'_compiled_{step}', True)
        runner.logger.info(f'{step} compiled with torch.compile({options}); the first '
                           'batches are slow while it compiles')

    def before_val(self, runner):
        self._compile(runner, 'val_step')

    def before_test(self, runner):
        self._compile(runner, 'test_step')
