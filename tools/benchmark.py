"""Throughput benchmarks of hrnet_tasks models against reference implementations.

    python tools/benchmark.py backbone --arch ARCH [--batch N] [--size S] [--mode infer|train]
                                       [--channels-last] [--bf16] [--repeats R] [--warmup W]
                                       [--threads T] [--min-time SEC] [--no-optimize] [--json FILE]
                                       [--compile [--compile-backend B]] [--device cpu|cuda]
    python tools/benchmark.py pipeline --config CFG [--workers N] [--samples N] [--data-root DIR]

``backbone``: images/s of our HRNet-W*-C classifier (``configs/cls/hrnet_<arch>.py``:
our backbone + mmpretrain's HRFuseScales neck, pooling and linear head) next to
timm's HRNet of the same arch and mmpretrain's ImageClassifier with mmpretrain's
own HRNet backbone (same neck/head), all with random weights and the same input.

How it measures:
* every model is warmed up ``W`` batches (untimed), then the models are timed
  INTERLEAVED: ``R`` rounds, each round times every model once (the order
  rotates from round to round); a measurement runs whole batches until
  ``--min-time`` seconds have passed (at least one). The per-model result is the
  median over the rounds. Interleaving spreads thermal/frequency drift and
  background noise over all models instead of favouring whichever ran first.
* ``infer``: ``model.eval()`` under ``torch.inference_mode()``; ``train``:
  ``model.train()``, forward + cross-entropy on random labels + backward +
  ``SGD(momentum=0.9)`` step.
* ``--channels-last`` converts models and input to ``torch.channels_last``;
  ``--bf16`` runs the step under ``torch.autocast('cpu', torch.bfloat16)``
  (CUDA autocast on a GPU run). Both apply to ours, timm and mmpretrain alike;
  with either one, timm is also measured in plain fp32 NCHW ("timm default").
* in ``infer`` mode ours runs through ``hrnet_tasks.models.optimize_for_inference``
  (an eval-only copy with BN folded into the convs) and the table says so;
  ``--no-optimize`` measures the plain model.

Output: a table (model, mode, img/s, ms/batch) and, as the last lines,
``vs timm default: X.XX`` (only with --channels-last/--bf16; ours in this mode
over timm fp32 NCHW), ``ratio vs mmpretrain: X.XX`` and ``ratio vs timm: X.XX``
(ours / the reference in the same mode; > 1 means ours is faster).

``--compile`` adds ours under ``torch.compile`` as one more candidate and prints
``compile vs eager: X.XX`` (compiled img/s over eager) and ``compile time s: S``
(its first step). The header names the CPU's vector ISA and whether it has native
bf16; ``--bf16`` on a CPU without it prints a warning (bf16 is emulated there).

Further subcommands (``pose``, ``seg``, ``pipeline``, ``multitask``, ``topdown``, ``balance``)
plug in through :data:`SUBCOMMANDS`, reusing :class:`Candidate`, :func:`measure_interleaved` and
:func:`report`.
"""
import argparse
import contextlib
import copy
import inspect
import json
import os
import os.path as osp
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)  # run from a checkout

from hrnet_tasks.utils import register_all_modules  # noqa: E402

# Our arch name -> timm model name (random weights, pretrained=False).
TIMM_NAMES = {'w18_small_v1': 'hrnet_w18_small', 'w18_small_v2': 'hrnet_w18_small_v2'}
# Archs mmpretrain's HRNet knows by name; the others are passed as ``extra``.
MMPRETRAIN_ARCHS = ('w18', 'w30', 'w32', 'w40', 'w44', 'w48', 'w64')


# --------------------------------------------------------------------------------------------
# Generic machinery (shared by every subcommand)
# --------------------------------------------------------------------------------------------

@dataclass
class Candidate:
    """One model in one execution mode, ready to run a timed step."""
    name: str
    mode: str
    step: Callable[[], None]
    batch: int
    seconds_per_batch: List[float] = field(default_factory=list)
    compile_s: Optional[float] = None  # first-step time of a torch.compile candidate

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds_per_batch)

    @property
    def img_s(self) -> float:
        return self.batch / self.median_s


