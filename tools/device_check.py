"""The GPU check of tools/device_check.sh (which installs the wheels and calls this).

    python tools/device_check.py [--dry-run] [--budget-s 480] [--steps a b c d det compile]

Steps (each one is recorded, a failure does not stop the others):
  a  30 AMP training iterations of each tiny config (cls, pose, seg, multitask when it
     exists) through tools/train.py's option handling: every loss finite, the GradScaler's
     scale > 0 (CUDA), the associative-embedding (tag) loss computed in fp32, peak memory.
  b  tools/train.py --dist under torchrun (NCCL on CUDA, gloo on CPU) with 1 process, then
     2 processes on the one device if the backend allows it: the val metric of the
     1-process run must equal the plain single-process run's (--deterministic, same seed).
  c  tools/benchmark.py backbone for w18_small_v1 and w32, train and infer, AMP (bf16
     autocast) + channels_last, against timm's same arch.
  d  tools/benchmark.py pose: HigherHRNet-W32 at 512, flip-test forward and decode per
     640x480 image.
  det  tools/benchmark.py det: Faster R-CNN HRNetV2p-W18 / -W32 images/s at 800x1333 next
     to torchvision's fasterrcnn_resnet50_fpn (1000 and, like ours, 2000 proposals).
  compile  step c's runs again with --compile (ratio vs eager, compile time), last, and
     only while the time budget lasts.

``--dry-run`` runs the same steps on the CPU with tiny sizes (one iteration, 32 px,
batch 2, one mode per benchmark step, the eager compile backend) so the test suite keeps
this script working between the sessions that have a GPU. The last line printed is the
summary as one line of JSON; with ``$OUT`` set the raw figures go to
``$OUT/device_check_raw.json`` too.
"""
import argparse
import contextlib
import glob
import importlib.util
import io
import json
import math
import os
import os.path as osp
import socket
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
TINY = ('cls', 'pose', 'seg', 'multitask')
# the val metric step b compares, per config
DIST_CONFIG, DIST_METRIC = 'configs/tiny/cls.py', 'accuracy/top1'
GOALS = dict(w32_amp_train_img_s=1500, pose_w32_512_flip_ms=60, ratio_vs_timm=1.0)


def log(msg):
    print(msg, flush=True)


def load_tool(name):
    """tools/<name>.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f'tool_{name}',
                                                  osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # benchmark.py looks itself up there
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------ step a

def amp_train(config: str, work_dir: str, iters: int, dry: bool) -> dict:
    """``iters`` AMP training iterations of ``config``, set up by tools/train.py's parser and
    option handling, with recorders for losses, loss scale and the tag loss dtype."""
    import torch
    from mmengine.hooks import Hook

    from hrnet_tasks.cli import apply_train_args, load_config
    from hrnet_tasks.engine import Runner
    from hrnet_tasks.models.losses.pose_losses import AssociativeEmbeddingLoss

    args = load_tool('train').parse_args([config, '--amp', '--work-dir', work_dir, '--seed', '0'])
    cfg, _ = load_config(args)
    apply_train_args(cfg, args)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=10**9)
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator', 'param_scheduler'):
        cfg[key] = None
    cfg.log_processor = dict(by_epoch=False)
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10)
    loader = cfg.train_dataloader
    if dry:
        loader.batch_size = 2
        loader.num_workers = 0
        loader.persistent_workers = False
    record = dict(losses=[], scales=[], tag_dtypes=set())

    class Recorder(Hook):
        def before_train(self, runner):
            model = runner.model.module if hasattr(runner.model, 'module') else runner.model
            for module in model.modules():
                if isinstance(module, AssociativeEmbeddingLoss):
                    module.register_forward_hook(lambda m, i, out: record['tag_dtypes'].update(
                        str(t.dtype) for t in out if torch.is_tensor(t)))

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            record['losses'].append({k: float(v.detach()) if torch.is_tensor(v) else float(v)
                                     for k, v in (outputs or {}).items() if k.startswith('loss')})
            scaler = getattr(runner.optim_wrapper, 'loss_scaler', None)
            record['scales'].append(float(scaler.get_scale()) if scaler is not None else None)

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    runner = Runner.from_cfg(cfg)
    runner.register_hook(Recorder(), priority='LOWEST')
    t0 = time.perf_counter()
    runner.train()
    seconds = time.perf_counter() - t0
    values = [v for losses in record['losses'] for v in losses.values()]
    scales = [s for s in record['scales'] if s is not None]
    out = dict(iters=len(record['losses']), seconds=round(seconds, 2),
               all_losses_finite=bool(values) and all(math.isfinite(v) for v in values),
               last_losses=record['losses'][-1] if record['losses'] else {},
               scale_min=min(scales) if scales else None,
               tag_loss_dtypes=sorted(record['tag_dtypes']))
    if torch.cuda.is_available():
        out['peak_mem_mib'] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    checks = [out['iters'] == iters, out['all_losses_finite']]
    if torch.cuda.is_available():
        checks.append(bool(scales) and min(scales) > 0)
    if record['tag_dtypes']:
        checks.append(out['tag_loss_dtypes'] == ['torch.float32'])
    out['ok'] = all(checks)
    return out


def step_a(dry: bool, tmp: str) -> dict:
    results = {}
    for name in TINY:
        config = f'configs/tiny/{name}.py'
        if not osp.isfile(osp.join(ROOT, config)):
            results[name] = dict(ok=None, skipped='no config')
            continue
        log(f'[a] {config}: AMP training')
        try:
            results[name] = amp_train(config, osp.join(tmp, f'a_{name}'), 1 if dry else 30, dry)
        except Exception as exc:  # one broken config must not hide the others' results
            traceback.print_exc()
            results[name] = dict(ok=False, error=f'{type(exc).__name__}: {exc}'[:500])
        log(f'[a] {name}: {json.dumps(results[name])}')
    return results


# ------------------------------------------------------------------------------------ step b

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def last_metric(work_dir: str, key: str):
    """The last value of ``key`` in the run's vis_data/scalars.json."""
    value = None
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if key in row:
                    value = row[key]
    return value


