"""Joint multi-task runs against single-task baselines over paired seeds: the Δm report.

    python tools/multitask_delta.py CONFIG --seeds 0 1 2 [--amp]
        [--arm NAME[=KEY=VALUE ...]] ...      # joint arms; default: one arm 'joint' as configured
        [--single HEAD=CONFIG ...]            # baselines; default: derived from CONFIG
        [--metric HEAD=KEY ...] [--lower-is-better KEY ...] [--reference ARM]
        [--work-root work_dirs/multitask_delta/<config>] [--report-only]

For every seed, each head of the joint config is trained alone (the same model, data,
pipeline and schedule with that head only: ``single_task_config``) and every arm is
trained jointly (the config plus the arm's ``--cfg-options``), each with ``--seed S``;
every run is then tested with ``tools/test.py`` on its LAST checkpoint (not the best one:
with tiny data the validation set is the test set). A run whose ``run.json`` exists is
reused, so the command can be stopped and started again.

Per seed s and task t, the relative change is ``r_ts = sign_t (M_joint - M_single) /
M_single`` (sign_t = -1 for lower-is-better metrics such as NME, so + is always better)
and ``Δm_s = mean_t r_ts``. The report gives the mean ± standard error over the seeds
(paired: the single and the joint run of a seed share the seed) of the metrics, of the
r_t and of Δm; an arm's Δm against ``--reference`` uses the per-seed differences. A
difference counts only when ``|mean| > 2 SE`` and it has the same sign on every seed;
otherwise it is reported as within noise. Writes ``delta_m.md``, ``delta_m.png`` and
``delta_m.json`` into the work root, and s/iter of every run (the mean logged iteration
time, and CPU seconds per iteration of the training process and its loader workers).
"""
import argparse
import copy
import glob
import json
import math
import os
import os.path as osp
import re
import resource
import subprocess
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# metric names (lower case) for which smaller is better; extend with --lower-is-better
LOWER_IS_BETTER = ('nme', 'epe', 'error', 'loss', 'mae', 'rmse')
SINGLE_PREFIX = 'single_'


def _evaluator_task(evaluator: dict):
    """The head an evaluator config reports for: ``TaskMetric.task`` or the first part
    of its ``prefix`` (``'pose/coco'`` -> ``'pose'``)."""
    if evaluator.get('task'):
        return evaluator['task']
    prefix = evaluator.get('prefix') or ''
    return prefix.split('/')[0] or None


def single_task_config(cfg, head: str):
    """``cfg`` (a joint ``MultiTaskModel`` config) with the head ``head`` only: its loss
    weight 1 (fixed), its ``MultiTaskDataset`` task, its evaluators. The schedule is
    unchanged (a mixed-dataset run keeps its batches per epoch, all from this task)."""
    from hrnet_tasks.errors import ConfigError
    cfg = copy.deepcopy(cfg)
    model = cfg.model
    heads = model.get('heads') or {}
    if head not in heads:
        raise ConfigError(f'{head!r} is not a head of model.heads {list(heads)}')
    model.heads = {head: heads[head]}
    model.loss_weights = {head: 1.0}
    model.loss_balance = 'fixed'
    model.test_cfg = {head: (model.get('test_cfg') or {}).get(head) or {}}
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        dataset = loader.dataset
        if dataset.get('type') == 'MultiTaskDataset':
            dataset.tasks = {head: dataset.tasks[head]}
        sampler = loader.get('batch_sampler') or {}
        if sampler.get('ratios'):
            sampler.ratios = {head: 1}
    for key in ('val_evaluator', 'test_evaluator'):
        evaluators = cfg.get(key)
        if evaluators is None:
            continue
        listed = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
        kept = [e for e in listed if _evaluator_task(e) == head]
        if not kept:
            raise ConfigError(f'{key}: no evaluator reports head {head!r} (give TaskMetric '
                              f"task='{head}' or a prefix starting with '{head}/')")
        cfg[key] = kept
    # a single head may leave backbone outputs unused (pose reads the stride-4 branch only)
    cfg.find_unused_parameters = True
    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint')
    if checkpoint:
        checkpoint.save_best = None  # the last checkpoint is tested, and other heads' keys
    return cfg


# ---------------------------------------------------------------------------- running
def _scalars(work_dir: str):
    records = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    return records


