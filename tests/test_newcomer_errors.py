"""Errors a newcomer meets first, each one line that says what to set (issue 18, item 3):
a ``save_best`` metric whose direction nobody can tell, a component type that was never
imported, a config without ``test_pipeline`` for the demo. ``save_best='auto'`` on the
keypoint AP is run end to end in tests/tools/test_tensorboard.py."""
import runpy
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import BaseMetric

from conftest import ROOT
from hrnet_tasks.engine.best_checkpoint import CheckpointHook
from hrnet_tasks.engine.registered_types import check_registered_types
from hrnet_tasks.errors import ConfigError
from hrnet_tasks.evaluation import CocoKeypointMetric, IoUMetric, TaskMetric

ONE_LINE_FIX = ("and neither its metric (best_rule) nor mmengine's name list tells whether "
                "higher or lower is better; set default_hooks.checkpoint.rule='greater' (or "
                "'less')")


class ScoreMetric(BaseMetric):
    """A newcomer's metric: reports ``score``, states no direction."""
    default_prefix = 'my'

    def process(self, data_batch, data_samples):
        pass

    def compute_metrics(self, results):
        return dict(score=1.0)


def _hook_with_metrics(metrics, **kwargs):
    hook = CheckpointHook(interval=1, **kwargs)
    hook._metrics = metrics  # what before_train reads from runner.val_loop.evaluator
    return hook


def test_save_best_rule_comes_from_the_metric():
    for metrics, key in [([CocoKeypointMetric()], 'coco/AP'),
                         ([CocoKeypointMetric(prefix='pose/coco'), IoUMetric(prefix='seg')],
                          'pose/coco/AR .5'),
                         ([TaskMetric('pose', dict(type='CocoKeypointMetric'))], 'pose/coco/AP')]:
        hook = _hook_with_metrics(metrics, save_best='auto')
        hook._init_rule(hook.rules, [key])  # what mmengine does after the first validation
        assert hook.rules == ['greater'], key
    named = CheckpointHook(interval=1, save_best='coco/AP')  # mmengine raised here
    named._metrics = [CocoKeypointMetric()]
    named._init_rule(named._given_rules, named.save_best)
    assert named.rules == ['greater']


def test_save_best_without_a_rule_says_what_to_set():
    hook = _hook_with_metrics([ScoreMetric()], save_best='auto')
    with pytest.raises(ConfigError) as info:
        hook._init_rule(hook.rules, ['my/score'])
    assert str(info.value) == ("default_hooks.checkpoint: save_best='auto' picked the first "
                               f"metric 'my/score', {ONE_LINE_FIX}")
    named = _hook_with_metrics([ScoreMetric()], save_best='my/score')
    with pytest.raises(ConfigError, match="save_best='my/score', and neither"):
        named._init_rule(named._given_rules, named.save_best)
    ruled = _hook_with_metrics([ScoreMetric()], save_best='my/score', rule='less')
    ruled._init_rule(ruled._given_rules, ruled.save_best)
    assert ruled.rules == ['less']


def _tool(path, *argv) -> str:
    """Run tools/<path> in this process; the message it exits with."""
    old = sys.argv
    sys.argv = [path, *argv]
    try:
        with pytest.raises(SystemExit) as info:
            runpy.run_path(f'{ROOT}/{path}', run_name='__main__')
    finally:
        sys.argv = old
    return str(info.value.code)


TINY_CLS = f'{ROOT}/configs/tiny/cls.py'
IMPORT_HINT = ("import the module that defines it in {home}, or name that module in the config: "
               "custom_imports = dict(imports=['your_package.your_module'])")


def test_unregistered_head_names_where_to_import_it(tiny_data, tmp_path):
    message = _tool('tools/train.py', TINY_CLS, '--work-dir', str(tmp_path), '--cfg-options',
                    'model.head.type=NewcomerHead')
    assert message == ("error: model.head.type='NewcomerHead' is not a registered model: "
                       + IMPORT_HINT.format(home='hrnet_tasks/models/heads/__init__.py'))


@pytest.mark.parametrize('key, value, what, home, hint', [
    ('model.heads.pose.type', 'HigherHRNetHaed', 'model', 'hrnet_tasks/models/heads/__init__.py',
     " (did you mean 'HigherHRNetHead'?)"),
    ('model.heads.pose.loss_ae.type', 'NewcomerLoss', 'model',
     'hrnet_tasks/models/losses/__init__.py', ''),
    ('train_dataloader.dataset.pipeline.1.type', 'LoadPersonMsk', 'transform',
     'hrnet_tasks/datasets/transforms/__init__.py', " (did you mean 'LoadPersonMask'?)"),
    ('val_evaluator.1.type', 'NewcomerMetric', 'metric', 'hrnet_tasks/evaluation/__init__.py', ''),
    ('custom_hooks.0.type', 'NewcomerHook', 'hook', 'hrnet_tasks/engine/__init__.py', ''),
])
def test_unregistered_types_of_each_kind(key, value, what, home, hint):
    cfg = Config.fromfile(f'{ROOT}/configs/tiny/multitask.py')
    cfg.merge_from_dict({key: value})
    with pytest.raises(ConfigError) as info:
        check_registered_types(cfg)
    assert str(info.value) == (f'{key}={value!r} is not a registered {what}{hint}: '
                               + IMPORT_HINT.format(home=home))


def test_custom_imports_registers_a_newcomers_head(tmp_path, monkeypatch):
    """The second fix the message offers works: the config imports the head's module."""
    (tmp_path / 'newcomer_head.py').write_text(
        'from hrnet_tasks.models.heads import HRNetClsHead\n'
        'from hrnet_tasks.registry import MODELS\n\n\n'
        '@MODELS.register_module()\n'
        'class NewcomerClsHead(HRNetClsHead):\n'
        '    pass\n')
    (tmp_path / 'cfg.py').write_text(
        f"_base_ = ['{ROOT}/configs/tiny/cls.py']\n"
        "custom_imports = dict(imports=['newcomer_head'], allow_failed_imports=False)\n"
        "model = dict(head=dict(type='NewcomerClsHead'))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    check_registered_types(Config.fromfile(str(tmp_path / 'cfg.py')))


def test_demo_without_test_pipeline_says_what_to_define(tmp_path):
    cfg = tmp_path / 'no_test_pipeline.py'
    cfg.write_text(f"_base_ = ['{ROOT}/configs/_base_/models/hrnet_cls.py']\n"
                   "default_scope = 'hrnet_tasks'\n")
    checkpoint = tmp_path / 'weights.pth'
    torch.save({'state_dict': {}}, checkpoint)
    image = tmp_path / 'photo.png'
    cv2.imwrite(str(image), np.zeros((8, 8, 3), np.uint8))
    message = _tool('tools/demo.py', str(cfg), str(checkpoint), str(image), '--out',
                    str(tmp_path / 'out.png'))
    assert message == (f"error: {cfg} has no test_pipeline, which inference and tools/demo.py "
                       "run on every image: define test_pipeline = [dict(type='LoadImage'), ..., "
                       "dict(type='Pack...Inputs')] in the config, as configs/tiny/pose.py does")
