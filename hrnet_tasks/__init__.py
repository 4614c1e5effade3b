"""hrnet_tasks: one HRNet backbone, many task heads, on mmengine."""
__version__ = '0.1.0'