def run_train(cmd, work_dir, timeout):
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:  # e.g. ranks that wait for a peer forever
        return dict(rc=None, seconds=round(time.perf_counter() - t0, 1), metric=None,
                    error=f'timed out after {timeout} s')
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    tail = lines[-15:]
    errors = [line for line in tail if 'rror' in line] + [
        line for line in lines if 'deterministic implementation' in line]
    return dict(rc=proc.returncode, seconds=round(time.perf_counter() - t0, 1),
                metric=last_metric(work_dir, DIST_METRIC),
                error=(errors[-1] if errors else tail[-1] if tail else '')[:300]
                if proc.returncode else None)


def step_b(dry: bool, tmp: str, timeout: int) -> dict:
    options = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1']
    if dry:
        options += ['train_dataloader.dataset.indices=32', 'val_dataloader.dataset.indices=16',
                    'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0']
    common = ['--deterministic', '--seed', '0', '--cfg-options', *options]
    train = osp.join(ROOT, 'tools', 'train.py')
    runs = dict(deterministic=True)
    log('[b] single process')
    w = osp.join(tmp, 'b_single')
    runs['single'] = run_train([sys.executable, train, DIST_CONFIG, '--work-dir', w, *common], w,
                               timeout)
    if 'deterministic implementation' in (runs['single']['error'] or ''):
        # some CUDA backward kernels (adaptive average pooling) refuse
        # torch.use_deterministic_algorithms: compare seeded runs with cuDNN's defaults instead
        log('[b] no deterministic CUDA kernel for every op: seeded runs without --deterministic')
        common, runs['deterministic'] = common[1:], False
        w = osp.join(tmp, 'b_single_seeded')
        runs['single'] = run_train([sys.executable, train, DIST_CONFIG, '--work-dir', w, *common],
                                   w, timeout)
    nprocs = (1, ) if dry else (1, 2)
    for n in nprocs:
        w = osp.join(tmp, f'b_dist{n}')
        options_n = list(common)
        if n > 1:  # the same global batch, split over the ranks
            options_n += [f'train_dataloader.batch_size={16 // n}']
        log(f'[b] torchrun --nproc_per_node {n} tools/train.py --dist')
        runs[f'dist{n}'] = run_train(
            [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', str(n),
             '--master_port', str(free_port()), train, DIST_CONFIG, '--dist', '--work-dir', w,
             *options_n], w, timeout if n == 1 else min(timeout, 120))
        log(f'[b] dist{n}: {json.dumps(runs[f"dist{n}"])}')
    single, dist1 = runs['single'], runs['dist1']
    runs['metric'] = DIST_METRIC
    runs['dist1_equals_single'] = (single['rc'] == 0 and dist1['rc'] == 0
                                   and single['metric'] is not None
                                   and single['metric'] == dist1['metric'])
    runs['ok'] = runs['dist1_equals_single']
    return runs


