from .hrnet import ARCH_SETTINGS, HRNet, arch_name, stage_out_channels

__all__ = ['ARCH_SETTINGS', 'HRNet', 'arch_name', 'stage_out_channels']
