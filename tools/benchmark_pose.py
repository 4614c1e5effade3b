"""``tools/benchmark.py pose``: HigherHRNet forward (with flip test) against associative-
embedding decoding, in ms/image, at each input size.

    python tools/benchmark.py pose [--config CFG] [--sizes 512 640] [--people 10 30]
                               [--image-width 640] [--image-height 480] [--no-flip] ...

The input is the test-time size of a ``--image-width`` x ``--image-height`` image
(640x480 -> 704x512 at 512). Decoding is timed on two kinds of maps:

* ``N people``: synthetic GT-like heatmaps and tags of N upright figures plus noise;
* ``random weights``: the maps the benchmarked model itself (random weights) produces
  for the input, after its BN statistics are measured on that input, as a young model
  produces them: noisy maps that group into hundreds of people. With the default BN
  statistics (mean 0, variance 1) a random network's maps stay below the detection
  threshold and hide this case.

Every case prints the people the grouping finds and the people kept by the codec's
``max_instances`` cap (only those are adjusted and refined), the decode time and
decode/forward. Goals on CPU: <= 0.10 at 30 people, <= 0.25 on random weights.
"""
import argparse
import os.path as osp

# decode/forward goals per case (docs/pose_bottomup.md, "Decoding cost")
GOALS = {'30 people': 0.10, 'random weights': 0.25}


def add_parser(subparsers, bench):
    p = subparsers.add_parser('pose', help='HigherHRNet forward vs AE decoding (ms/image)',
                              description=__doc__.split('\n\n')[0])
    p.add_argument('--config', default='configs/pose/higherhrnet_w32_coco_512.py')
    p.add_argument('--sizes', type=int, nargs='+', default=[512, 640])
    p.add_argument('--image-width', type=int, default=640, help='source image width (COCO-like)')
    p.add_argument('--image-height', type=int, default=480)
    p.add_argument('--people', type=int, nargs='+', default=[10, 30],
                   help='people in the synthetic heatmaps, one case each (default: 10 30)')
    p.add_argument('--no-flip', action='store_true', help='forward without the flip pass')
    bench.add_model_timing_args(p, batch_help=argparse.SUPPRESS)
    p.add_argument('--seed', type=int, default=0)
    p.set_defaults(func=lambda args: run(args, bench))


