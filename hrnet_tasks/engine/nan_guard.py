"""A non-finite loss never reaches the weights, and a run that keeps diverging stops.

``NonFiniteLossGuard`` (mixed into the project's ``OptimWrapper`` and ``AmpOptimWrapper``)
skips the backward pass and the optimizer step of a batch whose loss is NaN or infinite,
so fp32 and bf16 runs do not train on NaN gradients. With fp16 loss scaling the
GradScaler already skips a step with non-finite gradients (and lowers its scale), so
the step is left to it. Under ``--dist`` the ranks agree first (one all-reduce of a
flag), since a rank that skipped its backward would leave the others waiting in DDP's.

``NonFiniteLossHook`` logs each such batch with the loss terms that were non-finite,
counts them (``nonfinite_iters`` in the log) and puts the model's buffers (BatchNorm
running statistics) back as they were before the batch's forward pass, so a skipped
batch leaves no trace. After ``max_consecutive`` in a row (default 10) it stops the run
with one line naming the iteration, the terms and the last good checkpoint
(``tools/train.py`` exits with status 1). The runner adds it when the config does not;
set another limit with
``custom_hooks = [..., dict(type='NonFiniteLossHook', max_consecutive=20)]``.
"""
import math
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper as MMEngineOptimWrapper
from mmengine.runner import EpochBasedTrainLoop

from hrnet_tasks.registry import HOOKS, OPTIM_WRAPPERS


class NonFiniteLoss(RuntimeError):
    """The loss stayed non-finite for ``max_consecutive`` iterations; the message is the
    one line ``tools/train.py`` prints."""


def all_ranks_finite(loss: torch.Tensor) -> bool:
    """Whether ``loss`` is finite on every rank (one all-reduce under distributed runs)."""
    finite = torch.isfinite(loss.detach()).all()
    if torch_dist.is_available() and torch_dist.is_initialized() and \
            torch_dist.get_world_size() > 1:
        flag = finite.to(torch.int32)
        torch_dist.all_reduce(flag, op=torch_dist.ReduceOp.MIN)
        return bool(flag.item())
    return bool(finite)


class NonFiniteLossGuard:
    """Mixin for an mmengine optim wrapper: skip the update of a non-finite loss.

    ``loss_was_finite`` tells the hook what the last ``update_params`` saw;
    ``skips_nonfinite`` is False where a GradScaler handles the step (fp16).
    """
    loss_was_finite: Optional[bool] = None

    @property
    def skips_nonfinite(self) -> bool:
        scaler = getattr(self, 'loss_scaler', None)
        return scaler is None or getattr(self, 'cast_dtype', None) == torch.bfloat16

    def update_params(self, loss: torch.Tensor, step_kwargs: Optional[dict] = None,
                      zero_kwargs: Optional[dict] = None) -> None:
        self.loss_was_finite = all_ranks_finite(loss)
        if self.loss_was_finite or not self.skips_nonfinite:
            return super().update_params(loss, step_kwargs, zero_kwargs)
        # No backward, no step. The accumulation count still advances, and a group of
        # accumulated micro-batches that ends here is dropped with this one.
        self._inner_count += 1
        if self.should_update():
            self.zero_grad(**(zero_kwargs or {}))


@OPTIM_WRAPPERS.register_module()
class OptimWrapper(NonFiniteLossGuard, MMEngineOptimWrapper):
    """mmengine's ``OptimWrapper`` (same name in the project scope) that skips the
    update of a non-finite loss; see the module doc."""


def _nonfinite_terms(outputs) -> list:
    """``name=value`` of the logged loss terms that are NaN or infinite (the total
    ``loss`` only when no term is)."""
    bad = []
    for name, value in (outputs or {}).items():
        if 'loss' in name:
            value = float(value.detach().float().mean()) if torch.is_tensor(value) \
                else float(value)
            if not math.isfinite(value):
                bad.append((name, f'{name}={value}'))
    return [text for name, text in bad if name != 'loss'] or [text for _, text in bad]


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Count the iterations whose loss was non-finite and undo their forward pass's
    buffer updates (BatchNorm running statistics, which a NaN batch would poison); stop
    after ``max_consecutive`` in a row with one line (iteration, non-finite terms, last
    good checkpoint)."""
    priority = 'HIGH'  # before the logger and the checkpoint hook

    def __init__(self, max_consecutive: int = 10):
        if not (isinstance(max_consecutive, int) and max_consecutive >= 1):
            raise ValueError(f'NonFiniteLossHook: max_consecutive must be an int >= 1, got '
                             f'{max_consecutive!r}')
        self.max_consecutive = max_consecutive
        self.in_a_row = 0
        self.total = 0
        self._buffers = []

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._buffers = [(b, b.detach().clone()) for b in runner.model.buffers()]

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        wrapper = runner.optim_wrapper
        finite = getattr(wrapper, 'loss_was_finite', None)
        terms = _nonfinite_terms(outputs)
        if finite is None:  # an optim wrapper without the guard: judge by the logged loss
            finite = not terms
        if finite:
            self.in_a_row = 0
            return
        with torch.no_grad():
            for buffer, before in self._buffers:
                buffer.copy_(before)
        self.in_a_row += 1
        self.total += 1
        runner.message_hub.update_scalar('train/nonfinite_iters', self.total)
        iteration = runner.iter + 1  # 1-based, as the log prints it
        what = ', '.join(terms) or 'loss=nan'
        handled = ('the step was skipped' if getattr(wrapper, 'skips_nonfinite', False)
                   else 'the step is left to the fp16 loss scaler')
        runner.logger.warning(f'iteration {iteration}: non-finite loss ({what}); {handled} '
                              f'({self.in_a_row} in a row, {self.total} in this run)')
        if self.in_a_row >= self.max_consecutive:
            # the skipped iterations left the model as it was, so the newest checkpoint
            # holds the model of the last iteration whose loss was finite
            good = runner.message_hub.get_info('last_ckpt') or (
                f'none saved yet (the run started from {runner._load_from})'
                if runner._load_from else 'none saved yet')
            by_epoch = isinstance(runner.train_loop, EpochBasedTrainLoop)
            where = f'iteration {iteration}' + (f' (epoch {runner.epoch + 1})' if by_epoch else '')
            raise NonFiniteLoss(
                f'training stopped at {where}: the loss was non-finite for {self.in_a_row} '
                f'iterations in a row ({what}); last good checkpoint: {good}; lower the learning '
                'rate or check the data and the loss')