def add_common_args(parser: argparse.ArgumentParser):
    parser.add_argument('--batch', type=int, default=8, help='batch size (default: 8)')
    parser.add_argument('--size', type=int, default=224, help='input height = width (default: 224)')
    parser.add_argument('--mode', choices=('infer', 'train'), default='infer',
                        help='infer: eval + inference_mode; train: fwd + CE + bwd + SGD step')
    parser.add_argument('--channels-last', action='store_true',
                        help='models and input in torch.channels_last')
    parser.add_argument('--bf16', action='store_true', help='run under bfloat16 autocast')
    parser.add_argument('--repeats', type=int, default=5,
                        help='interleaved timing rounds; the median is reported (default: 5)')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed warm-up batches per model (default: 2)')
    parser.add_argument('--min-time', type=float, default=0.5,
                        help='seconds each timed measurement runs at least (whole batches, '
                             'at least one; default: 0.5)')
    parser.add_argument('--threads', type=int, help='torch intra-op threads (default: torch\'s)')
    parser.add_argument('--device', default='cpu', help='cpu (default) or cuda')
    parser.add_argument('--seed', type=int, default=0, help='seed for weights and inputs')
    parser.add_argument('--json', metavar='FILE', help='also write the numbers to FILE')


def add_model_timing_args(parser: argparse.ArgumentParser, batch_help: str = 'batch size'):
    """The timing options of the whole-model modes (pose, seg, multitask)."""
    parser.add_argument('--batch', type=int, default=1, help=batch_help)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--min-time', type=float, default=0.5)
    parser.add_argument('--threads', type=int)
    parser.add_argument('--device', default='cpu', help='cpu (default) or cuda')
    parser.add_argument('--json', metavar='FILE')


def inference_step(fn: Callable[[], None], device: str, bf16: bool) -> Callable[[], None]:
    """``fn`` under inference_mode (and bf16 autocast), finished on the device when timed."""
    import contextlib

    import torch

    def step():
        autocast = torch.autocast(device.split(':')[0], dtype=torch.bfloat16) if bf16 \
            else contextlib.nullcontext()
        with torch.inference_mode(), autocast:
            fn()
        if device.startswith('cuda'):
            torch.cuda.synchronize()
    return step


def mode_label(args, channels_last: Optional[bool] = None, bf16: Optional[bool] = None) -> str:
    cl = args.channels_last if channels_last is None else channels_last
    half = args.bf16 if bf16 is None else bf16
    return f'{args.mode} {"bf16" if half else "fp32"} {"NHWC" if cl else "NCHW"}'


def make_step(model, args, channels_last: bool, bf16: bool, call=None) -> Callable[[], None]:
    """A closure running one batch of ``model`` in the requested mode.

    ``call(model, x)`` returns the logits/outputs (default ``model(x)``); in train
    mode the loss is cross-entropy against random class indices for 2-D outputs
    and the mean of the output otherwise (so pose/seg modes can reuse this).
    """
    import torch
    import torch.nn.functional as F
    device = torch.device(args.device)
    call = call or (lambda m, x: m(x))
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(device=device, memory_format=memory_format)
    gen = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.batch, 3, args.size, args.size, generator=gen)
    x = x.to(device=device).contiguous(memory_format=memory_format)
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if bf16 \
        else contextlib.nullcontext
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)

    if args.mode == 'infer':
        model.eval()

        def step():
            with torch.inference_mode(), autocast():
                call(model, x)
            sync()
        return step

    model.train()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                                lr=1e-3, momentum=0.9)
    labels = {}

    def loss_of(out):
        if isinstance(out, (tuple, list)):
            out = out[-1]
        out = out.float()
        if out.dim() == 2:
            if 'y' not in labels:
                labels['y'] = torch.randint(0, out.shape[1], (out.shape[0], ), generator=gen)
                labels['y'] = labels['y'].to(device)
            return F.cross_entropy(out, labels['y'])
        return out.mean()

    def step():
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            out = call(model, x)
        loss_of(out).backward()
        optimizer.step()
        sync()
    return step


def measure_interleaved(candidates: List[Candidate], warmup: int, repeats: int,
                        min_time: float, log=print):
    """Warm every candidate up, then time them round-robin ``repeats`` times."""
    for cand in candidates:
        t0 = time.perf_counter()
        for _ in range(warmup):
            cand.step()
        if warmup:
            log(f'  warm-up {cand.name:<13} {cand.mode:<17} '
                f'{(time.perf_counter() - t0) / warmup * 1e3:8.1f} ms/batch')
    n = len(candidates)
    for r in range(repeats):
        for k in range(n):
            cand = candidates[(r + k) % n]  # rotate the start so no model is always first
            done = 0
            t0 = time.perf_counter()
            while True:
                cand.step()
                done += 1
                elapsed = time.perf_counter() - t0
                if elapsed >= min_time:
                    break
            cand.seconds_per_batch.append(elapsed / done)


