"""Run a backbone-transfer experiment: several configs, one table, one plot.

    python tools/transfer.py CONFIG [CONFIG ...] [--work-root work_dirs/transfer]
                             [--gpus N] [--out-dir DIR] [--skip-done] [--cfg-options ...]
    python tools/transfer.py --preset tiny      # configs/transfer/tiny_*.py, CPU

Configs run in the given order (upstream runs first), each into
``<work-root>/<config name>``; after each run the backbone of its last
checkpoint is written to ``<work dir>/backbone.pth`` so later configs can start
from it (``model.backbone.init_cfg=dict(type='Pretrained',
checkpoint='<work-root>/<upstream>/backbone.pth', prefix='backbone.')``). With
``--gpus N`` independent configs run N at a time, one per GPU; a config waits
for the upstream runs its ``init_cfg`` names.

A config may set ``transfer = dict(group='pose', init='imagenet-cls', metric='coco/AP')``:
runs of one group are compared in one table and one plot panel (defaults:
group = config name, init = config name, metric = the first validation metric). A joint
multi-task run gives a list, one entry per task (``[dict(group='tiny pose', init='joint',
metric='pose/coco/AP'), dict(group='tiny seg', init='joint', metric='seg/mIoU')]``), and
appears in each task's table next to the single-task and transferred runs.
Writes ``<out-dir>/transfer.md`` and ``<out-dir>/transfer.png``.
"""
import argparse
import glob
import os
import os.path as osp
import subprocess
import sys
import time
from collections import OrderedDict

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from hrnet_tasks.progress import format_duration  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PRESETS = {'tiny': 'configs/transfer/tiny_*.py'}


def config_name(path: str) -> str:
    return osp.splitext(osp.basename(path))[0]


def transfer_info(path: str) -> dict:
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    info = dict(group=config_name(path), init=config_name(path), metric=None)
    spec = cfg.get('transfer') or {}
    # a joint multi-task run belongs to several groups: a list, one entry per task metric
    entries = [dict(e) for e in spec] if isinstance(spec, (list, tuple)) else [dict(spec)]
    info['entries'] = [{**info, **entry} for entry in entries]
    info.update(entries[0])
    init_cfg = cfg.model.get('backbone', {}).get('init_cfg') or {}
    init_cfg = init_cfg if isinstance(init_cfg, dict) else {}
    info['needs'] = init_cfg.get('checkpoint') if init_cfg.get('type') == 'Pretrained' else None
    return info


def latest_checkpoint(work_dir: str):
    from hrnet_tasks.cli import find_latest_checkpoint
    return find_latest_checkpoint(work_dir)


def run_one(config: str, work_dir: str, extra: list, env: dict) -> subprocess.Popen:
    os.makedirs(work_dir, exist_ok=True)
    log = open(osp.join(work_dir, 'transfer_stdout.log'), 'w')
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir', work_dir,
           *extra]
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)


def extract(work_dir: str):
    ckpt = latest_checkpoint(work_dir)
    if ckpt is None:
        raise RuntimeError(f'{work_dir}: the run wrote no checkpoint; see transfer_stdout.log')
    subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'extract_backbone.py'), ckpt,
                    osp.join(work_dir, 'backbone.pth')], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)


def progress_note(durations, pending, running, free) -> str:
    """'k/n runs finished, ETA ...' from the mean duration of the finished runs."""
    left = len(pending) + len(running)
    note = f'{len(durations)}/{len(durations) + left} runs finished'
    if left:
        slots = max(len(running) + len(free), 1)
        note += f', ETA ~{format_duration(sum(durations) / len(durations) * left / slots)}'
    return note


def produced_by(needs: str, configs, work_root: str):
    """The config of ``configs`` whose run writes the checkpoint ``needs``, or None."""
    return next((c for c in configs if osp.abspath(needs).startswith(
        osp.abspath(osp.join(work_root, config_name(c))) + os.sep)), None)


def unmet_needs(configs, needs_of: dict, work_root: str) -> list:
    """One line for each config that starts from a checkpoint (``needs_of[config]``) which
    neither exists nor is written by a listed run: said before the first run, not after the
    upstream ones."""
    lines = []
    for config in configs:
        needs = needs_of[config]
        if needs and not osp.isfile(needs) and produced_by(needs, configs, work_root) is None:
            lines.append(f'error: {config} starts from {needs}, which does not exist and which no '
                         f'listed run writes under --work-root {work_root}: list its upstream '
                         'config, or give the --work-root its path names')
    return lines


