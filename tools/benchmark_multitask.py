"""``tools/benchmark.py multitask``: the joint model's forward against the single-task
models run one after another, on the same input.

    python tools/benchmark.py multitask --config CFG [--size S] [--arch ARCH] [--batch N]
                                        [--bf16] [--repeats R] [--warmup W] [--min-time SEC]

Candidates (random weights, eval mode, ``mode='tensor'`` outputs, timed interleaved):
``joint`` (one HRNet pass with ``out_mode='all'``, every head on its declared output),
``<head> alone`` for every head (an HRNet built with that head's ``backbone_output`` as
``out_mode`` + the same head: what a single-task model runs; pose's ``'highest'``
backbone skips the last module's other fuse rows), and ``separate`` (all the single-task
models one after another). The last line is ``joint vs separate: X.XX``, the time ratio
(below 1: the joint model saves that share of the compute).
"""
import copy
import os.path as osp


def add_parser(subparsers, bench):
    p = subparsers.add_parser('multitask', help='joint model vs the single-task models in turn',
                              description=__doc__.split('\n\n')[0])
    p.add_argument('--config', default='configs/multitask/higherhrnet_w32_coco_512_personseg.py')
    p.add_argument('--size', type=int, help='square input side (default: the config input_size '
                   'or 512)')
    p.add_argument('--arch', help='override the backbone arch (e.g. w18_small_v1)')
    p.add_argument('--bf16', action='store_true', help='bfloat16 autocast')
    bench.add_model_timing_args(p)
    p.set_defaults(func=lambda args: run(args, bench))


def single_task_models(joint):
    """Head name -> a module running an HRNet built for that head alone plus the joint
    model's head (same weights where the layers exist)."""
    import torch

    from hrnet_tasks.registry import MODELS

    class SingleTask(torch.nn.Module):

        def __init__(self, backbone, head):
            super().__init__()
            self.backbone, self.head = backbone, head

        def forward(self, x):
            return self.head(self.backbone(x))

    models = {}
    for name, head in joint.heads.items():
        backbone_cfg = dict(copy.deepcopy(joint.backbone_cfg), out_mode=head.backbone_output)
        backbone_cfg.pop('init_cfg', None)
        backbone = MODELS.build(backbone_cfg)
        backbone.load_state_dict(joint.backbone.state_dict(), strict=False)
        models[name] = SingleTask(backbone, copy.deepcopy(head)).eval()
    return models


def run(args, bench):

    import torch
    from mmengine.config import Config

    from hrnet_tasks.registry import MODELS
    cfg = Config.fromfile(args.config if osp.isabs(args.config)
                          else osp.join(bench.ROOT, args.config))
    model_cfg = copy.deepcopy(cfg.model)
    if model_cfg.get('type') != 'MultiTaskModel':
        raise SystemExit(f'error: {args.config} is not a MultiTaskModel config')
    model_cfg.backbone.pop('init_cfg', None)  # random weights: no pretrained file needed
    if args.arch:
        model_cfg.backbone.arch = args.arch
    torch.manual_seed(0)
    joint = MODELS.build(model_cfg).to(args.device).eval()
    joint.backbone_cfg = model_cfg.backbone
    singles = {n: m.to(args.device) for n, m in single_task_models(joint).items()}
    size = args.size or cfg.get('input_size') or 512
    x = torch.randn(args.batch, 3, size, size, device=args.device)

    def step_for(fn):
        return bench.inference_step(fn, args.device, args.bf16)

    def separate():
        for single in singles.values():
            single(x)

    mode = f'infer {"bf16" if args.bf16 else "fp32"}'
    cands = [bench.Candidate('joint', mode, step_for(lambda: joint(x, mode='tensor')),
                             args.batch),
             bench.Candidate('separate', mode, step_for(separate), args.batch)]
    cands += [bench.Candidate(f'{name} alone', mode, step_for(lambda m=m: m(x)), args.batch)
              for name, m in singles.items()]
    env = bench.environment(args)
    arch = model_cfg.backbone.get('arch')
    print(f'multitask: {osp.basename(args.config)}, arch {arch}, heads {list(singles)}, input '
          f'{size}x{size}, batch {args.batch}, torch {env["torch"]}, {env["threads"]} threads',
          flush=True)
    bench.measure_interleaved(cands, args.warmup, args.repeats, args.min_time)
    env['load_after'] = bench.load_average()
    ratio = cands[0].median_s / cands[1].median_s
    bench.report(cands, {'joint vs separate': ratio}, '', args.json,
                 dict(command='multitask', config=args.config, arch=arch, size=size,
                      batch=args.batch, bf16=args.bf16, **env))
    return cands, ratio
