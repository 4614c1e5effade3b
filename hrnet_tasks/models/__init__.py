from .backbones import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .heads.higherhrnet_head import HigherHRNetHead  # noqa: F401
from .losses import *  # noqa: F401,F403
from .pose_estimators import *  # noqa: F401,F403
from .fuse import optimize_for_inference  # noqa: F401
