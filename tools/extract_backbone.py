"""Write the backbone weights of any task's checkpoint (cls, pose, seg) to a small file.

    python tools/extract_backbone.py CKPT OUT [--prefix backbone.]

OUT holds ``{'meta': ..., 'state_dict': {'backbone.<name>': tensor}}``, so every
task config can start from it with
``model.backbone.init_cfg=dict(type='Pretrained', checkpoint=OUT, prefix='backbone.')``.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint')
    parser.add_argument('out')
    parser.add_argument('--prefix', default='backbone.', help='key prefix of the backbone')
    args = parser.parse_args(argv)
    from hrnet_tasks.engine.checkpoint import atomic_save, load_checkpoint_file
    from hrnet_tasks.models.backbones.arch import arch_name, infer_hrnet_extra
    from hrnet_tasks.models.converters.common import unwrap_state_dict
    try:
        ckpt = load_checkpoint_file(args.checkpoint)
    except (FileNotFoundError, RuntimeError) as err:
        sys.exit(f'error: {err}')
    state = unwrap_state_dict(ckpt)
    backbone = {k: v for k, v in state.items() if k.startswith(args.prefix)}
    if not backbone:
        sys.exit(f'error: no key of {args.checkpoint} starts with {args.prefix!r}; '
                 f'first keys: {list(state)[:3]}')
    extra = infer_hrnet_extra(backbone, args.prefix)
    arch = arch_name(extra) if extra else 'unknown'
    meta = dict(arch=arch, source=osp.basename(args.checkpoint), prefix=args.prefix,
                dataset_meta=(ckpt.get('meta') or {}).get('dataset_meta') if isinstance(
                    ckpt, dict) else None)
    atomic_save(dict(meta=meta, state_dict=backbone), args.out)
    dropped = len(state) - len(backbone)
    print(f'wrote {len(backbone)} backbone tensors (HRNet {arch}) to {args.out}; '
          f'dropped {dropped} neck/head tensors')


if __name__ == '__main__':
    main()