def _test_metrics(test_dir: str) -> dict:
    """The metrics mmengine's LoggerHook wrote to ``<test_dir>/<ts>/<ts>.json``."""
    files = sorted(p for p in glob.glob(osp.join(test_dir, '*', '*.json'))
                   if osp.basename(osp.dirname(p)) == osp.splitext(osp.basename(p))[0])
    if not files:
        raise RuntimeError(f'{test_dir}: the test wrote no metrics; see its log')
    with open(files[-1]) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    return {k: v for k, v in lines[-1].items()
            if isinstance(v, (int, float)) and k not in ('time', 'data_time', 'step')}


def train_stats(work_dir: str) -> dict:
    """Iterations, mean logged s/iter (the first logged window, which holds the start-up,
    left out) and the last logged value of every ``<head>/weight``."""
    train = [r for r in _scalars(work_dir) if 'loss' in r and 'iter' in r]
    if not train:
        return dict(iters=0, s_per_iter=float('nan'), weights={})
    times = [r['time'] for r in train[1:] or train if 'time' in r]
    weights = {k: v for k, v in train[-1].items() if k.endswith('/weight')}
    return dict(iters=max(r['iter'] for r in train),
                s_per_iter=sum(times) / len(times) if times else float('nan'), weights=weights)


def _run(cmd, log_path, env):
    with open(log_path, 'a') as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd[1:3])} failed (exit {proc.returncode}); see '
                           f'{log_path}')


def run_one(config: str, run_dir: str, seed: int, amp: bool, options) -> dict:
    """Train ``config`` with ``--seed seed``, test its last checkpoint; ``run.json``. A run
    stopped half-way resumes from its last checkpoint (exact resume); its CPU time per
    iteration then covers the iterations after the resume."""
    from hrnet_tasks.checkpoint_files import find_latest_checkpoint
    os.makedirs(run_dir, exist_ok=True)
    train_dir, test_dir = osp.join(run_dir, 'train'), osp.join(run_dir, 'test')
    precision = ['--amp'] if amp else []
    cfg_options = ['--cfg-options', *options] if options else []
    resumed_at = train_stats(train_dir)['iters'] if find_latest_checkpoint(train_dir) else None
    train_cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir',
                 train_dir, '--seed', str(seed), *precision,
                 *(['--resume'] if resumed_at is not None else []), *cfg_options]
    env = dict(os.environ)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    _run(train_cmd, osp.join(run_dir, 'train.log'), env)
    wall = time.time() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    checkpoint = find_latest_checkpoint(train_dir)
    if checkpoint is None:
        raise RuntimeError(f'{train_dir}: the run wrote no checkpoint')
    test_cmd = [sys.executable, osp.join(ROOT, 'tools', 'test.py'), config, checkpoint,
                '--work-dir', test_dir, *precision, *cfg_options]
    _run(test_cmd, osp.join(run_dir, 'test.log'), env)
    stats = train_stats(train_dir)
    trained = stats['iters'] - (resumed_at or 0)
    record = dict(config=config, seed=seed, options=list(options), amp=amp,
                  checkpoint=osp.relpath(checkpoint, run_dir), metrics=_test_metrics(test_dir),
                  train_wall_s=wall, train_cpu_s=cpu, resumed_at_iter=resumed_at,
                  cpu_s_per_iter=cpu / trained if trained > 0 else float('nan'), **stats)
    with open(osp.join(run_dir, 'run.json'), 'w') as f:
        json.dump(record, f, indent=1)
    return record


