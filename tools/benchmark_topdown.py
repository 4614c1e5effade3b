"""``tools/benchmark.py topdown``: persons/s of top-down pose and the share of decoding.

    python tools/benchmark.py topdown [--config CFG] [--arch ARCH] [--batch 32]
                                  [--people-per-image 8] [--flip | --no-flip] [--repeats R] ...

Candidates, timed interleaved on the same batch of crops (random weights, BN in eval
mode):

* ``forward fp32``: ``TopdownPoseEstimator.forward_test`` (backbone + head on the crops and,
  with the flip test (default: the config's ``model.test_cfg.flip_test``), on their mirror
  images; the maps averaged): the network's share of ``mode='predict'``;
* ``forward fast``: the same on :func:`hrnet_tasks.apis.optimize_model` (BN folded into the
  convs, channels_last, bf16 autocast where the CPU has native bf16): the fast CPU path;
* ``decode+nms``: the codec's decoding of the batch's maps, the mapping back to image
  pixels, then per image (``--people-per-image`` crops each) the rescoring and OKS-NMS of
  :class:`~hrnet_tasks.evaluation.TopdownCocoMetric` (COCO's 17 keypoints; other keypoint
  sets, e.g. faces, are decoded and rescored without OKS-NMS, which needs COCO sigmas); the
  maps are Gaussian targets of random poses of the head's K keypoints plus noise, so decoding
  does the work it does on trained output.

Throughput is persons (crops) per second; the last line is ``decode+nms % of forward fp32``
(goal: below 5).
"""
import argparse
import os.path as osp


def add_parser(subparsers, bench):
    p = subparsers.add_parser('topdown', help='top-down pose: persons/s, fp32 and fast path, '
                              'and the decode + OKS-NMS share',
                              description=__doc__.split('\n\n')[0])
    p.add_argument('--config', default='configs/pose_topdown/hrnet_w32_coco_256x192.py')
    p.add_argument('--arch', help='override the backbone arch (e.g. w18_small_v1)')
    p.add_argument('--people-per-image', type=int, default=8,
                   help='crops per image for the OKS-NMS grouping (default 8)')
    p.add_argument('--flip', action=argparse.BooleanOptionalAction, default=None,
                   help='with / without the flip test (default: the config\'s '
                   'model.test_cfg.flip_test)')
    bench.add_model_timing_args(p, batch_help='crops per batch (default 32)')
    p.set_defaults(func=lambda args: run(args, bench), batch=32)


def synthetic_batch(codec, num_keypoints: int, batch: int, people_per_image: int,
                    seed: int = 0):
    """Heatmaps (B, K, H, W) of random poses (codec targets + noise) and the samples'
    metadata a decoder needs (warp matrices of random boxes, box scores, image ids)."""
    import numpy as np

    from hrnet_tasks.datasets.transforms.topdown import warp_matrix
    rng = np.random.default_rng(seed)
    w_in, h_in = codec.input_size
    maps, metas = [], []
    for i in range(batch):
        joints = np.stack([rng.uniform(0.1, 0.9, num_keypoints) * w_in,
                           rng.uniform(0.1, 0.9, num_keypoints) * h_in], -1)[None]
        hm = codec.encode(joints, np.ones((1, num_keypoints)))['heatmaps']
        maps.append(hm + rng.normal(0, 0.02, hm.shape).astype(np.float32))
        center, side = rng.uniform(100, 500, 2), rng.uniform(50, 300)
        metas.append(dict(img_id=i // people_per_image, id=i,
                          warp_mat=warp_matrix(center, (side * 0.75, side), 0.0, (w_in, h_in)),
                          input_scale=np.array([side * 0.75, side]),
                          bbox=np.array([[*(center - side / 2), *(center + side / 2)]]),
                          bbox_score=np.array([rng.uniform(0.3, 1.0)], np.float32)))
    return np.stack(maps), metas


def run(args, bench):
    import numpy as np
    import torch
    from mmengine.config import Config

    from hrnet_tasks.apis import optimize_model
    from hrnet_tasks.datasets import COCO_METAINFO, parse_pose_metainfo
    from hrnet_tasks.datasets.transforms.topdown import crop_to_image
    from hrnet_tasks.evaluation import TopdownCocoMetric
    from hrnet_tasks.registry import MODELS
    cfg = Config.fromfile(args.config if osp.isabs(args.config)
                          else osp.join(bench.ROOT, args.config))
    if args.arch:
        cfg.model.backbone.arch = args.arch
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(args.device).eval()
    if args.flip is not None:
        model.test_cfg['flip_test'] = args.flip
    flip = model.test_cfg.get('flip_test', True)
    model.cfg, model.dataset_meta = cfg, None
    fast = optimize_model(model)
    codec = model.codec
    w_in, h_in = codec.input_size
    x = torch.randn(args.batch, 3, h_in, w_in, device=args.device)
    x_fast = x.contiguous(memory_format=torch.channels_last)
    k = model.head.num_keypoints
    maps, metas = synthetic_batch(codec, k, args.batch, args.people_per_image)
    coco = k == len(COCO_METAINFO['keypoint_names'])
    metric = TopdownCocoMetric(nms_mode='oks_nms' if coco else 'none')
    metric.dataset_meta = parse_pose_metainfo(COCO_METAINFO) if coco else {}

    def decode_and_nms():
        kpts, scores = codec.batch_decode(maps)
        results = []
        for i, meta in enumerate(metas):
            image_pts = crop_to_image(kpts[i:i + 1], meta['warp_mat'])
            results.append(dict(img_id=meta['img_id'], key=meta['id'], keypoints=image_pts[0],
                                keypoint_scores=scores[i], box_score=float(meta['bbox_score'][0]),
                                area=float(np.prod(meta['input_scale']))))
        metric.image_results(results)

    bf16 = fast.inference_dtype is not None
    cands = [
        bench.Candidate('forward fp32', 'infer fp32 NCHW',
                        bench.inference_step(lambda: model.forward_test(x), args.device, False),
                        args.batch),
        bench.Candidate('forward fast', f'infer {"bf16" if bf16 else "fp32"} NHWC BN-folded',
                        bench.inference_step(lambda: fast.forward_test(x_fast), args.device,
                                             bf16), args.batch),
        bench.Candidate('decode+nms', f'{args.people_per_image} crops / image'
                        + ('' if coco else f', {k} keypoints, no NMS'), decode_and_nms,
                        args.batch),
    ]
    env = bench.environment(args)
    print(f'topdown: {osp.basename(args.config)} ({cfg.model.backbone.arch}), crops '
          f'{w_in}x{h_in}, batch {args.batch}, flip test {flip}, torch '
          f'{env["torch"]}, {env["threads"]} threads, device {args.device}; warm-up '
          f'{args.warmup}, {args.repeats} interleaved rounds of >= {args.min_time}s (median); '
          f'cpu: {env["cpu_capability"]}', flush=True)
    bench.measure_interleaved(cands, args.warmup, args.repeats, args.min_time)
    env['load_after'] = bench.load_average()
    fp32, fast_c, decode = cands
    ratios = {'fast vs fp32': fast_c.img_s / fp32.img_s,
              'decode+nms % of forward fp32': 100 * decode.median_s / fp32.median_s}
    bench.report(cands, ratios, '(img/s = persons/s)', args.json,
                 dict(command='topdown', config=args.config, arch=cfg.model.backbone.arch,
                      batch=args.batch, flip=flip,
                      people_per_image=args.people_per_image, **env))
    return cands, ratios
