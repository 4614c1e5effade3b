"""``tools/benchmark.py det``: images/s of Faster R-CNN HRNetV2p-W18 and -W32 next to
torchvision's own ``fasterrcnn_resnet50_fpn`` (the detector users would otherwise pick), in
one run.

    python tools/benchmark.py det [--height 800] [--width 1333] [--configs CFG ...]
                              [--repeats R] [--warmup W] [--device cpu|cuda] ...

Every candidate is built with random weights (torchvision's with ``weights=None,
weights_backbone=None``), in eval mode, and timed interleaved on the same image batch:

* ours: the config's ``Detector`` on the image normalised and padded to a multiple of 32
  by its data preprocessor, then ``mode='predict'`` (backbone, HRFPN, RPN with the official
  2000 test proposals, RoI heads, post-processing, boxes mapped to the image);
* ``tv R50-FPN``: ``model([image])`` on the 0-1 float image, which includes torchvision's
  transform (normalise, a resize to the same size, padding to 32) and its
  test default of 1000 proposals (``--tv-proposals 1000 2000`` adds one with ours' 2000).

The last lines are ``<config> / tv R50-FPN[ 2000p]`` img/s ratios (> 1: ours is faster); on
the CPU the ``cpu-time`` lines give the same ratios from the CPU seconds each step used
(``time.process_time``), which a shared machine's load moves far less than wall time.
"""
import argparse
import os.path as osp
import time

DEFAULT_CONFIGS = ('configs/det/faster_rcnn_hrnetv2p_w18_1x_coco.py',
                   'configs/det/faster_rcnn_hrnetv2p_w32_1x_coco.py')


def add_parser(subparsers, bench):
    p = subparsers.add_parser('det', help='Faster R-CNN HRNetV2p W18 / W32 vs torchvision '
                              'R50-FPN, images/s', description=__doc__.split('\n\n')[0])
    p.add_argument('--configs', nargs='+', default=list(DEFAULT_CONFIGS),
                   help='detector configs to time (default: HRNetV2p-W18 and -W32 1x)')
    p.add_argument('--height', type=int, default=800)
    p.add_argument('--width', type=int, default=1333)
    p.add_argument('--tv-proposals', type=int, nargs='+', default=[1000],
                   help="torchvision's RPN test proposals, one candidate each (default: its "
                   "1000; ours use the official 2000: '1000 2000' times both)")
    p.add_argument('--seed', type=int, default=0)
    bench.add_model_timing_args(p, batch_help='images per batch (default 1)')
    p.set_defaults(func=lambda args: run(args, bench))


def track_cpu_time(cands) -> dict:
    """Wrap every candidate's step to record its CPU seconds (``time.process_time``, all of
    this process's threads) per call: on a shared machine the CPU time a step needs moves
    far less with the load than its wall time. Returns name -> list of seconds."""
    cpu = {c.name: [] for c in cands}
    for cand in cands:
        def step(fn=cand.step, record=cpu[cand.name]):
            t0 = time.process_time()
            fn()
            record.append(time.process_time() - t0)
        cand.step = step
    return cpu


def cpu_ratios(cands, cpu: dict, pairs) -> dict:
    """``'cpu-time <a> / <b>'``: median CPU seconds per step of b over a's (> 1: a is
    cheaper), for each (a, b) in ``pairs``; the medians are printed."""
    import statistics
    median = {c.name: statistics.median(cpu[c.name]) / c.batch for c in cands}
    for name, value in median.items():
        print(f'CPU s per image {name}: {value:.2f}')
    return {f'cpu-time {a} / {b}': median[b] / median[a] for a, b in pairs}


def name_of(config: str) -> str:
    return osp.splitext(osp.basename(config))[0].replace('faster_rcnn_', '').replace('_coco', '')


