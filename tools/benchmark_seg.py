"""``tools/benchmark.py seg``: images/s of a segmentor's whole-image and sliding-window
inference (default 512x1024 input, CPU) and the decode head's share of the time.

    python tools/benchmark.py seg [--config CFG] [--height 512] [--width 1024]
                              [--crop 256 512] [--stride 171 341] [--bf16] [--repeats R] ...

Three candidates are timed interleaved (random weights, BN in eval mode, same
input): ``whole`` (one forward + resize to the input), ``slide`` (crop/stride
windows, averaged), ``backbone`` (the HRNetV2 concat only). The decode-head
share is 1 - backbone / whole time (heads + the final resize).
"""
import os.path as osp


def add_parser(subparsers, bench):
    p = subparsers.add_parser('seg', help='segmentor whole/slide inference and decode-head share',
                              description=__doc__.split('\n\n')[0])
    p.add_argument('--config', default='configs/seg/fcn_hrnetv2_w48_cityscapes_512x1024.py')
    p.add_argument('--height', type=int, default=512)
    p.add_argument('--width', type=int, default=1024)
    p.add_argument('--crop', type=int, nargs=2, metavar=('H', 'W'),
                   help='slide window (default: half the input)')
    p.add_argument('--stride', type=int, nargs=2, metavar=('H', 'W'),
                   help='slide stride (default: 2/3 of the window)')
    p.add_argument('--bf16', action='store_true', help='bfloat16 autocast')
    bench.add_model_timing_args(p)
    p.set_defaults(func=lambda args: run(args, bench))


def run(args, bench):

    import torch
    from mmengine.config import Config

    from hrnet_tasks.registry import MODELS
    cfg = Config.fromfile(args.config if osp.isabs(args.config)
                          else osp.join(bench.ROOT, args.config))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(args.device).eval()
    crop = tuple(args.crop or (args.height // 2, args.width // 2))
    stride = tuple(args.stride or (crop[0] * 2 // 3, crop[1] * 2 // 3))
    x = torch.randn(args.batch, 3, args.height, args.width, device=args.device)

    def step_for(fn):
        return bench.inference_step(fn, args.device, args.bf16)

    def whole():
        model.test_cfg = dict(mode='whole')
        model.inference(x)

    def slide():
        model.test_cfg = dict(mode='slide', crop_size=crop, stride=stride)
        model.inference(x)

    mode = f'infer {"bf16" if args.bf16 else "fp32"}'
    cands = [bench.Candidate('whole', mode, step_for(whole), args.batch),
             bench.Candidate('slide', mode, step_for(slide), args.batch),
             bench.Candidate('backbone', mode, step_for(lambda: model.backbone(x)), args.batch)]
    env = bench.environment(args)
    print(f'seg: {osp.basename(args.config)}, input {args.height}x{args.width}, batch '
          f'{args.batch}, slide crop {crop[0]}x{crop[1]} stride {stride[0]}x{stride[1]}, '
          f'torch {env["torch"]}, {env["threads"]} threads', flush=True)
    bench.measure_interleaved(cands, args.warmup, args.repeats, args.min_time)
    env['load_after'] = bench.load_average()
    whole_c, _, backbone_c = cands
    share = 1 - backbone_c.median_s / whole_c.median_s
    ratios = {'decode-head share of whole inference': share}
    bench.report(cands, ratios, '', args.json,
                 dict(command='seg', config=args.config, height=args.height, width=args.width,
                      crop=crop, stride=stride, batch=args.batch, bf16=args.bf16, **env))
    return cands, share
