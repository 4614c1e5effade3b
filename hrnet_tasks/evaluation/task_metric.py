"""One task's metric inside a multi-task validation: its samples only, keys prefixed."""
from typing import Optional, Sequence

from mmengine.dist import all_gather_object, broadcast_object_list, is_main_process
from mmengine.evaluator import BaseMetric

from hrnet_tasks.registry import METRICS


def _field(sample, key):
    return sample.get(key) if isinstance(sample, dict) else sample.metainfo.get(key)


@METRICS.register_module()
class TaskMetric(BaseMetric):
    """Run ``metric`` on the samples whose metainfo ``task`` is ``task``; every key
    becomes ``<task>/<the metric's key>`` (e.g. ``cls/accuracy/top1``, ``seg/mIoU``).

    Used with :class:`MultiTaskDataset` / :class:`MixedTaskBatchSampler`: each sample is
    counted once by its ``task_index``, also when several ranks evaluated padded copies
    of it, so the counts are exact under ``--dist`` whatever each task's size.

    Args:
        task (str): the task (dataset name in ``MultiTaskDataset.tasks``).
        metric (dict): the task's metric config (e.g. ``dict(type='Accuracy')``).
    """

    def __init__(self, task: str, metric: dict, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix or task)
        self.task = task
        self.metric = METRICS.build(metric)

    @property
    def best_rule(self) -> Optional[str]:
        """The wrapped metric's direction, for ``save_best`` (hrnet_tasks.engine.CheckpointHook)."""
        return getattr(self.metric, 'best_rule', None)

    @property
    def dataset_meta(self) -> Optional[dict]:
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, meta: Optional[dict]) -> None:
        # a MultiTaskDataset's metainfo maps task -> metainfo; a plain dataset's is its own
        if isinstance(meta, dict) and isinstance(meta.get(self.task), dict):
            meta = meta[self.task]
        self._dataset_meta = meta
        self.metric.dataset_meta = meta

    def process(self, data_batch, data_samples: Sequence) -> None:
        mine = [s for s in data_samples if _field(s, 'task') == self.task]
        if not mine:
            return
        before = len(self.metric.results)
        self.metric.process(data_batch, mine)
        new = self.metric.results[before:]
        del self.metric.results[before:]
        if len(new) != len(mine):
            raise RuntimeError(f'TaskMetric({self.task!r}): {type(self.metric).__name__} stored '
                               f'{len(new)} results for {len(mine)} samples; it needs one per '
                               'sample to count each sample once')
        for sample, result in zip(mine, new):
            key = _field(sample, 'task_index')
            if key is None:
                key = _field(sample, 'img_path')
            self.results.append((key, result))

    def compute_metrics(self, results: list) -> dict:
        unique = {}
        for key, result in results:
            unique.setdefault(key, result)
        metrics = self.metric.compute_metrics([unique[k] for k in sorted(unique)])
        inner = self.metric.prefix
        return {f'{inner}/{k}' if inner else k: v for k, v in metrics.items()}

    def evaluate(self, size: int) -> dict:
        # Ranks hold rank-strided, padded parts of this task only: gather them all (the
        # base class truncates to the whole dataset's size, which is not this task's).
        results = [r for part in all_gather_object(self.results) for r in part]
        metrics = [None]
        if is_main_process():
            metrics = [{f'{self.prefix}/{k}': v for k, v in
                        self.compute_metrics(results).items()}]
        broadcast_object_list(metrics)
        self.results.clear()
        return metrics[0]