def synthetic_pose_maps(codec, width: int, height: int, people: int, seed: int):
    """Input-size heatmaps/tags of ``people`` upright figures (GT-like, plus noise),
    flip-test shaped: tags (1, K, H, W, 2)."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    rng = np.random.default_rng(seed)
    k = codec.num_keypoints
    kpts = np.zeros((people, k, 3), np.float32)
    for n in range(people):
        h = rng.uniform(0.2, 0.6) * height
        cx, top = rng.uniform(0.1, 0.9) * width, rng.uniform(0, height - h)
        kpts[n, :, 0] = cx + rng.uniform(-0.2, 0.2, k) * h
        kpts[n, :, 1] = top + np.linspace(0.05, 0.95, k) * h
        kpts[n, :, 2] = 2
    half = kpts.copy()
    half[..., :2] /= 2
    hm = codec.encode_heatmaps(half, (width // 2, height // 2))
    tag = np.zeros_like(hm)
    for n in range(people):
        tag[codec.encode_heatmaps(half[n:n + 1], (width // 2, height // 2)) > 0] = n + 1
    noise = rng.normal(0, 0.02, hm.shape).astype(np.float32)
    up = lambda a: F.interpolate(torch.from_numpy(a)[None], size=(height, width), mode='bilinear',
                                 align_corners=False)
    tags = up(tag + noise)[..., None].repeat(1, 1, 1, 1, 2)
    return up(hm + noise), tags


def measure_bn_statistics(model, x):
    """Replace the BN running statistics of ``model`` by those of the batch ``x`` (one
    train-mode forward, no gradients); returns the model in eval mode."""
    import torch
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average: exactly this batch's statistics
    model.train()
    with torch.no_grad():
        model(x, mode='tensor')
    return model.eval()


def run(args, bench):
    import torch
    from mmengine.config import Config

    from hrnet_tasks.codecs import bottomup_resize_params
    from hrnet_tasks.registry import MODELS
    cfg = Config.fromfile(args.config if osp.isabs(args.config)
                          else osp.join(bench.ROOT, args.config))
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    model = MODELS.build(cfg.model).eval().to(device)
    model.test_cfg['flip_test'] = not args.no_flip
    flip = model.head.flip_indices()
    codec = model.codec
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    candidates, cases = [], {}
    for size in args.sizes:
        (w, h), _, _ = bottomup_resize_params(args.image_height, args.image_width, size)
        x = torch.randn(1, 3, h, w, device=device)
        measure_bn_statistics(model, x)
        with torch.inference_mode():
            random_maps = model.forward_test(x, flip)
        # decode reads the maps where the forward leaves them (on the GPU for a CUDA run)
        maps = {f'{p} people': [m.to(device) for m in synthetic_pose_maps(codec, w, h, p,
                                                                            args.seed)]
                for p in args.people}
        maps['random weights'] = random_maps

        def forward(x=x):
            with torch.inference_mode():
                model.forward_test(x, flip)
            sync()

        candidates.append(bench.Candidate(f'forward {size}', f'{w}x{h} flip={not args.no_flip}',
                                          forward, 1))
        for case, (hm, tags) in maps.items():
            found = codec.count_people(hm, tags)[0]
            kept = len(codec.decode(hm, tags)[0][1])
            cases[(case, size)] = dict(found=found, kept=kept)

            def decode(hm=hm, tags=tags):
                codec.decode(hm, tags)
            candidates.append(bench.Candidate(f'decode {case} {size}',
                                              f'{w}x{h} {found} -> {kept} people', decode, 1))
    env = dict(torch=torch.__version__, threads=torch.get_num_threads(), device=args.device)
    print(f'pose benchmark: {args.config}, {args.image_width}x{args.image_height} image, '
          f'torch {env["torch"]}, {env["threads"]} threads, device {args.device}, '
          f'max_instances {codec.max_instances}; warm-up {args.warmup}, '
          f'{args.repeats} interleaved rounds of >= {args.min_time}s (median)', flush=True)
    bench.measure_interleaved(candidates, args.warmup, args.repeats, args.min_time)
    by_name = {c.name: c for c in candidates}
    ratios = {}
    for size in args.sizes:
        fwd = by_name[f'forward {size}']
        print(f'at {size}: forward incl. flip {fwd.median_s * 1e3:.1f} ms/image')
        for (case, case_size), people in cases.items():
            if case_size != size:
                continue
            dec = by_name[f'decode {case} {size}']
            ratio = dec.median_s / fwd.median_s
            goal = f' (goal <= {GOALS[case]:.2f})' if case in GOALS else ''
            print(f'  {case}: {people["found"]} people found, {people["kept"]} kept; decode '
                  f'{dec.median_s * 1e3:.1f} ms/image, decode/forward {ratio:.3f}{goal}')
            ratios[f'decode/forward {case} {size}'] = ratio
        # the GPU goal (forward + decode <= 60 ms at 512) is read on the first synthetic case
        first = by_name[f'decode {args.people[0]} people {size}']
        ratios[f'forward+decode ms {size}'] = (fwd.median_s + first.median_s) * 1e3
        print(f'  forward + decode ({args.people[0]} people): '
              f'{ratios[f"forward+decode ms {size}"]:.1f} ms/image')
    settings = dict(command='pose', config=args.config, sizes=args.sizes, people=args.people,
                    max_instances=codec.max_instances,
                    people_found_kept={f'{case} {size}': v for (case, size), v in cases.items()},
                    **env)
    bench.report(candidates, ratios, '', args.json, settings)