def run(args, bench):
    import torch
    import torchvision
    from mmengine.config import Config
    from mmengine.structures import BaseDataElement

    from hrnet_tasks.registry import MODELS
    device = torch.device(args.device)
    gen = torch.Generator().manual_seed(args.seed)
    images = [torch.randint(0, 256, (3, args.height, args.width), dtype=torch.uint8,
                            generator=gen) for _ in range(args.batch)]
    meta = dict(img_shape=(args.height, args.width), ori_shape=(args.height, args.width))

    def step_for(fn):
        return bench.inference_step(fn, args.device, bf16=False)

    cands, models = [], {}
    for config in args.configs:
        path = config if osp.isabs(config) else osp.join(bench.ROOT, config)
        torch.manual_seed(args.seed)
        model = MODELS.build(Config.fromfile(path).model).to(device).eval()
        data = model.data_preprocessor(dict(inputs=images, data_samples=[
            BaseDataElement(metainfo=meta) for _ in images]), False)

        def ours(model=model, data=data):
            model(data['inputs'], [BaseDataElement(metainfo=s.metainfo)
                                   for s in data['data_samples']], mode='predict')
        cands.append(bench.Candidate(name_of(config), 'infer fp32', step_for(ours), args.batch))
        models[name_of(config)] = model
    floats = [(img.float() / 255).to(device) for img in images]
    for proposals in args.tv_proposals:
        torch.manual_seed(args.seed)
        tv = torchvision.models.detection.fasterrcnn_resnet50_fpn(
            weights=None, weights_backbone=None, rpn_pre_nms_top_n_test=proposals,
            rpn_post_nms_top_n_test=proposals,
            # its transform keeps the image at the benchmark size (800 x 1333: its defaults)
            min_size=min(args.height, args.width),
            max_size=max(args.height, args.width)).to(device).eval()
        name = 'tv R50-FPN' + ('' if proposals == 1000 else f' {proposals}p')
        cands.append(bench.Candidate(name, 'infer fp32', step_for(lambda tv=tv: tv(floats)),
                                     args.batch))
        models[name] = tv
    env = bench.environment(args)
    cpu = track_cpu_time(cands) if args.device == 'cpu' else None
    params = {name: sum(p.numel() for p in m.parameters()) for name, m in models.items()}
    print(f'det: {args.height}x{args.width} images, batch {args.batch}, torch {env["torch"]}, '
          f'{env["threads"]} threads, device {args.device}; warm-up {args.warmup}, '
          f'{args.repeats} interleaved rounds of >= {args.min_time}s (median)', flush=True)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    bench.measure_interleaved(cands, args.warmup, args.repeats, args.min_time)
    env['cpu_share'] = round((time.process_time() - cpu0)
                             / ((time.perf_counter() - wall0) * env['threads']), 3)
    env['load_after'] = bench.load_average()
    warning = bench.load_warning(env)
    if warning:
        print(warning)
    for name, count in params.items():
        print(f'parameters {name}: {count:,}')
    ours, refs = cands[:len(args.configs)], cands[len(args.configs):]
    ratios = cpu_ratios(cands, cpu, [(c.name, r.name) for r in refs for c in ours]) \
        if cpu is not None else {}
    ratios.update({f'{c.name} / {ref.name}': c.img_s / ref.img_s for ref in refs for c in ours})
    bench.report(cands, ratios, '', args.json,
                 dict(command='det', configs=args.configs, height=args.height,
                      width=args.width, batch=args.batch, tv_proposals=args.tv_proposals,
                      params=params, **env))
    return cands, ratios


def add_detpose_parser(subparsers, bench):
    p = subparsers.add_parser(
        'detpose', help='joint detection + top-down pose model vs two separate models: '
        'parameters and time per image with N people',
        description='One MultiTaskModel (a detection head and a top-down head on one HRNet) '
        'against the two single-task models it replaces (a Detector and a '
        'TopdownPoseEstimator with their own backbones, same heads), random weights, timed '
        'interleaved: per image one detection pass on the whole image and one pose pass on '
        '--people crops (flip test as the config says).')
    p.add_argument('--config', default='configs/tiny/multitask_det_topdown.py',
                   help='a joint config (a MultiTaskModel with a DetectionHead and a '
                   'HeatmapHead; default: the tiny one)')
    p.add_argument('--det-config', help='instead of --config: a detector config ...')
    p.add_argument('--pose-config', help='... and a top-down pose config; the joint model '
                   "takes the detector's backbone and both heads")
    p.add_argument('--people', type=int, default=3, help='person crops per image (default 3)')
    p.add_argument('--seed', type=int, default=0)
    bench.add_model_timing_args(p, batch_help=argparse.SUPPRESS)
    p.set_defaults(func=lambda args: run_detpose(args, bench))