# ------------------------------------------------------------------------------------ c, d

def bench(argv) -> dict:
    """tools/benchmark.py in this process (no second interpreter start); its JSON, with the
    run's peak GPU memory on CUDA."""
    import torch
    tool = load_tool('benchmark')
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    with tempfile.NamedTemporaryFile(suffix='.json', delete=False) as f:
        path = f.name
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        tool.main([*argv, '--json', path])
    log(text.getvalue().rstrip())
    with open(path) as f:
        data = json.load(f)
    os.unlink(path)
    if torch.cuda.is_available():
        data['peak_mem_mib'] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return data


def backbone_runs(dry: bool, device: str, compile_: bool, deadline: float = math.inf) -> dict:
    """Step c (or, with ``compile_``, the compile step): ours vs timm per arch and mode.
    The dry run keeps one mode per step (train eager, infer compiled with the eager backend)
    so it stays short; runs that would start after ``deadline`` are skipped."""
    archs = ('w18_small_v1', ) if dry else ('w18_small_v1', 'w32')
    modes = (('infer', ) if compile_ else ('train', )) if dry else ('train', 'infer')
    size = ['--batch', '2', '--size', '32', '--repeats', '1', '--warmup', '0', '--min-time', '0'] \
        if dry else ['--batch', '128', '--size', '224', '--repeats', '5', '--warmup', '3',
                     '--min-time', '0.5']
    extra = ['--compile', '--compile-backend', 'eager' if dry else 'inductor'] if compile_ else []
    results = {}
    for arch in archs:
        for mode in modes:
            key = f'{arch}_{mode}'
            if time.perf_counter() > deadline:
                results[key] = dict(skipped='time budget')
                continue
            log(f'[{"compile" if compile_ else "c"}] backbone {arch} {mode}')
            try:
                data = bench(['backbone', '--arch', arch, '--mode', mode, '--device', device,
                              '--bf16', '--channels-last', *size, *extra])
                img_s = {r['model']: round(r['img_s'], 1) for r in data['results']}
                results[key] = dict(img_s=img_s, ratios={k: round(v, 3)
                                                         for k, v in data['ratios'].items()},
                                    peak_mem_mib=data.get('peak_mem_mib'))
            except Exception as exc:
                traceback.print_exc()
                results[key] = dict(error=f'{type(exc).__name__}: {exc}'[:500])
    return results


def step_d(dry: bool, device: str) -> dict:
    log('[d] HigherHRNet flip-test forward + decode')
    argv = ['pose', '--device', device, '--image-width', '640', '--image-height', '480',
            '--people', '10']
    argv += ['--config', 'configs/tiny/pose.py', '--sizes', '128', '--repeats', '1',
             '--warmup', '0', '--min-time', '0'] if dry else \
        ['--config', 'configs/pose/higherhrnet_w32_coco_512.py', '--sizes', '512',
         '--repeats', '5', '--warmup', '2', '--min-time', '1']
    data = bench(argv)
    ms = {r['model']: round(r['ms_per_batch'], 2) for r in data['results']}
    return dict(ms_per_image=ms, ratios={k: round(v, 3) for k, v in data['ratios'].items()},
                peak_mem_mib=data.get('peak_mem_mib'))


def step_det(dry: bool, device: str) -> dict:
    log('[det] Faster R-CNN HRNetV2p vs torchvision R50-FPN')
    argv = ['det', '--device', device]
    argv += ['--configs', 'configs/tiny/det.py', '--height', '128', '--width', '160',
             '--repeats', '1', '--warmup', '0', '--min-time', '0'] if dry else \
        ['--tv-proposals', '1000', '2000', '--repeats', '5', '--warmup', '2', '--min-time', '1']
    data = bench(argv)
    return dict(img_s={r['model']: round(r['img_s'], 3) for r in data['results']},
                ratios={k: round(v, 3) for k, v in data['ratios'].items()},
                peak_mem_mib=data.get('peak_mem_mib'))