def report(candidates: List[Candidate], ratios: Dict[str, float], header: str,
           json_file: Optional[str] = None, settings: Optional[dict] = None):
    """Print the table and the ratio lines (in the given order, last = headline)."""
    width = max(len('model'), *(len(c.name) for c in candidates))
    mwidth = max(len('mode'), *(len(c.mode) for c in candidates))
    print(header)
    print(f'{"model":<{width}}  {"mode":<{mwidth}}  {"img/s":>9}  {"ms/batch":>9}')
    for c in candidates:
        print(f'{c.name:<{width}}  {c.mode:<{mwidth}}  {c.img_s:>9.2f}  {c.median_s * 1e3:>9.1f}')
    for label, value in ratios.items():
        print(f'{label}: {value:.2f}')
    if json_file:
        data = dict(settings=settings or {},
                    results=[dict(model=c.name, mode=c.mode, img_s=c.img_s,
                                  ms_per_batch=c.median_s * 1e3,
                                  samples_ms_per_batch=[s * 1e3 for s in c.seconds_per_batch])
                             for c in candidates],
                    ratios=ratios)
        with open(json_file, 'w') as f:
            json.dump(data, f, indent=2)


def environment(args) -> dict:
    import torch
    from hrnet_tasks.cpu_capability import describe_cpu
    return dict(torch=torch.__version__, threads=torch.get_num_threads(), device=args.device,
                cpu=platform.processor() or platform.machine(), python=platform.python_version(),
                cores=os.cpu_count(), load_before=load_average(), cpu_capability=describe_cpu())


def load_average() -> Optional[float]:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def load_warning(env: dict) -> Optional[str]:
    """A note when other processes competed for the CPU (1-min load above the idle level)."""
    if env['device'] != 'cpu' or env['load_before'] is None:
        return None
    # Our own run adds about `threads` to the load; anything well above that is someone else.
    busy = max(env['load_before'], env['load_after'] or 0) - env['threads']
    # CPU time this process got over (wall time x threads): ~1 when it had the cores to itself.
    starved = env.get('cpu_share', 1.0) < 0.85
    if busy > 0.5 * env['cores'] or starved:
        return (f'note: 1-min load average {env["load_before"]} -> {env["load_after"]} on '
                f'{env["cores"]} cores, this process got {env.get("cpu_share", 0):.0%} of '
                f'{env["threads"]} threads\' CPU time: other processes may have competed '
                'for the CPU, numbers are noisy')
    return None


# --------------------------------------------------------------------------------------------
# backbone: our classifier vs timm vs mmpretrain
# --------------------------------------------------------------------------------------------

def build_ours(arch: str):
    from mmengine.config import Config

    from hrnet_tasks.registry import MODELS
    config = osp.join(ROOT, 'configs', 'cls', f'hrnet_{arch}.py')
    if not osp.isfile(config):
        raise SystemExit(f'error: no config {config} for arch {arch!r}')
    cfg = Config.fromfile(config)
    return MODELS.build(cfg.model), cfg


def build_mmpretrain(arch: str, cfg, widths):
    """mmpretrain ImageClassifier with mmpretrain's HRNet and the config's neck/head (their
    ``in_channels`` filled from our backbone's output ``widths`` where the config omits them)."""
    from hrnet_tasks.models.backbones.hrnet import ARCH_SETTINGS
    from hrnet_tasks.models.classifiers.image_classifier import fill_cls_widths
    from hrnet_tasks.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.neck, model_cfg.head = fill_cls_widths(model_cfg.get('neck'), model_cfg.get('head'),
                                                     list(widths))
    if arch in MMPRETRAIN_ARCHS:
        backbone = dict(type='mmpretrain.HRNet', arch=arch)
    else:  # no preset in mmpretrain: same stage table as ours
        extra = {k: {kk: list(vv) if isinstance(vv, tuple) else vv for kk, vv in v.items()}
                 for k, v in copy.deepcopy(ARCH_SETTINGS[arch]).items()}
        backbone = dict(type='mmpretrain.HRNet', extra=extra)
    model_cfg.backbone = backbone
    model_cfg.type = 'mmpretrain.ImageClassifier'
    model = MODELS.build(model_cfg)
    assert type(model.backbone).__module__.startswith('mmpretrain.'), type(model.backbone)
    return model


