"""Registries of hrnet_tasks.

Every registry is a child of the matching mmpretrain registry (which in turn are
children of mmengine's roots). With ``default_scope = 'hrnet_tasks'`` a config
finds our components first and falls back to mmpretrain's and mmengine's, so
``dict(type='ImageClassifier')`` or ``dict(type='Accuracy')`` just work; from
an mmpretrain scope our components are reachable as ``'hrnet_tasks.HRNet'``.
"""
from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry

SCOPE = 'hrnet_tasks'


def _child(name: str, parent: Registry, location: str) -> Registry:
    return Registry(name, parent=parent, scope=SCOPE, locations=[f'{SCOPE}.{location}'])


RUNNERS = _child('runner', mmpretrain_registry.RUNNERS, 'engine')
LOOPS = _child('loop', mmpretrain_registry.LOOPS, 'engine')
HOOKS = _child('hook', mmpretrain_registry.HOOKS, 'engine')
OPTIMIZERS = _child('optimizer', mmpretrain_registry.OPTIMIZERS, 'engine')
OPTIM_WRAPPERS = _child('optim_wrapper', mmpretrain_registry.OPTIM_WRAPPERS, 'engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    mmpretrain_registry.OPTIM_WRAPPER_CONSTRUCTORS, 'engine')
PARAM_SCHEDULERS = _child('parameter scheduler', mmpretrain_registry.PARAM_SCHEDULERS, 'engine')
DATASETS = _child('dataset', mmpretrain_registry.DATASETS, 'datasets')
DATA_SAMPLERS = _child('data sampler', mmpretrain_registry.DATA_SAMPLERS, 'datasets')
TRANSFORMS = _child('transform', mmpretrain_registry.TRANSFORMS, 'datasets.transforms')
MODELS = _child('model', mmpretrain_registry.MODELS, 'models')
MODEL_WRAPPERS = _child('model_wrapper', mmpretrain_registry.MODEL_WRAPPERS, 'models')
WEIGHT_INITIALIZERS = _child('weight initializer', mmpretrain_registry.WEIGHT_INITIALIZERS,
                             'models')
TASK_UTILS = _child('task util', mmpretrain_registry.TASK_UTILS, 'codecs')
METRICS = _child('metric', mmpretrain_registry.METRICS, 'evaluation')
EVALUATORS = _child('evaluator', mmpretrain_registry.EVALUATORS, 'evaluation')
VISUALIZERS = _child('visualizer', mmpretrain_registry.VISUALIZERS, 'apis')
VISBACKENDS = _child('vis_backend', mmpretrain_registry.VISBACKENDS, 'apis')