# ------------------------------------------------------------------------------------ main

def environment(device: str) -> dict:
    import torch
    from hrnet_tasks.cpu_capability import describe_cpu
    env = dict(device=device, torch=torch.__version__, python=sys.version.split()[0],
               cpu=describe_cpu())
    if device == 'cuda':
        env['gpu'] = torch.cuda.get_device_name(0)
        env['gpu_mem_gib'] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
    return env


def goals(summary: dict) -> dict:
    """The issue's H200 goals, read off the figures (None where a figure is missing)."""
    c, d = summary.get('c') or {}, summary.get('d') or {}
    w32 = (c.get('w32_train') or {}).get('img_s', {})
    ours = next((v for k, v in w32.items() if k.startswith('ours')), None)
    ratios = [v.get('ratios', {}).get('ratio vs timm') for v in c.values() if isinstance(v, dict)]
    ratios = [r for r in ratios if r is not None]
    pose_ms = next((v for k, v in (d.get('ratios') or {}).items()
                    if k.startswith('forward+decode ms')), None)
    return dict(
        w32_amp_train_img_s=ours, w32_amp_train_ge_1500=None if ours is None else ours >= 1500,
        min_ratio_vs_timm=min(ratios) if ratios else None,
        all_ge_timm=None if not ratios else min(ratios) >= GOALS['ratio_vs_timm'],
        pose_forward_decode_ms=pose_ms,
        pose_le_60ms=None if pose_ms is None else pose_ms <= GOALS['pose_w32_512_flip_ms'])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--dry-run', action='store_true', help='CPU, tiny sizes')
    parser.add_argument('--budget-s', type=float, default=420,
                        help='start no compile run after this many seconds (one inductor '
                        'compile can take minutes; the device call is limited to 600 s)')
    parser.add_argument('--steps', nargs='+', default=['a', 'b', 'c', 'd', 'det', 'compile'],
                        choices=['a', 'b', 'c', 'd', 'det', 'compile'])
    args = parser.parse_args(argv)
    start = time.perf_counter()
    os.chdir(ROOT)
    from hrnet_tasks.utils import register_all_modules
    register_all_modules()
    import torch
    device = 'cuda' if torch.cuda.is_available() and not args.dry_run else 'cpu'
    if not args.dry_run and device != 'cuda':
        log('warning: no CUDA device; running the full-size check on the CPU')
    summary = dict(env=environment(device), dry_run=args.dry_run)
    steps = dict(
        a=lambda: step_a(args.dry_run, tmp),
        b=lambda: step_b(args.dry_run, tmp, 300),
        c=lambda: backbone_runs(args.dry_run, device, compile_=False),
        d=lambda: step_d(args.dry_run, device),
        det=lambda: step_det(args.dry_run, device),
        compile=lambda: backbone_runs(args.dry_run, device, compile_=True,
                                      deadline=math.inf if args.dry_run
                                      else start + args.budget_s))
    with tempfile.TemporaryDirectory(prefix='device_check_') as tmp:
        for name in args.steps:
            t0 = time.perf_counter()
            try:
                summary[name] = steps[name]()
            except Exception as exc:
                traceback.print_exc()
                summary[name] = dict(ok=False, error=f'{type(exc).__name__}: {exc}'[:500])
            log(f'[{name}] done in {time.perf_counter() - t0:.1f} s')
    summary['goals'] = goals(summary)
    summary['a_ok'] = all(r.get('ok') is not False for r in (summary.get('a') or {}).values())
    summary['b_ok'] = (summary.get('b') or {}).get('ok')
    summary['elapsed_s'] = round(time.perf_counter() - start, 1)
    out_dir = os.environ.get('OUT')
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        with open(osp.join(out_dir, 'device_check_raw.json'), 'w') as f:
            json.dump(summary, f, indent=2, default=str)
    print(json.dumps(summary, separators=(',', ':'), default=str), flush=True)
    return summary


if __name__ == '__main__':
    main()
