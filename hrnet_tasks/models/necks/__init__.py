"""Necks between the shared HRNet and a task head."""
from .hrfpn import HRFPN

__all__ = ['HRFPN']
