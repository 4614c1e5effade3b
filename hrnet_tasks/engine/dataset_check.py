"""Model vs dataset check before a run spends compute: e.g. a keypoint head of K outputs on
a dataset of another K fails with one line naming the config key, not with a shape error
inside the loss (or, worse, a silently wrong metric)."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from hrnet_tasks.registry import HOOKS


def _dataset_meta(loader):
    dataset = getattr(loader, 'dataset', None)
    return getattr(dataset, 'metainfo', None)


@HOOKS.register_module()
class DatasetModelCheckHook(Hook):
    """Calls ``model.check_dataset_meta(metainfo, source)`` (models that define it: the
    pose estimators, ``MultiTaskModel``) with the train dataset's metainfo before training
    and the test dataset's before testing; the Runner registers it."""

    priority = 'VERY_HIGH'

    @staticmethod
    def _check(runner, loader, source: str):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        check = getattr(model, 'check_dataset_meta', None)
        meta = _dataset_meta(loader)
        if check is not None and meta is not None:
            check(meta, source)

    def before_train(self, runner) -> None:
        self._check(runner, runner.train_dataloader, 'the train dataset')

    def before_test(self, runner) -> None:
        self._check(runner, runner.test_dataloader, 'the test dataset')
