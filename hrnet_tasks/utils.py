"""Project set-up shared by tools, APIs and tests."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True):
    """Import every module that registers components and make ``hrnet_tasks`` the scope.

    mmpretrain's registries are imported too, so its classifiers, necks, heads,
    transforms and metrics resolve from our configs.
    """
    warnings.filterwarnings('ignore', message='Fail to import ``MultiScaleDeformableAttention``')
    import mmpretrain.datasets  # noqa: F401
    import mmpretrain.engine  # noqa: F401
    import mmpretrain.evaluation  # noqa: F401
    import mmpretrain.models  # noqa: F401
    import mmpretrain.visualization  # noqa: F401

    import hrnet_tasks.datasets  # noqa: F401
    import hrnet_tasks.engine  # noqa: F401
    import hrnet_tasks.evaluation  # noqa: F401
    import hrnet_tasks.models  # noqa: F401
    if init_default_scope:
        current = DefaultScope.get_current_instance()
        if current is None or current.scope_name != 'hrnet_tasks':
            DefaultScope.get_instance(f'hrnet_tasks-{datetime.datetime.now()}',
                                      scope_name='hrnet_tasks')
