from .arch import ARCH_SETTINGS, arch_name, infer_hrnet_extra, stage_out_channels
from .hrnet import HRNet

__all__ = ['ARCH_SETTINGS', 'HRNet', 'arch_name', 'infer_hrnet_extra', 'stage_out_channels']