def run_all(configs, needs_of, work_root, gpus, extra, skip_done):
    """Run configs respecting upstream dependencies (``needs_of``: config -> the checkpoint
    its backbone starts from, or None); at most ``gpus`` at a time (1 on CPU)."""
    pending = list(configs)
    running = {}  # config -> (Popen, gpu, start time)
    free = list(range(gpus)) if gpus else [None]
    failed = []
    durations = []  # of the runs finished so far, for the ETA
    while pending or running:
        for config in list(pending):
            work_dir = osp.join(work_root, config_name(config))
            needs = needs_of[config]
            if skip_done and osp.isfile(osp.join(work_dir, 'backbone.pth')):
                print(f'[transfer] {config_name(config)}: done before, skipped')
                pending.remove(config)
                continue
            if needs and not osp.isfile(needs):
                if produced_by(needs, pending + list(running), work_root) is not None:
                    continue
                # its upstream run ended without writing the backbone (it failed)
                print(f'[transfer] {config_name(config)} SKIPPED: {needs} was not written',
                      flush=True)
                failed.append(config)
                pending.remove(config)
                continue
            if not free:
                break
            gpu = free.pop(0)
            env = dict(os.environ)
            if gpu is not None:
                env['CUDA_VISIBLE_DEVICES'] = str(gpu)
            print(f'[transfer] {time.strftime("%H:%M:%S")} start {config_name(config)}'
                  + (f' on GPU {gpu}' if gpu is not None else ''))
            running[config] = (run_one(config, work_dir, extra, env), gpu, time.time())
            pending.remove(config)
        for config, (proc, gpu, started) in list(running.items()):
            if proc.poll() is None:
                continue
            del running[config]
            free.append(gpu)
            work_dir = osp.join(work_root, config_name(config))
            durations.append(time.time() - started)
            if proc.returncode != 0:
                print(f'[transfer] {time.strftime("%H:%M:%S")} {config_name(config)} FAILED '
                      f'after {format_duration(durations[-1])} (see {work_dir}/transfer_stdout.log)'
                      f'; {progress_note(durations, pending, running, free)}', flush=True)
                failed.append(config)
                continue
            extract(work_dir)
            print(f'[transfer] {time.strftime("%H:%M:%S")} done {config_name(config)} in '
                  f'{format_duration(durations[-1])}; '
                  f'{progress_note(durations, pending, running, free)}', flush=True)
        if running:
            time.sleep(2)
    return failed


def collect(configs, work_root):
    """group -> [(init, work_dir, metric key, final, best, curve)]."""
    from tools.analysis.plot_logs import read_curves  # noqa: E402
    groups = OrderedDict()
    for config in configs:
        work_dir = osp.join(work_root, config_name(config))
        if not glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
            continue
        curves = read_curves(work_dir)
        for info in transfer_info(config)['entries']:
            metric = info['metric'] or next(
                (k for k in curves if k not in ('loss', 'lr') and not k.startswith('loss')), None)
            curve = curves.get(metric, [])
            final = curve[-1][1] if curve else float('nan')
            best = max(v for _, v in curve) if curve else float('nan')
            groups.setdefault(info['group'], []).append(
                (info['init'], work_dir, metric, final, best, curve))
    return groups


def report(groups, out_dir):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    os.makedirs(out_dir, exist_ok=True)
    lines = ['# Transfer experiment', '']
    for group, runs in groups.items():
        lines += [f'## {group}', '', '| initialisation | metric | final | best |',
                  '|---|---|---|---|']
        lines += [f'| {init} | {metric} | {final:.4g} | {best:.4g} |'
                  for init, _, metric, final, best, _ in runs]
        lines.append('')
    md = osp.join(out_dir, 'transfer.md')
    with open(md, 'w') as f:
        f.write('\n'.join(lines))
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 3.8), squeeze=False)
    for ax, (group, runs) in zip(axes[0], groups.items()):
        for init, _, metric, _, _, curve in runs:
            if curve:
                xs, ys = zip(*curve)
                ax.plot(xs, ys, marker='o', ms=3, label=init)
        ax.set_title(f'{group}: {runs[0][2]}')
        ax.set_xlabel('epoch (iteration for iteration-based runs)')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    png = osp.join(out_dir, 'transfer.png')
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return md, png


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('configs', nargs='*')
    parser.add_argument('--preset', choices=list(PRESETS))
    parser.add_argument('--work-root', default='work_dirs/transfer')
    parser.add_argument('--out-dir', help='where transfer.md/png go (default: work root)')
    parser.add_argument('--gpus', type=int, default=0, help='run one config per GPU, N at a time')
    parser.add_argument('--skip-done', action='store_true', help='reuse finished runs')
    parser.add_argument('--report-only', action='store_true', help='only collect and plot')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='passed to every run')
    args = parser.parse_args(argv)
    configs = list(args.configs)
    if args.preset:
        configs += sorted(glob.glob(osp.join(ROOT, PRESETS[args.preset])))
    if not configs:
        sys.exit('error: give configs or --preset')
    for config in configs:
        if not osp.isfile(config):
            sys.exit(f'error: config not found: {config}')
    extra = ['--cfg-options', *args.cfg_options] if args.cfg_options else []
    if not args.report_only:
        # each config parsed once here, not on every pass of the scheduling loop
        needs_of = {config: transfer_info(config)['needs'] for config in configs}
        unmet = unmet_needs(configs, needs_of, args.work_root)
        if unmet:
            sys.exit('\n'.join(unmet))
        failed = run_all(configs, needs_of, args.work_root, args.gpus, extra, args.skip_done)
        if failed:
            print(f'[transfer] {len(failed)} run(s) failed: {", ".join(map(config_name, failed))}')
    groups = collect(configs, args.work_root)
    if not groups:  # every run failed (or --report-only found none): no table, no plot
        sys.exit(f'error: no run under {args.work_root} has logged metrics; nothing to report')
    md, png = report(groups, args.out_dir or args.work_root)
    print(open(md).read())
    print(f'wrote {md} and {png}')


if __name__ == '__main__':
    main()
