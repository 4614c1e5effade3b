from .backbones import *  # noqa: F401,F403
from .classifiers import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .pose_estimators import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .fuse import optimize_for_inference  # noqa: F401
from .multitask import *  # noqa: F401,F403