def build_timm(arch: str):
    import timm
    return timm.create_model(TIMM_NAMES.get(arch, f'hrnet_{arch}'), pretrained=False)


def run_backbone(args):
    import torch
    from hrnet_tasks.models.backbones.hrnet import ARCH_SETTINGS
    if args.arch not in ARCH_SETTINGS:
        raise SystemExit(f'error: unknown arch {args.arch!r}; '
                         f'choose from {", ".join(ARCH_SETTINGS)}')

    def tensor_mode(model, x):
        return model(x, mode='tensor')

    def call_for(model):  # mmengine models in mode='tensor'; plain modules (e.g. traced) as is
        return tensor_mode if 'mode' in inspect.signature(model.forward).parameters else None

    torch.manual_seed(args.seed)
    ours, cfg = build_ours(args.arch)
    widths = ours.backbone.out_channels
    ours_name = 'ours'
    if args.mode == 'infer' and not args.no_optimize:
        from hrnet_tasks.models import optimize_for_inference
        ours = optimize_for_inference(ours.eval())
        ours_name = 'ours+optimize_for_inference'
    torch.manual_seed(args.seed)
    timm_model = build_timm(args.arch)
    torch.manual_seed(args.seed)
    mmp = build_mmpretrain(args.arch, cfg, widths)

    cl, bf16 = args.channels_last, args.bf16
    mode = mode_label(args)
    if bf16 and args.device == 'cpu':
        from hrnet_tasks.cpu_capability import bf16_warning
        warning = bf16_warning('--bf16')
        if warning:
            print(f'warning: {warning}', flush=True)
    candidates = [
        Candidate(ours_name, mode, make_step(ours, args, cl, bf16, call_for(ours)), args.batch),
        Candidate('timm', mode, make_step(timm_model, args, cl, bf16), args.batch),
        Candidate('mmpretrain', mode, make_step(mmp, args, cl, bf16, tensor_mode), args.batch),
    ]
    compiled = compile_candidate(ours, args, cl, bf16, call_for(ours), f'{ours_name}+compile') \
        if args.compile else None
    if compiled is not None:
        candidates.append(compiled)
    if cl or bf16:
        timm_default = build_timm(args.arch)
        timm_default.load_state_dict(timm_model.state_dict())
        candidates.append(Candidate('timm default', mode_label(args, False, False),
                                    make_step(timm_default, args, False, False), args.batch))

    env = environment(args)
    print(f'backbone benchmark: arch {args.arch}, batch {args.batch}, '
          f'input 3x{args.size}x{args.size}, '
          f'{mode}, torch {env["torch"]}, {env["threads"]} threads, device {args.device}; '
          f'warm-up {args.warmup}, {args.repeats} interleaved rounds of >= {args.min_time}s '
          f'(median); cpu: {env["cpu_capability"]}', flush=True)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    measure_interleaved(candidates, args.warmup, args.repeats, args.min_time)
    env['cpu_share'] = round((time.process_time() - cpu0)
                             / ((time.perf_counter() - wall0) * env['threads']), 3)
    env['load_after'] = load_average()
    warning = load_warning(env)
    if warning:
        print(warning)

    by_name = {c.name: c for c in candidates}
    ours_c = candidates[0]
    ratios = {}
    if compiled is not None:
        ratios['compile vs eager'] = compiled.img_s / ours_c.img_s
        ratios['compile time s'] = compiled.compile_s
    if 'timm default' in by_name:
        ratios['vs timm default'] = ours_c.img_s / by_name['timm default'].img_s
    ratios['ratio vs mmpretrain'] = ours_c.img_s / by_name['mmpretrain'].img_s
    ratios['ratio vs timm'] = ours_c.img_s / by_name['timm'].img_s
    settings = dict(command='backbone', arch=args.arch, batch=args.batch, size=args.size,
                    mode=args.mode, channels_last=cl, bf16=bf16, repeats=args.repeats,
                    warmup=args.warmup, min_time=args.min_time,
                    ours_optimized=ours_name != 'ours', compile=bool(args.compile), **env)
    report(candidates, ratios, '', args.json, settings)


