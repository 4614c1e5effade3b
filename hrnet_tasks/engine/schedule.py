"""Resume with a changed schedule (e.g. 100 -> 120 epochs): follow the new config.

mmengine clips a scheduler's unset ``end`` to ``train_cfg.max_epochs`` (an unset
``T_max`` follows ``end``), and ``load_state_dict`` restores the checkpoint's
values, so a run resumed with a longer schedule keeps the old ``end``: the
scheduler stops stepping and the learning rate freezes. Here the bounds come
from the new config and the progress (``last_step``, the step counter, the
current values) from the checkpoint. The step that the old ``end`` skipped
(the one after the last epoch of the first run) is applied, so an extended run
follows the same curve as one started with the longer schedule whenever the
curve itself does not depend on ``end`` (e.g. a cosine with a fixed ``T_max``);
when it does (``T_max`` unset), the curve continues from the current value to
the new end. A resume that changes nothing is untouched, hence bit-exact.
"""
from typing import List, Optional

from mmengine.optim.scheduler.param_scheduler import ReduceOnPlateauParamScheduler

# What mmengine derives from max_epochs / max_iters; everything else is progress.
BOUND_KEYS = ('begin', 'end', 'T_max', 'total_steps')


def _flat(schedulers) -> list:
    if isinstance(schedulers, dict):
        return [s for group in schedulers.values() for s in group]
    return list(schedulers or [])


def schedule_bounds(schedulers) -> Optional[List[dict]]:
    """The bound attributes of built schedulers (None while they are still configs)."""
    flat = _flat(schedulers)
    if not flat or any(isinstance(s, dict) for s in flat):
        return None
    return [{k: getattr(s, k) for k in BOUND_KEYS if hasattr(s, k)} for s in flat]


def _apply_skipped_steps(scheduler) -> int:
    """Apply the updates that ``scheduler`` would have made under its current bounds
    at the steps already counted (``_global_step``) but outside its old range."""
    if isinstance(scheduler, ReduceOnPlateauParamScheduler):
        return 0  # driven by a metric, not by the step count
    step = scheduler._global_step
    expected = min(step, scheduler.end - 1) - scheduler.begin if step >= scheduler.begin else -1
    applied = 0
    while scheduler.last_step < expected:
        scheduler.last_step += 1
        values = scheduler._get_value()
        for group, value in zip(scheduler.optimizer.param_groups, values):
            group[scheduler.param_name] = value
        applied += 1
    if applied:
        scheduler._last_value = [g[scheduler.param_name] for g in scheduler.optimizer.param_groups]
    return applied


def follow_config_schedule(schedulers, config_bounds: Optional[List[dict]]) -> List[str]:
    """After a resume loaded the checkpoint's scheduler states: put back the bounds of
    the config (``config_bounds``, read before loading) where they differ, and apply
    the steps the old bounds skipped. Returns one message per changed scheduler."""
    if config_bounds is None:
        return []
    changes = []
    for scheduler, bounds in zip(_flat(schedulers), config_bounds):
        differ = {k: (getattr(scheduler, k), v) for k, v in bounds.items()
                  if getattr(scheduler, k) != v}
        if not differ:
            continue
        before = list(scheduler.get_last_value())
        for key, (_, new) in differ.items():
            setattr(scheduler, key, new)
        applied = _apply_skipped_steps(scheduler)
        text = (f'{type(scheduler).__name__} ({scheduler.param_name}): '
                + ', '.join(f'{k} {old} -> {new}' for k, (old, new) in differ.items()))
        if applied:
            after = scheduler.get_last_value()
            text += (f'; applied {applied} step(s) the old bounds skipped: '
                     f'{scheduler.param_name} {before[0]:.4e} -> {after[0]:.4e}')
        changes.append(text)
    return changes
