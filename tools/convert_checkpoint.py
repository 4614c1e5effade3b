"""Convert a released HRNet checkpoint into this project's layout.

    python tools/convert_checkpoint.py --src {official,timm,mmpretrain} [--task cls] IN OUT

IN may be a plain state dict (official HRNet-Image-Classification and timm
releases), a ``{'state_dict': ...}`` container (mmpretrain, official
``checkpoint.pth.tar``) or a ``.safetensors`` file (timm on the HF hub). It is
read with ``torch.load(weights_only=True)``, so no code from the file runs.
OUT is ``{'meta': {...}, 'state_dict': ...}`` and loads strictly into the model
of the printed config (``--load-from OUT`` or ``load_checkpoint(model, OUT,
strict=True)``). Official/timm head conv biases are folded into the following
BN running means, which is exact (see hrnet_tasks/models/convert.py).

Tasks: each entry of ``TASKS`` maps a task name to a converter
``fn(state, src) -> Converted``; pose/segmentation add theirs there.
"""
import argparse
import os.path as osp
import re
import sys
import warnings
from typing import Callable, Dict, List, NamedTuple, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)  # run from a checkout
warnings.filterwarnings('ignore', message='Fail to import ``MultiScaleDeformableAttention``')

SOURCES = ('official', 'timm', 'mmpretrain')


class ConversionError(Exception):
    """A problem with the input that the tool reports as one line."""


class Converted(NamedTuple):
    state_dict: dict  # our layout
    arch: str  # preset name or 'custom'
    config: Optional[str]  # repo-relative config that builds the matching model
    folded: List[str]  # head conv biases folded into BN running means (source names)


def _one_line(text: str, limit: int = 400) -> str:
    text = ' '.join(str(text).split())
    return text if len(text) <= limit else text[:limit] + ' ...'


def _hrnet_arch(state: dict, prefix: str) -> str:
    from hrnet_tasks.models.backbones.hrnet import arch_name
    from hrnet_tasks.models.convert import infer_hrnet_extra
    extra = infer_hrnet_extra(state, prefix)
    if extra is None:
        raise ConversionError(f'no HRNet backbone found under {prefix!r} after conversion '
                              '(is it an HRNet checkpoint of this task?)')
    return arch_name(extra)


def convert_cls(state: dict, src: str) -> Converted:
    """ImageNet classification (official, timm, mmpretrain) -> configs/cls/hrnet_<arch>.py."""
    from hrnet_tasks.models.convert import convert, head_biases
    folded = head_biases(state, src)
    try:
        out = convert(state, src)
    except KeyError as exc:
        raise ConversionError(exc.args[0] if exc.args else str(exc)) from None
    arch = _hrnet_arch(out, 'backbone.')
    config = None if arch == 'custom' else f'configs/cls/hrnet_{arch}.py'
    return Converted(out, arch, config, folded)


def convert_pose(state: dict, src: str) -> Converted:
    """Official HigherHRNet (or mmpose 0.x) -> configs/pose/higherhrnet_<arch>_coco_*.py."""
    from hrnet_tasks.models.pose_estimators.convert import pose_official_to_ours
    if src != 'official':
        raise ConversionError(f'--task pose converts --src official checkpoints (official '
                              f'HigherHRNet or mmpose 0.x), not {src!r}')
    out = pose_official_to_ours(state)
    if not any(k.startswith('head.final_layers.') for k in out):
        raise ConversionError('no final_layers.* in the checkpoint: not a HigherHRNet pose model')
    arch = _hrnet_arch(out, 'backbone.')
    config = {'w32': 'configs/pose/higherhrnet_w32_coco_512.py',
              'w48': 'configs/pose/higherhrnet_w48_coco_640.py'}.get(arch)
    return Converted(out, arch, config, [])


def convert_seg(state: dict, src: str) -> Converted:
    """Official HRNet-Semantic-Segmentation HRNetV2 / HRNetV2+OCR -> configs/seg/*.py
    (19 classes -> the Cityscapes config, 150 -> ADE20K)."""
    if src != 'official':
        raise ConversionError(f'--task seg converts official HRNet-Semantic-Segmentation '
                              f'checkpoints (--src official), not {src!r}')
    from hrnet_tasks.models.segmentors.convert_seg import official_seg_to_ours
    try:
        out, kind, folded = official_seg_to_ours(state)
    except KeyError as exc:
        raise ConversionError(exc.args[0] if exc.args else str(exc)) from None
    arch = _hrnet_arch(out, 'backbone.')
    num_classes = out['decode_head.conv_seg.weight' if kind == 'fcn' else
                      'decode_head.1.conv_seg.weight'].shape[0]
    dataset = {150: 'ade20k_512x512'}.get(num_classes, 'cityscapes_512x1024')
    name = {'w18_small_v2': 'w18_small', 'w18': 'w18', 'w48': 'w48'}.get(arch)
    config = f'configs/seg/{kind}_hrnetv2_{name}_{dataset}.py' if name else None
    return Converted(out, arch, config, folded)