def compile_candidate(model, args, channels_last: bool, bf16: bool, call, name: str):
    """``model`` under ``torch.compile`` as one more candidate; its first step (the
    compilation, untimed by the rounds) is reported as ``compile_s``. ``None`` with a
    warning where torch.compile cannot run here."""
    import torch

    from hrnet_tasks.cpu_capability import compile_or_warn
    if not compile_or_warn('--compile', args.device):
        return None
    model = copy.deepcopy(model)
    compiled = torch.compile(model, backend=args.compile_backend)
    cand = Candidate(name, mode_label(args), make_step(compiled, args, channels_last, bf16, call),
                     args.batch)
    print(f'compiling {name} ({args.compile_backend}) ...', flush=True)
    t0 = time.perf_counter()
    cand.step()
    cand.compile_s = time.perf_counter() - t0
    print(f'  compiled in {cand.compile_s:.1f} s (first step, includes one batch)', flush=True)
    return cand


def add_backbone_parser(subparsers):
    from hrnet_tasks.models.backbones.hrnet import ARCH_SETTINGS
    p = subparsers.add_parser('backbone', help='our HRNet-W*-C classifier vs timm and mmpretrain',
                              description='Images/s of our classification model '
                                          '(configs/cls/hrnet_<arch>.py) vs timm and mmpretrain.')
    p.add_argument('--arch', required=True, choices=list(ARCH_SETTINGS), help='HRNet variant')
    p.add_argument('--no-optimize', action='store_true',
                   help='do not apply hrnet_tasks.models.optimize_for_inference to ours '
                   'in infer mode')
    p.add_argument('--compile', action='store_true',
                   help='also time ours under torch.compile: ratio vs eager and compile time')
    p.add_argument('--compile-backend', default='inductor',
                   help='torch.compile backend for --compile (default: inductor)')
    add_common_args(p)
    p.set_defaults(func=run_backbone)


# --------------------------------------------------------------------------------------------
# pose: HigherHRNet forward (with flip test) vs associative-embedding decoding
# --------------------------------------------------------------------------------------------

def add_pose_parser(subparsers):
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from benchmark_pose import add_parser  # tools/benchmark_pose.py
    add_parser(subparsers, sys.modules[__name__])


# Subcommand name -> function adding its parser.
SUBCOMMANDS = {'backbone': add_backbone_parser, 'pose': add_pose_parser}


def add_seg_parser(subparsers):
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from benchmark_seg import add_parser  # tools/benchmark_seg.py
    add_parser(subparsers, sys.modules[__name__])


SUBCOMMANDS['seg'] = add_seg_parser


def add_pipeline_parser(subparsers):
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from benchmark_pipeline import add_parser  # tools/benchmark_pipeline.py
    add_parser(subparsers, sys.modules[__name__])


SUBCOMMANDS['pipeline'] = add_pipeline_parser


def add_multitask_parser(subparsers):
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from benchmark_multitask import add_parser  # tools/benchmark_multitask.py
    add_parser(subparsers, sys.modules[__name__])


SUBCOMMANDS['multitask'] = add_multitask_parser


def add_topdown_parser(subparsers):
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from benchmark_topdown import add_parser  # tools/benchmark_topdown.py
    add_parser(subparsers, sys.modules[__name__])


SUBCOMMANDS['topdown'] = add_topdown_parser


def add_balance_parser(subparsers):
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from benchmark_balance import add_parser  # tools/benchmark_balance.py
    add_parser(subparsers, sys.modules[__name__])


SUBCOMMANDS['balance'] = add_balance_parser


def add_det_parsers(subparsers):
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from benchmark_det import add_detpose_parser, add_parser  # tools/benchmark_det.py
    add_parser(subparsers, sys.modules[__name__])
    add_detpose_parser(subparsers, sys.modules[__name__])


SUBCOMMANDS['det'] = add_det_parsers  # also 'detpose'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Throughput benchmarks (images/s)')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    for add_parser in SUBCOMMANDS.values():
        add_parser(subparsers)
    return parser.parse_args(argv)


def main(argv=None):
    register_all_modules()
    args = parse_args(argv)
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.repeats < 1 or args.batch < 1 or args.warmup < 0:
        raise SystemExit('error: --repeats and --batch must be >= 1, --warmup >= 0')
    args.func(args)


if __name__ == '__main__':
    main()
