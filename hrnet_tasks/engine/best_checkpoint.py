"""mmengine's ``CheckpointHook`` with the ``save_best`` rule taken from the metric.

mmengine infers whether a ``save_best`` metric is better when greater or when less from a
list of name fragments (``acc``, ``top``, ``mIoU``, ``loss``, ...). ``coco/AP`` is not in
it, so ``save_best='auto'`` (configs/_base_/default_runtime.py) crashed after the first
validation of a run whose first metric is a keypoint AP ("Cannot infer the rule for key
coco/AP"). Here a metric class states its direction in ``best_rule`` (``'greater'`` or
``'less'``, for every key it reports); a key neither the metric nor mmengine's list can
place stops the run with one line naming the key and the setting to add.
"""
from typing import List, Optional

from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook

from hrnet_tasks.errors import ConfigError
from hrnet_tasks.registry import HOOKS


def metric_rule(metrics: list, key: str) -> Optional[str]:
    """The ``best_rule`` of the metric that reports ``key`` (prefixed as the evaluator
    reports it), or None when no metric of ``metrics`` states one for it."""
    prefixed = [m for m in metrics if m.prefix and key.startswith(f'{m.prefix}/')]
    owners = prefixed or [m for m in metrics if not m.prefix]
    rules = {getattr(m, 'best_rule', None) for m in owners}
    return rules.pop() if len(rules) == 1 else None


@HOOKS.register_module()
class CheckpointHook(MMEngineCheckpointHook):
    """``save_best`` with ``rule=None`` asks the metric reporting the key first (its
    ``best_rule``), then mmengine's name list; a key neither can place raises a
    :class:`ConfigError` that says to set ``default_hooks.checkpoint.rule``.

    A named key is resolved in ``before_train``, once the validation metrics are built
    (before any training step); ``'auto'`` after the first validation, as in mmengine.
    """
    _metrics: Optional[list] = None  # the validation metrics, known from before_train

    def before_train(self, runner) -> None:
        self._metrics = list(runner.val_loop.evaluator.metrics) \
            if runner._val_loop is not None else []
        if self.save_best and 'auto' not in self.save_best:
            self._init_rule(self._given_rules, self.save_best)
        super().before_train(runner)

    def _init_rule(self, rules, key_indicators) -> None:
        if self._metrics is None:  # at construction: keep the rules for before_train
            self._given_rules = rules
            self.rules, self.key_indicators = list(rules), key_indicators
            return
        rules = list(rules) * len(key_indicators) if len(rules) == 1 else list(rules)
        resolved = [metric_rule(self._metrics, key) if rule is None and key != 'auto' else rule
                    for rule, key in zip(rules, key_indicators)]
        try:
            super()._init_rule(resolved, key_indicators)
        except ValueError as exc:
            if 'Cannot infer the rule' not in str(exc):
                raise
            unknown = key_indicators[len(self.rules)]  # mmengine stops at the first it cannot
            picked = (f"save_best='auto' picked the first metric {unknown!r}"
                      if 'auto' in self.save_best else f'save_best={unknown!r}')
            raise ConfigError(
                f"default_hooks.checkpoint: {picked}, and neither its metric (best_rule) nor "
                "mmengine's name list tells whether higher or lower is better; set "
                "default_hooks.checkpoint.rule='greater' (or 'less')") from None