# ---------------------------------------------------------------------------- arithmetic
def mean_se(values):
    """Mean and standard error (sample std / sqrt(n)); SE is nan for one value."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float('nan')
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def verdict(differences) -> str:
    """'better' / 'worse' when |mean| > 2 SE and every seed has the sign of the mean;
    otherwise 'within noise' (always so for fewer than 2 seeds)."""
    mean, se = mean_se(differences)
    if len(differences) < 2 or not abs(mean) > 2 * se:
        return 'within noise'
    if all(d > 0 for d in differences):
        return 'better'
    if all(d < 0 for d in differences):
        return 'worse'
    return 'within noise'


def is_lower_better(key: str, extra=()) -> bool:
    name = key.lower()
    return key in extra or any(p in name.split('/')[-1] for p in LOWER_IS_BETTER)


def relative_change(joint: float, single: float, lower_is_better: bool) -> float:
    """Signed relative change in percent, + = better (nan against a zero baseline)."""
    if single == 0:
        return float('nan')
    change = (joint - single) / abs(single) * 100.0
    return -change if lower_is_better else change


def delta_m(runs: dict, heads, arms, metrics: dict, lower_better=(), reference=None) -> dict:
    """The whole report from ``runs[(name, seed)] = run record``: ``name`` is an arm or
    ``single_<head>``. Only seeds with the single runs of every head and the arm's run
    count for that arm (paired)."""
    seeds = sorted({seed for (_, seed) in runs})
    singles = {}
    for head in heads:
        values = {s: runs[(SINGLE_PREFIX + head, s)]['metrics'][metrics[head]]
                  for s in seeds if (SINGLE_PREFIX + head, s) in runs}
        singles[head] = dict(metric=metrics[head], per_seed=values,
                             lower_is_better=is_lower_better(metrics[head], lower_better),
                             s_per_iter=_mean_of(runs, SINGLE_PREFIX + head, 's_per_iter'),
                             cpu_s_per_iter=_mean_of(runs, SINGLE_PREFIX + head,
                                                     'cpu_s_per_iter'))
    report = dict(heads=list(heads), metrics=metrics, singles=singles, arms={},
                  reference=reference)
    for arm in arms:
        paired = [s for s in seeds if (arm, s) in runs
                  and all(s in singles[h]['per_seed'] for h in heads)]
        if not paired:
            continue
        per_task, values = {}, {}
        for head in heads:
            key, single = metrics[head], singles[head]
            values[head] = {s: runs[(arm, s)]['metrics'][key] for s in paired}
            per_task[head] = {s: relative_change(values[head][s], single['per_seed'][s],
                                                 single['lower_is_better']) for s in paired}
        dm = {s: sum(per_task[h][s] for h in heads) / len(heads) for s in paired}
        entry = dict(seeds=paired, metric_values=values, relative_change=per_task, delta_m=dm,
                     delta_m_mean_se=mean_se(list(dm.values())),
                     relative_change_mean_se={h: mean_se(list(per_task[h].values()))
                                              for h in heads},
                     verdict_vs_single=verdict(list(dm.values())),
                     s_per_iter=_mean_of(runs, arm, 's_per_iter'),
                     cpu_s_per_iter=_mean_of(runs, arm, 'cpu_s_per_iter'),
                     weights=_last_weights(runs, arm, paired))
        report['arms'][arm] = entry
    ref = report['arms'].get(reference)
    for arm, entry in report['arms'].items():
        if ref is None or arm == reference:
            continue
        common = [s for s in entry['seeds'] if s in ref['delta_m']]
        diffs = [entry['delta_m'][s] - ref['delta_m'][s] for s in common]
        if diffs:
            entry['vs_reference'] = dict(seeds=common, differences=diffs,
                                         mean_se=mean_se(diffs), verdict=verdict(diffs))
    return report


def _mean_of(runs, name, key):
    values = [r[key] for (n, _), r in runs.items() if n == name and key in r
              and not math.isnan(r[key])]
    return sum(values) / len(values) if values else float('nan')


def _last_weights(runs, arm, seeds):
    weights = [runs[(arm, s)].get('weights') or {} for s in seeds]
    keys = sorted({k for w in weights for k in w})
    return {k: mean_se([w[k] for w in weights if k in w]) for k in keys}


# ---------------------------------------------------------------------------- report
def _pm(mean_se_pair, digits=2):
    mean, se = mean_se_pair
    return f'{mean:+.{digits}f}' + ('' if math.isnan(se) else f' ± {se:.{digits}f}')


def _value(mean_se_pair, digits=4):
    mean, se = mean_se_pair
    return f'{mean:.{digits}g}' + ('' if math.isnan(se) else f' ± {se:.2g}')


def markdown(report: dict) -> str:
    heads, metrics = report['heads'], report['metrics']
    lines = ['# Multi-task Δm report', '',
             'Mean ± standard error over paired seeds; relative changes and Δm in %, + = better '
             '(sign flipped for lower-is-better metrics). A difference counts only when '
             '|mean| > 2 SE with the same sign on every seed.', '',
             '| run | seeds | ' + ' | '.join(metrics[h] for h in heads) + ' | '
             + ' | '.join(f'Δ{h} %' for h in heads)
             + ' | Δm % | vs single | vs ' + str(report['reference']) + ' | s/iter | CPU s/iter '
             '| weights (last logged) |',
             '|' + '---|' * (2 * len(heads) + 8)]
    for head in heads:
        single = report['singles'][head]
        cells = [_value(mean_se(list(single['per_seed'].values()))) if h == head else '-'
                 for h in heads] if single['per_seed'] else ['-'] * len(heads)
        lines.append(f'| {SINGLE_PREFIX}{head} | {len(single["per_seed"])} | '
                     + ' | '.join(cells) + ' | ' + ' | '.join('-' for _ in heads)
                     + f' | - | - | - | {single["s_per_iter"]:.3f} | '
                     f'{single["cpu_s_per_iter"]:.3f} | - |')
    for arm, entry in report['arms'].items():
        vals = [_value(mean_se(list(entry['metric_values'][h].values()))) for h in heads]
        rel = [_pm(entry['relative_change_mean_se'][h]) for h in heads]
        vs_ref = entry.get('vs_reference')
        ref_cell = (f'{_pm(vs_ref["mean_se"])} ({vs_ref["verdict"]})' if vs_ref else '-')
        weights = ', '.join(f'{k.split("/")[0]} {_value(v, 3)}'
                            for k, v in entry['weights'].items()) or '-'
        lines.append(f'| {arm} | {len(entry["seeds"])} | ' + ' | '.join(vals) + ' | '
                     + ' | '.join(rel) + f' | **{_pm(entry["delta_m_mean_se"])}** | '
                     f'{entry["verdict_vs_single"]} | {ref_cell} | {entry["s_per_iter"]:.3f} | '
                     f'{entry["cpu_s_per_iter"]:.3f} | {weights} |')
    if not report['arms']:
        return '\n'.join(lines) + '\n'
    lines += ['', '## Δm per seed (%)', '', '| run | ' + ' | '.join(
        f'seed {s}' for s in _all_seeds(report)) + ' |',
        '|---|' + '---|' * len(_all_seeds(report))]
    for arm, entry in report['arms'].items():
        lines.append(f'| {arm} | ' + ' | '.join(
            f'{entry["delta_m"][s]:+.2f}' if s in entry['delta_m'] else '-'
            for s in _all_seeds(report)) + ' |')
    return '\n'.join(lines) + '\n'


def _all_seeds(report):
    return sorted({s for e in report['arms'].values() for s in e['seeds']})


def plot(report: dict, path: str):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    arms = list(report['arms'])
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(arms) + 1.5), 3.6))
    for i, arm in enumerate(arms):
        entry = report['arms'][arm]
        mean, se = entry['delta_m_mean_se']
        ax.bar(i, mean, color='tab:green' if mean >= 0 else 'tab:red', alpha=0.6)
        if not math.isnan(se):
            ax.errorbar(i, mean, yerr=2 * se, color='k', capsize=4)
        ax.scatter([i] * len(entry['delta_m']), list(entry['delta_m'].values()), color='k',
                   s=10, zorder=3)
    ax.axhline(0, color='k', lw=0.8)
    ax.set_xticks(range(len(arms)))
    ax.set_xticklabels(arms, rotation=30, ha='right', fontsize=8)
    ax.set_ylabel('Δm vs single-task (%)')
    ax.set_title('bars: mean, whiskers: ±2 SE, dots: seeds', fontsize=9)
    ax.grid(alpha=0.3, axis='y')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---------------------------------------------------------------------------- CLI
def _pairs(items, what):
    out = {}
    for item in items or []:
        if '=' not in item:
            sys.exit(f'error: {what} {item!r}: give NAME=VALUE')
        key, value = item.split('=', 1)
        out[key] = value
    return out


def parse_arm(text: str):
    """``NAME`` or ``NAME=key=value key=value ...`` -> (name, [key=value, ...])."""
    name, _, options = text.partition('=')
    if not name or '/' in name:
        sys.exit(f'error: --arm {text!r}: the name (before the first =) names a folder')
    return name, options.split()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='the joint MultiTaskModel config')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--arm', action='append', default=[], metavar='NAME[=K=V ...]',
                        help="a joint run: a name and its --cfg-options, e.g. "
                        "'famo=model.loss_balance=famo' (repeat; default: one arm 'joint')")
    parser.add_argument('--single', nargs='+', metavar='HEAD=CONFIG',
                        help='baseline config of a head (default: derived from CONFIG)')
    parser.add_argument('--metric', nargs='+', metavar='HEAD=KEY',
                        help='the metric of a head (default: its first test metric)')
    parser.add_argument('--lower-is-better', nargs='+', default=[], metavar='KEY',
                        help=f'metrics where smaller is better (known: names containing '
                        f'{", ".join(LOWER_IS_BETTER)})')
    parser.add_argument('--reference', help='arm the others are compared with (default: first)')
    parser.add_argument('--amp', action='store_true', help='every run with --amp')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='K=V',
                        help='passed to every run (single and joint), before an arm\'s own')
    parser.add_argument('--work-root', help='default: work_dirs/multitask_delta/<config name>')
    parser.add_argument('--report-only', action='store_true', help='no runs, only the report')
    parser.add_argument('--only', nargs='+', metavar='RUN',
                        help='start only these runs (arm names or single_<head>); the others '
                        'are reported when done (e.g. run by another invocation)')
    args = parser.parse_args(argv)
    if not osp.isfile(args.config):
        sys.exit(f'error: config not found: {args.config}')
    from mmengine.config import Config

    from hrnet_tasks.errors import ConfigError
    name = osp.splitext(osp.basename(args.config))[0]
    work_root = args.work_root or osp.join('work_dirs', 'multitask_delta', name)
    cfg = Config.fromfile(args.config)
    heads = list((cfg.model.get('heads') or {}))
    if cfg.model.get('type') != 'MultiTaskModel' or len(heads) < 2:
        sys.exit(f'error: {args.config}: model must be a MultiTaskModel with 2+ heads')
    arms = [parse_arm(a) for a in args.arm] or [('joint', [])]
    if len({a for a, _ in arms}) != len(arms):
        sys.exit('error: --arm names must differ')
    singles = _pairs(args.single, '--single')
    unknown = sorted(set(singles) - set(heads))
    if unknown:
        sys.exit(f'error: --single names {unknown}, which are not heads {heads}')
    os.makedirs(work_root, exist_ok=True)
    single_configs = {}
    for head in heads:
        if head in singles:
            single_configs[head] = singles[head]
            continue
        path = osp.join(work_root, f'{SINGLE_PREFIX}{head}.py')
        try:
            derived = single_task_config(cfg, head)
        except ConfigError as err:
            sys.exit(f'error: {args.config}: {err}')
        # written whole under another name first: a run of another invocation may read it
        derived.dump(f'{path}.tmp{os.getpid()}.py')
        os.replace(f'{path}.tmp{os.getpid()}.py', path)
        single_configs[head] = path
    plan = []
    for seed in args.seeds:
        plan += [(SINGLE_PREFIX + h, single_configs[h], seed, list(args.cfg_options))
                 for h in heads]
        plan += [(arm, args.config, seed, [*args.cfg_options, *options])
                 for arm, options in arms]
    runs = {}
    for run_name, config, seed, options in plan:
        run_dir = osp.join(work_root, run_name, f'seed{seed}')
        done = osp.join(run_dir, 'run.json')
        if osp.isfile(done):
            with open(done) as f:
                runs[(run_name, seed)] = json.load(f)
            continue
        if args.report_only or (args.only and run_name not in args.only):
            continue
        print(f'[delta-m] {time.strftime("%H:%M:%S")} {run_name} seed {seed}', flush=True)
        try:
            runs[(run_name, seed)] = run_one(config, run_dir, seed, args.amp, options)
        except RuntimeError as err:
            print(f'[delta-m] {run_name} seed {seed} FAILED: {err}', flush=True)
    metrics = _pairs(args.metric, '--metric')
    for head in heads:
        if head not in metrics:
            found = [k for r in runs.values() for k in r['metrics'] if k.startswith(head + '/')]
            if not found:
                sys.exit(f'error: no finished run reports a metric of head {head!r}')
            metrics[head] = found[0]
    report = delta_m(runs, heads, [a for a, _ in arms], metrics, args.lower_is_better,
                     args.reference or arms[0][0])
    md, png, js = (osp.join(work_root, f'delta_m.{ext}') for ext in ('md', 'png', 'json'))
    with open(md, 'w') as f:
        f.write(markdown(report))
    with open(js, 'w') as f:
        json.dump(report, f, indent=1, default=str)
    if report['arms']:
        plot(report, png)
    print(open(md).read())
    print(f'wrote {md}, {js}' + (f' and {png}' if report['arms'] else ''))


if __name__ == '__main__':
    main()