# task -> converter; pose/seg add an entry (same signature) when their models exist.
TASKS: Dict[str, Callable[[dict, str], Converted]] = {'cls': convert_cls, 'pose': convert_pose,
                                                      'seg': convert_seg}


def load_state(path: str) -> dict:
    """The state dict inside ``path``, loaded without running code from it."""
    from hrnet_tasks.engine.checkpoint import load_checkpoint_file
    from hrnet_tasks.models.convert import unwrap_state_dict
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        try:
            checkpoint = load_file(path)
        except Exception as exc:  # safetensors raises its own error types
            raise ConversionError(f'{path}: not a readable safetensors file ({exc})') from None
    else:
        try:
            checkpoint = load_checkpoint_file(path)
        except RuntimeError as exc:
            found = re.search(r'Unsupported global: GLOBAL (\S+)', str(exc.__cause__ or exc))
            if found is None:
                raise ConversionError(f'{path} cannot be read by torch.load(weights_only=True): '
                                      'not a PyTorch checkpoint, or a corrupt one') from None
            raise ConversionError(
                f'{path} is refused by torch.load(weights_only=True): it pickles '
                f'{found.group(1)}. Re-save its state dict (tensors only) in a trusted '
                'environment, then convert that') from None
    try:
        return unwrap_state_dict(checkpoint)
    except ValueError as exc:
        raise ConversionError(f'{path}: {exc}') from None


def verify(converted: Converted) -> List[str]:
    """Build the config's model and check that every key and shape matches.

    Returns notes for differences that a config option absorbs (class count);
    raises for anything else.
    """
    from mmengine.config import Config

    from hrnet_tasks.registry import MODELS
    from hrnet_tasks.utils import register_all_modules
    register_all_modules()
    model = MODELS.build(Config.fromfile(osp.join(ROOT, converted.config)).model)
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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an official/timm/mmpretrain HRNet checkpoint to this project.')
    parser.add_argument('--src', required=True, choices=SOURCES, help='layout of IN')
    parser.add_argument('--task', default='cls', choices=sorted(TASKS),
                        help='task the checkpoint belongs to (default: cls)')
    parser.add_argument('--no-verify', action='store_true',
                        help='skip building the matching model to check keys and shapes')
    parser.add_argument('input', metavar='IN', help='checkpoint to convert')
    parser.add_argument('output', metavar='OUT', help='converted checkpoint to write')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.input):
        sys.exit(f'error: input checkpoint not found: {args.input}')
    if osp.isdir(args.output):
        sys.exit(f'error: OUT is a directory, give a file name: {args.output}')
    out_dir = osp.dirname(osp.abspath(args.output))
    if not osp.isdir(out_dir):
        sys.exit(f'error: output directory does not exist: {out_dir}')
    from hrnet_tasks.engine.checkpoint import atomic_save
    try:
        converted = TASKS[args.task](load_state(args.input), args.src)
        notes = []
        if converted.config and not osp.isfile(osp.join(ROOT, converted.config)):
            notes.append(f'{converted.config} does not exist: keys not verified')
        elif converted.config and not args.no_verify:
            notes = verify(converted)
    except ConversionError as exc:
        sys.exit(f'error: {_one_line(exc)}')
    meta = dict(arch=converted.arch, source=args.src, task=args.task,
                converted_from=osp.basename(args.input))
    atomic_save(dict(meta=meta, state_dict=converted.state_dict), args.output)

    if converted.config:
        print(f'arch: {converted.arch} (config: {converted.config})')
    else:
        print('arch: custom (no preset config; pass the stage table as model.backbone.extra)')
    print(f'tensors: {len(converted.state_dict)} written to {args.output}')
    if converted.folded:
        print(f'folded head biases into BN running means: {", ".join(converted.folded)}')
    else:
        print('folded head biases: none (the checkpoint has no head conv biases)')
    for note in notes:
        print(f'note: {note}')
    return converted


if __name__ == '__main__':
    main()