def model_configs(args, bench):
    """(joint config, detector model config, pose model config): from the joint config's two
    heads, or the joint model of a detector config and a top-down config."""
    from mmengine.config import Config

    from hrnet_tasks.apis.detect_pose import head_named
    from hrnet_tasks.registry import MODELS

    def load(path):
        return Config.fromfile(path if osp.isabs(path) else osp.join(bench.ROOT, path))
    if args.det_config or args.pose_config:
        if not (args.det_config and args.pose_config):
            raise SystemExit('error: --det-config and --pose-config go together')
        det, pose = load(args.det_config), load(args.pose_config)
        pose_head = dict(pose.model.head, codec=pose.model.get('codec'))
        joint = Config(dict(
            model=dict(type='MultiTaskModel', backbone=det.model.backbone,
                       heads=dict(det=det.model.head, topdown=pose_head),
                       test_cfg=dict(topdown=pose.model.get('test_cfg') or {}),
                       data_preprocessor=dict(type='MultiTaskDataPreprocessor',
                                              size_divisor=32)),
            val_dataloader=dict(dataset=dict(tasks=dict(
                det=dict(pipeline=det.test_pipeline), topdown=dict(pipeline=pose.test_pipeline))))))
        joint.filename = f'{args.det_config} + {args.pose_config}'
        return joint, det.model, pose.model
    joint = load(args.config)
    built = MODELS.build(joint.model)
    det_name, pose_name = head_named(built, 'det'), head_named(built, 'topdown')
    if det_name is None or pose_name is None:
        raise SystemExit(f'error: {args.config} needs a MultiTaskModel with a DetectionHead '
                         'and a top-down HeatmapHead')
    backbone = dict(joint.model.backbone)
    return joint, dict(type='Detector', backbone=backbone, head=joint.model.heads[det_name]), \
        dict(type='TopdownPoseEstimator', backbone=dict(backbone, out_mode='highest'),
             head=joint.model.heads[pose_name],
             test_cfg=(joint.model.get('test_cfg') or {}).get(pose_name))


def run_detpose(args, bench):
    import numpy as np
    import torch
    from mmengine.dataset import Compose, pseudo_collate

    from hrnet_tasks.apis.detect_pose import TaskView, head_named
    from hrnet_tasks.registry import MODELS
    cfg, det_cfg, pose_cfg = model_configs(args, bench)
    torch.manual_seed(args.seed)
    joint, det, pose = (MODELS.build(c).to(args.device).eval()
                        for c in (cfg.model, det_cfg, pose_cfg))
    joint.cfg = cfg
    det_view = TaskView(joint, head_named(joint, 'det'))
    pose_view = TaskView(joint, head_named(joint, 'topdown'))

    def pipeline(view):
        return Compose([t for t in view.cfg.test_pipeline if not t['type'].startswith('Load')])
    w, h = next(t['scale'] for t in det_view.cfg.test_pipeline if t['type'] == 'Resize')
    rng = np.random.default_rng(args.seed)
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    loaded = dict(img=image, img_shape=(h, w), ori_shape=(h, w))
    det_data = pseudo_collate([pipeline(det_view)(dict(loaded))])
    boxes = [np.array([[x, 0.1 * h, x + 0.25 * w, 0.9 * h]], np.float32)
             for x in np.linspace(0.05, 0.7, args.people) * w]
    crops = pseudo_collate([pipeline(pose_view)(dict(loaded, bbox=b, bbox_score=np.ones(1)))
                            for b in boxes])
    for sample in crops['data_samples']:  # random weights: any flip pairs time the same
        sample.set_metainfo(dict(flip_indices=list(range(pose_view.head.num_keypoints))))

    def separate():
        det.test_step(det_data)
        pose.test_step(crops)

    def shared():
        det_view.test_step(det_data)
        pose_view.test_step(crops)

    step = lambda fn: bench.inference_step(fn, args.device, bf16=False)  # noqa: E731
    size = f'{w}x{h} + {args.people} crops'
    cands = [bench.Candidate('joint (one HRNet)', size, step(shared), 1),
             bench.Candidate('two models', size, step(separate), 1)]
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    params = dict(joint=count(joint), detector=count(det), pose=count(pose),
                  separate=count(det) + count(pose), shared_backbone=count(joint.backbone))
    env = bench.environment(args)
    cpu = track_cpu_time(cands) if args.device == 'cpu' else None
    print(f'detpose: {cfg.filename}, {w}x{h} image with {args.people} people, '
          f'torch {env["torch"]}, {env["threads"]} threads, device {args.device}', flush=True)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    bench.measure_interleaved(cands, args.warmup, args.repeats, args.min_time)
    env['cpu_share'] = round((time.process_time() - cpu0)
                             / ((time.perf_counter() - wall0) * env['threads']), 3)
    env['load_after'] = bench.load_average()
    warning = bench.load_warning(env)
    if warning:
        print(warning)
    print(f'parameters: joint {params["joint"]:,} (backbone {params["shared_backbone"]:,}); '
          f'separate {params["separate"]:,} (detector {params["detector"]:,} + pose '
          f'{params["pose"]:,})')
    ratios = {'parameters joint / separate': params['joint'] / params['separate']}
    if cpu is not None:  # as 'time' below: joint over separate (< 1: the joint is cheaper)
        ratios['cpu-time per image joint / separate'] = \
            1 / cpu_ratios(cands, cpu, [(cands[0].name, cands[1].name)]).popitem()[1]
    ratios['time per image joint / separate'] = cands[0].median_s / cands[1].median_s
    bench.report(cands, ratios, '', args.json,
                 dict(command='detpose', config=str(cfg.filename), people=args.people,
                      params=params, **env))
    return cands, params
