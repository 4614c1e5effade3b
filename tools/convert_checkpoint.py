"""Convert a released HRNet checkpoint into this project's layout.

    python tools/convert_checkpoint.py --src {official,timm,mmpretrain,mmpose} [--task cls] IN OUT

IN may be a plain state dict (official HRNet-Image-Classification and timm
releases), a ``{'state_dict': ...}`` container (mmpretrain, official
``checkpoint.pth.tar``) or a ``.safetensors`` file (timm on the HF hub). It is
read with ``torch.load(weights_only=True)``, so no code from the file runs.
OUT is ``{'meta': {...}, 'state_dict': ...}`` and loads strictly into the model
of the printed config (``--load-from OUT`` or ``load_checkpoint(model, OUT,
strict=True)``). Official/timm head conv biases are folded into the following
BN running means, which is exact (see hrnet_tasks/models/converters/).

This file is the command line only: ``--task`` picks
``hrnet_tasks.models.converters.TASKS[task]`` (one module per task), which does
the conversion; the result is checked against the model of the matching config.
"""
import argparse
import os.path as osp
import sys
import warnings

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)  # run from a checkout
warnings.filterwarnings('ignore', message='Fail to import ``MultiScaleDeformableAttention``')

SOURCES = ('official', 'timm', 'mmpretrain', 'mmpose')
# hrnet_tasks.models.converters.TASKS, without importing it
TASK_NAMES = ('cls', 'pose', 'seg', 'face', 'topdown', 'det')


def _one_line(text: str, limit: int = 400) -> str:
    text = ' '.join(str(text).split())
    return text if len(text) <= limit else text[:limit] + ' ...'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an official/timm/mmpretrain/mmpose HRNet checkpoint to this project.')
    parser.add_argument('--src', required=True, choices=SOURCES, help='layout of IN')
    parser.add_argument('--task', default='cls', choices=TASK_NAMES,
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
    from hrnet_tasks.checkpoint_files import damaged_checkpoint
    damaged = damaged_checkpoint(args.input)  # empty / truncated / corrupt: no unpickling
    if damaged:
        sys.exit(f'error: {damaged}')
    if osp.isdir(args.output):
        sys.exit(f'error: OUT is a directory, give a file name: {args.output}')
    out_dir = osp.dirname(osp.abspath(args.output))
    if not osp.isdir(out_dir):
        sys.exit(f'error: output directory does not exist: {out_dir}')
    from hrnet_tasks.engine.checkpoint import atomic_save
    from hrnet_tasks.models.converters import TASKS, ConversionError, load_state
    from hrnet_tasks.models.converters.verify import verify
    try:
        converted = TASKS[args.task](load_state(args.input), args.src)
        notes = []
        if converted.config and not osp.isfile(osp.join(ROOT, converted.config)):
            notes.append(f'{converted.config} does not exist: keys not verified')
        elif converted.config and not args.no_verify:
            notes = verify(converted, ROOT)
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
