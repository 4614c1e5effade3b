"""The HRNet arch table and everything that names or recognises an arch.

One home for the presets (:data:`ARCH_SETTINGS`), the name of a stage table
(:func:`arch_name`), the stage table stored in a checkpoint
(:func:`infer_hrnet_extra`) and the readable arch-mismatch error
(:func:`check_arch_matches`). Pure functions on dicts and state dicts: the
backbone, the converters, the runner's arch check and the tools import it
without importing each other.
"""
from typing import Dict, List, Mapping, Optional, Sequence

from hrnet_tasks.errors import ConfigError

EXPANSION = {'BASIC': 1, 'BOTTLENECK': 4}
STAGES = ('stage1', 'stage2', 'stage3', 'stage4')


def _stage(num_modules: int, block: str, num_blocks: Sequence[int],
           num_channels: Sequence[int]) -> dict:
    return dict(num_modules=num_modules, num_branches=len(num_blocks), block=block,
                num_blocks=tuple(num_blocks), num_channels=tuple(num_channels))


def _regular(width: int) -> dict:
    """Stage table shared by w18 ... w64: only the branch width changes."""
    w = width
    return dict(stage1=_stage(1, 'BOTTLENECK', (4, ), (64, )),
                stage2=_stage(1, 'BASIC', (4, 4), (w, 2 * w)),
                stage3=_stage(4, 'BASIC', (4, 4, 4), (w, 2 * w, 4 * w)),
                stage4=_stage(3, 'BASIC', (4, 4, 4, 4), (w, 2 * w, 4 * w, 8 * w)))


# The single source of truth for every variant (official experiments/*.yaml).
# ``num_channels`` of stage 1 is the bottleneck width (output = 4x).
ARCH_SETTINGS: Dict[str, dict] = {
    'w18_small_v1': dict(stage1=_stage(1, 'BOTTLENECK', (1, ), (32, )),
                         stage2=_stage(1, 'BASIC', (2, 2), (16, 32)),
                         stage3=_stage(1, 'BASIC', (2, 2, 2), (16, 32, 64)),
                         stage4=_stage(1, 'BASIC', (2, 2, 2, 2), (16, 32, 64, 128))),
    'w18_small_v2': dict(stage1=_stage(1, 'BOTTLENECK', (2, ), (64, )),
                         stage2=_stage(1, 'BASIC', (2, 2), (18, 36)),
                         stage3=_stage(3, 'BASIC', (2, 2, 2), (18, 36, 72)),
                         stage4=_stage(2, 'BASIC', (2, 2, 2, 2), (18, 36, 72, 144))),
    **{f'w{w}': _regular(w) for w in (18, 30, 32, 40, 44, 48, 64)},
}


def stage_table(extra: Mapping) -> dict:
    """``extra`` restricted to the four stages with lists made tuples (comparable)."""
    return {k: {kk: tuple(vv) if isinstance(vv, (list, tuple)) else vv
                for kk, vv in extra[k].items()} for k in STAGES}


def arch_name(extra: Mapping) -> str:
    """Name of the preset equal to ``extra``, or ``'custom'``."""
    table = stage_table(extra)
    for name, setting in ARCH_SETTINGS.items():
        if stage_table(setting) == table:
            return name
    return 'custom'


def stage_out_channels(extra: Mapping) -> List[int]:
    """Branch widths leaving stage 4 (C, 2C, 4C, 8C)."""
    cfg = extra['stage4']
    return [c * EXPANSION[cfg['block']] for c in cfg['num_channels']]


def infer_hrnet_extra(state: Mapping, prefix: str = '') -> Optional[dict]:
    """Recover the stage table of the HRNet stored under ``prefix`` in ``state``.

    Returns ``None`` when there is no HRNet there. Used to name an arch mismatch
    instead of reporting hundreds of shape errors.
    """
    def has(key):
        return prefix + key in state

    if not has('layer1.0.conv1.weight'):
        return None
    n1 = 0
    while has(f'layer1.{n1}.conv1.weight'):
        n1 += 1
    planes = state[prefix + 'layer1.0.conv1.weight'].shape[0]
    block1 = 'BOTTLENECK' if has('layer1.0.conv3.weight') else 'BASIC'
    extra = dict(stage1=_stage(1, block1, (n1, ), (planes, )))
    for k in (2, 3, 4):
        modules = 0
        while has(f'stage{k}.{modules}.branches.0.0.conv1.weight'):
            modules += 1
        if modules == 0:
            return None
        blocks, channels = [], []
        for b in range(k):
            n = 0
            while has(f'stage{k}.0.branches.{b}.{n}.conv1.weight'):
                n += 1
            blocks.append(n)
            channels.append(state[f'{prefix}stage{k}.0.branches.{b}.0.conv1.weight'].shape[0])
        extra[f'stage{k}'] = _stage(modules, 'BASIC', blocks, channels)
    return extra


def describe_extra(extra: Mapping) -> str:
    name = arch_name(extra)
    widths = '/'.join(str(c) for c in extra['stage4']['num_channels'])
    modules = '/'.join(str(extra[f'stage{k}']['num_modules']) for k in (2, 3, 4))
    return f"'{name}' (stage-4 widths {widths}, HR modules {modules})"


def check_arch_matches(model_extra: Mapping, state: Mapping, prefix: str, source: str):
    """Raise a readable error when ``state`` holds an HRNet of a different arch."""
    found = infer_hrnet_extra(state, prefix)
    if found is None:
        return
    name = arch_name(found)
    if name != arch_name(model_extra) or (
            name == 'custom' and stage_table(found) != stage_table(model_extra)):
        advice = (f'Use the config of that arch (configs/cls/hrnet_{name}.py)' if name != 'custom'
                  else f'Build the backbone with extra={stage_table(found)}')
        raise ConfigError(
            f'HRNet arch mismatch: {source} holds HRNet {describe_extra(found)} but the model '
            f'is HRNet {describe_extra(model_extra)}. {advice} or use a checkpoint of this '
            f'arch. Known archs: {", ".join(ARCH_SETTINGS)}.')


def check_checkpoint_layout(model_extra: Mapping, state: Mapping, prefix: str, source: str):
    """:func:`check_arch_matches` for an HRNet stored under ``prefix`` in a full model,
    first rejecting an unconverted official/timm file (backbone keys without the prefix)."""
    if prefix and infer_hrnet_extra(state) is not None and \
            infer_hrnet_extra(state, prefix) is None:
        raise ConfigError(
            f'{source} holds HRNet weights in the official/timm layout (no {prefix!r} prefix); '
            'convert it first: python tools/convert_checkpoint.py --src official|timm IN OUT')
    check_arch_matches(model_extra, state, prefix, source)
