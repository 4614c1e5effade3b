"""hrnet_tasks: one HRNet backbone, many task heads, on mmengine."""
import os

# albumentations (imported by mmpretrain.datasets) asks PyPI for a newer version on every
# import (an HTTP request with a 2 s timeout); a training run has no use for the answer
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')

__version__ = '0.1.0'
