"""What every checkpoint converter shares: reading the file, the backbone key pattern,
the conv-bias -> BN fold and the result type the CLI prints.

The fold: a conv bias ``b`` followed by BN with running mean ``mu`` computes
``BN(conv(x) + b)``, which equals ``BN(conv(x))`` with running mean ``mu - b``; so
dropping the bias after lowering the mean is exact (dropping it alone is not).
"""
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, NamedTuple, Optional

import torch

from hrnet_tasks.engine.checkpoint import load_checkpoint_file
from hrnet_tasks.errors import CheckpointError
from hrnet_tasks.models.backbones.arch import arch_name, infer_hrnet_extra

# Top-level modules of an HRNet backbone (official, timm, mmpretrain, mmpose, mmseg and ours).
BACKBONE_KEY = re.compile(r'^(conv1|bn1|conv2|bn2|layer1|transition\d|stage\d)\.')


class ConversionError(Exception):
    """A problem with the input that the converter CLI reports as one line."""


class Converted(NamedTuple):
    state_dict: dict  # our layout
    arch: str  # preset name or 'custom'
    config: Optional[str]  # repo-relative config that builds the matching model
    folded: List[str]  # conv biases folded into BN running means (source names)


def unwrap_state_dict(checkpoint: Mapping) -> Dict[str, torch.Tensor]:
    """The tensor dict inside any of the usual containers, ``module.`` stripped."""
    state = checkpoint
    for key in ('state_dict', 'model', 'net'):
        if isinstance(state, Mapping) and key in state and isinstance(state[key], Mapping):
            state = state[key]
            break
    if not isinstance(state, Mapping) or not state or \
            not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError('checkpoint holds no state dict of tensors (looked at the top level and '
                         "under 'state_dict'/'model'/'net')")
    return OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                       for k, v in state.items())


def load_state(path: str) -> Dict[str, torch.Tensor]:
    """The state dict inside ``path`` (``.pth`` or ``.safetensors``), loaded without running
    code from it; problems raise :class:`ConversionError` with a one-line reason."""
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file  # optional dependency: timm files on the hub
        try:
            checkpoint = load_file(path)
        except Exception as exc:  # safetensors raises its own error types
            raise ConversionError(f'{path}: not a readable safetensors file ({exc})') from None
    else:
        try:
            checkpoint = load_checkpoint_file(path)
        except CheckpointError as exc:  # a refused global or a damaged file, in one line
            raise ConversionError(str(exc)) from None
        except RuntimeError:
            raise ConversionError(f'{path} cannot be read by torch.load(weights_only=True): '
                                  'not a PyTorch checkpoint, or a corrupt one') from None
    try:
        return unwrap_state_dict(checkpoint)
    except ValueError as exc:
        raise ConversionError(f'{path}: {exc}') from None


def fold_biases(state: Dict[str, torch.Tensor], table: Mapping[str, str]) -> List[str]:
    """Fold conv biases into the running mean of the BN after them, in place (exact).

    ``table`` maps bias key -> running-mean key; biases absent from ``state`` are
    skipped (timm *_ssld, mmpretrain and some exports have none). Returns the
    bias keys that were folded.
    """
    folded = []
    for bias_key, mean_key in table.items():
        bias = state.pop(bias_key, None)
        if bias is None:
            continue
        if mean_key not in state:
            raise KeyError(f'{bias_key!r} is present but {mean_key!r}, the BN statistic it '
                           'folds into, is not: incomplete checkpoint')
        state[mean_key] = state[mean_key] - bias.to(state[mean_key].dtype)
        folded.append(bias_key)
    return folded


def unfold_biases(state: Dict[str, torch.Tensor], table: Mapping[str, str],
                  biases: Optional[Mapping[str, torch.Tensor]] = None):
    """Inverse of :func:`fold_biases` for export, in place: add each bias (zero when not
    given) and raise the BN running mean by it, so the function computed is unchanged."""
    for bias_key, mean_key in table.items():
        bias = (biases or {}).get(bias_key)
        if bias is None:
            bias = torch.zeros_like(state[mean_key])
        state[bias_key] = bias.clone()
        state[mean_key] = state[mean_key] + bias


def add_num_batches_tracked(state: Dict[str, torch.Tensor]):
    """Files from PyTorch < 0.4.1 (or MindSpore ports) lack the BN counter; it is 0 then."""
    for key in [k for k in state if k.endswith('.running_mean')]:
        counter = key[:-len('running_mean')] + 'num_batches_tracked'
        if counter not in state:
            state[counter] = torch.tensor(0, dtype=torch.long)


def backbone_arch(state: Mapping[str, torch.Tensor], prefix: str = 'backbone.') -> str:
    """Arch name of the HRNet under ``prefix`` of a converted state dict."""
    extra = infer_hrnet_extra(state, prefix)
    if extra is None:
        raise ConversionError(f'no HRNet backbone found under {prefix!r} after conversion '
                              '(is it an HRNet checkpoint of this task?)')
    return arch_name(extra)
