"""Checkpoint converters, one module per task; each has ``convert_checkpoint(state, src)``
returning :class:`~hrnet_tasks.models.converters.common.Converted` (what
``tools/convert_checkpoint.py`` dispatches to with ``--task``)."""
from . import cls, det, face, pose, seg, topdown
from .common import ConversionError, Converted, load_state, unwrap_state_dict

# --task -> converter
TASKS = {'cls': cls.convert_checkpoint, 'pose': pose.convert_checkpoint,
         'seg': seg.convert_checkpoint, 'face': face.convert_checkpoint,
         'det': det.convert_checkpoint, 'topdown': topdown.convert_checkpoint}

__all__ = ['ConversionError', 'Converted', 'TASKS', 'cls', 'det', 'face', 'load_state', 'pose',
           'seg', 'topdown', 'unwrap_state_dict']
