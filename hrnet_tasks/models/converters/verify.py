"""Check a converted state dict against the model of its config (keys and shapes)."""
import os.path as osp
from typing import List

from mmengine.config import Config

from hrnet_tasks.models.converters.common import ConversionError, Converted
from hrnet_tasks.registry import MODELS
from hrnet_tasks.utils import register_all_modules


def verify(converted: Converted, root: str) -> List[str]:
    """Build the model of ``converted.config`` (relative to ``root``) and check that every
    key and shape matches.

    Returns notes for differences that a config option absorbs (class count);
    raises :class:`ConversionError` for anything else.
    """
    register_all_modules()
    model = MODELS.build(Config.fromfile(osp.join(root, converted.config)).model)
    own = model.state_dict()
    state = converted.state_dict
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        raise ConversionError(
            f'converted keys do not match {converted.config}: '
            f'{len(missing)} missing ({", ".join(missing[:5])}), '
            f'{len(unexpected)} unexpected ({", ".join(unexpected[:5])})')
    notes = []
    for key, value in state.items():
        if tuple(value.shape) == tuple(own[key].shape):
            continue
        if key == 'head.fc.weight':
            notes.append(f'the head has {value.shape[0]} classes, the config '
                         f'{own[key].shape[0]}: set model.head.num_classes={value.shape[0]}')
        elif key != 'head.fc.bias':
            raise ConversionError(f'{key}: shape {tuple(value.shape)} in the checkpoint, '
                                  f'{tuple(own[key].shape)} in {converted.config}')
    return notes
