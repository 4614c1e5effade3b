"""The training-loop side of ``MultiTaskModel``'s loss balancing and gradient-conflict log.

Our ``Runner`` registers ``LossBalanceHook`` by itself for every model with a
``loss_balancer``; nothing to put in a config.
"""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from hrnet_tasks.errors import ConfigError
from hrnet_tasks.models.multitask.loss_balance import (backbone_grad_conflict, batch_head_losses,
                                                       frozen_norm_stats, head_total)
from hrnet_tasks.registry import HOOKS


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class LossBalanceHook(Hook):
    """* before training: a balancing method that cannot train in this setting (FAMO on
      one-task batches of a ``MultiTaskDataset``, or with gradient accumulation) stops the
      run with a one-line error; balancer parameters left in the network's optimizer
      group are warned about;
    * after every iteration: FAMO's update from the losses on the same batch after the
      step (one forward pass, no gradients, batch-norm statistics untouched);
    * after every epoch: the methods' epoch statistics (DWA);
    * every ``model.grad_conflict_interval`` iterations, before the step: each head's
      gradient norm on the shared backbone and their cosines, to the visualizer
      (``conflict/<head>/grad_norm``, ``conflict/cos_<a>_<b>``) and the log.

    Priority NORMAL: before ``CheckpointHook`` (VERY_LOW), so the state a checkpoint holds
    includes the update of the iteration / epoch it is saved after.
    """

    priority = 'NORMAL'

    def before_train(self, runner):
        from hrnet_tasks.datasets.multitask import MultiTaskDataset
        balancer = _unwrap(runner.model).loss_balancer
        dataset = runner.train_dataloader.dataset
        one_task = isinstance(dataset, MultiTaskDataset) and len(dataset.task_names) > 1
        accumulate = int(getattr(runner.optim_wrapper, '_accumulative_counts', 1))
        problem = balancer.problem_in_training(one_task, accumulate)
        if problem:
            raise ConfigError(problem)
        own = {id(p) for p in balancer.parameters()}
        optimizer = getattr(runner.optim_wrapper, 'optimizer', None)
        for group in getattr(optimizer, 'param_groups', []):
            ids = {id(p) for p in group['params']}
            if ids & own and ids - own:
                runner.logger.warning(
                    f"model.loss_balance='{balancer.method}': its parameters share an optimizer "
                    "group with the network; give them their own: optim_wrapper.paramwise_cfg."
                    "custom_keys={'loss_balancer': dict(lr_mult=10.0, decay_mult=0.0)}")
                break

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model = _unwrap(runner.model)
        interval = model.grad_conflict_interval
        if not interval or (runner.iter + 1) % interval:
            return
        scaler = getattr(runner.optim_wrapper, 'loss_scaler', None)
        scale = float(scaler.get_scale()) if hasattr(scaler, 'get_scale') else 1.0
        with frozen_norm_stats(model):
            with runner.optim_wrapper.optim_context(runner.model):
                raw = batch_head_losses(model, data_batch)
            stats = backbone_grad_conflict(model, raw, scale)
        if not all(torch.isfinite(torch.tensor(v)) for v in stats.values()):
            return  # an fp16 overflow: the step itself is skipped by the scaler too
        runner.visualizer.add_scalars(stats, step=runner.iter + 1)
        runner.logger.info(f'iter {runner.iter + 1} gradient conflict on the backbone: '
                           + ', '.join(f'{k[len("conflict/"):]} {v:.4g}'
                                       for k, v in stats.items()))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        model = _unwrap(runner.model)
        if not model.loss_balancer.needs_losses_after_step:
            return
        with torch.no_grad(), frozen_norm_stats(model), \
                runner.optim_wrapper.optim_context(runner.model):
            raw = batch_head_losses(model, data_batch)
        model.loss_balancer.after_step({n: head_total(t) for n, t in raw.items()})

    def after_train_epoch(self, runner):
        _unwrap(runner.model).loss_balancer.end_epoch()
