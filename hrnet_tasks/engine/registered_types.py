"""Every component ``type`` of a config is registered, or one line says where to import it.

A head, transform, metric, dataset or hook class that is written but never imported is
not in its registry, and mmengine's build then fails deep in ``Runner.from_cfg`` with a
``KeyError ... is not in the model registry`` traceback. ``check_registered_types``
looks each component up first (after ``register_all_modules``, before any model is
built) and names the config key, the registry, the ``__init__.py`` that imports the
project's modules of that kind, and the ``custom_imports`` alternative.
"""
import difflib
from typing import Iterator, Tuple

from hrnet_tasks.errors import ConfigError

# registry attribute of hrnet_tasks.registry -> (what it holds, the package that imports them)
HOMES = {
    'MODELS': ('model', 'hrnet_tasks/models/__init__.py'),
    'DATASETS': ('dataset', 'hrnet_tasks/datasets/__init__.py'),
    'DATA_SAMPLERS': ('data sampler', 'hrnet_tasks/datasets/__init__.py'),
    'TRANSFORMS': ('transform', 'hrnet_tasks/datasets/transforms/__init__.py'),
    'METRICS': ('metric', 'hrnet_tasks/evaluation/__init__.py'),
    'HOOKS': ('hook', 'hrnet_tasks/engine/__init__.py'),
}
# a model part -> the package of the project's classes of that part
MODEL_PART_HOMES = (('head', 'hrnet_tasks/models/heads/__init__.py'),
                    ('backbone', 'hrnet_tasks/models/backbones/__init__.py'),
                    ('loss', 'hrnet_tasks/models/losses/__init__.py'))
MODEL_PARTS = ('backbone', 'neck', 'head', 'decode_head', 'auxiliary_head', 'data_preprocessor')


def _typed(cfg) -> bool:
    return isinstance(cfg, dict) and isinstance(cfg.get('type'), str)


def _model_slots(model: dict, path: str) -> Iterator[Tuple[str, dict]]:
    if not _typed(model):
        return
    yield path, model
    parts = [(f'{path}.{k}', model[k]) for k in MODEL_PARTS if k in model]
    if isinstance(model.get('heads'), dict):
        parts += [(f'{path}.heads.{name}', head) for name, head in model['heads'].items()]
    for part_path, part in parts:
        for i, cfg in enumerate(part) if isinstance(part, (list, tuple)) else [(None, part)]:
            sub = part_path if i is None else f'{part_path}.{i}'
            if not _typed(cfg):
                continue
            yield sub, cfg
            # a part's own losses (loss=..., loss_heatmap=..., loss_ae=...)
            yield from ((f'{sub}.{k}', v) for k, v in cfg.items()
                        if k.startswith('loss') and _typed(v))


def _dataset_slots(ds, path: str) -> Iterator[Tuple[str, str, dict]]:
    if not _typed(ds):
        return
    yield 'DATASETS', path, ds
    for i, step in enumerate(ds.get('pipeline') or []):
        if _typed(step):
            yield 'TRANSFORMS', f'{path}.pipeline.{i}', step
    if 'dataset' in ds:
        yield from _dataset_slots(ds['dataset'], f'{path}.dataset')
    for i, sub in enumerate(ds.get('datasets') or []):
        yield from _dataset_slots(sub, f'{path}.datasets.{i}')
    if isinstance(ds.get('tasks'), dict):
        for name, sub in ds['tasks'].items():
            yield from _dataset_slots(sub, f'{path}.tasks.{name}')


def component_slots(cfg) -> Iterator[Tuple[str, str, dict]]:
    """(registry name, config key, component config) of every component the runner and
    the inference API build from ``cfg``."""
    for path, part in _model_slots(cfg.get('model'), 'model'):
        yield 'MODELS', path, part
    for name in ('train_pipeline', 'val_pipeline', 'test_pipeline'):
        for i, step in enumerate(cfg.get(name) or []):
            if _typed(step):
                yield 'TRANSFORMS', f'{name}.{i}', step
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader') or {}
        for key in ('sampler', 'batch_sampler'):
            if _typed(loader.get(key)):
                yield 'DATA_SAMPLERS', f'{split}_dataloader.{key}', loader[key]
        yield from _dataset_slots(loader.get('dataset'), f'{split}_dataloader.dataset')
        evaluator = cfg.get(f'{split}_evaluator')
        metrics = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
        for i, metric in enumerate(metrics):
            path = f'{split}_evaluator' + (f'.{i}' if isinstance(evaluator, (list, tuple)) else '')
            if _typed(metric):
                yield 'METRICS', path, metric
                if _typed(metric.get('metric')):  # TaskMetric's wrapped metric
                    yield 'METRICS', f'{path}.metric', metric['metric']
    for name, hook in (cfg.get('default_hooks') or {}).items():
        if _typed(hook):
            yield 'HOOKS', f'default_hooks.{name}', hook
    for i, hook in enumerate(cfg.get('custom_hooks') or []):
        if _typed(hook):
            yield 'HOOKS', f'custom_hooks.{i}', hook


def _names(registry) -> list:
    names = []
    while registry is not None:
        names += list(registry.module_dict)
        registry = registry.parent
    return names


def check_registered_types(cfg):
    """Raise a one-line :class:`ConfigError` for the first component whose ``type`` is not
    registered, naming the config key, where to import it and the closest registered name."""
    from hrnet_tasks import registry as registries
    for registry_name, path, part in component_slots(cfg):
        registry = getattr(registries, registry_name)
        type_name = part['type']
        if registry.get(type_name) is not None:
            continue
        what, home = HOMES[registry_name]
        if registry_name == 'MODELS':
            leaf = [p for p in path.split('.') if not p.isdigit()][-1]
            if path.startswith('model.heads.') and '.' not in path[len('model.heads.'):]:
                leaf = 'head'  # a named head of MultiTaskModel
            home = next((h for part_name, h in MODEL_PART_HOMES if part_name in leaf), home)
        close = difflib.get_close_matches(type_name, _names(registry), n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]!r}?)" if close else ''
        raise ConfigError(
            f"{path}.type={type_name!r} is not a registered {what}{hint}: import the module that "
            f"defines it in {home}, or name that module in the config: "
            "custom_imports = dict(imports=['your_package.your_module'])")
