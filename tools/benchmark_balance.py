"""``tools/benchmark.py balance``: the cost of each loss-balancing method per training step.

    python tools/benchmark.py balance [--config configs/tiny/multitask.py] [--batch 16]
        [--methods fixed uncertainty loss_norm dwa famo] [--conflict] [--bf16]
        [--repeats 3] [--steps 3] [--threads 1] [--json FILE]

One real training batch of the config (its train pipeline, ``--batch`` images) and the
joint model built once per method from the same seed; a step is ``train_step`` (forward,
backward, optimizer step) plus what ``LossBalanceHook`` adds to an iteration (FAMO: its
forward on the same batch after the step). ``--conflict`` adds ``fixed + conflict``: a step
with the gradient-conflict measurement (one forward and one backward per head), the cost of
an iteration on which ``model.grad_conflict_interval`` fires. Methods are timed round-robin,
``--steps`` steps each per round; the clock is the CPU time of this process
(``time.process_time``), so other processes on a shared machine matter less than to wall
time. The last lines give each method's time relative to ``fixed``.
"""
import copy
import os.path as osp
import time
from types import SimpleNamespace

METHODS = ('fixed', 'uncertainty', 'loss_norm', 'dwa', 'famo')


def add_parser(subparsers, bench):
    p = subparsers.add_parser('balance', help='training-step cost of each loss_balance method',
                              description=__doc__.split('\n\n')[0])
    p.add_argument('--config', default='configs/tiny/multitask.py')
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--methods', nargs='+', default=list(METHODS), choices=METHODS)
    p.add_argument('--conflict', action='store_true',
                   help='also time a step with the gradient-conflict measurement')
    p.add_argument('--bf16', action='store_true', help='bfloat16 autocast (as --amp on CPU)')
    p.add_argument('--repeats', type=int, default=3, help='timing rounds (median reported)')
    p.add_argument('--steps', type=int, default=3, help='steps per method and round')
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--threads', type=int)
    p.add_argument('--json', metavar='FILE')
    p.set_defaults(func=lambda args: run(args, bench), device='cpu')


def training_batch(cfg, batch: int):
    from mmengine.dataset import pseudo_collate

    from hrnet_tasks.registry import DATASETS
    dataset = DATASETS.build(copy.deepcopy(cfg.train_dataloader.dataset))
    return pseudo_collate([dataset[i % len(dataset)] for i in range(batch)])


def make_step(cfg, method: str, data_batch, bf16: bool, conflict: bool):
    import torch
    from mmengine.optim import build_optim_wrapper

    from hrnet_tasks.engine.loss_balance_hook import LossBalanceHook
    from hrnet_tasks.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(dict(copy.deepcopy(cfg.model), loss_balance=method,
                              grad_conflict_interval=1 if conflict else 0))
    model.init_weights()
    model.train()
    wrapper_cfg = copy.deepcopy(cfg.optim_wrapper)
    wrapper_cfg['type'] = 'AmpOptimWrapper' if bf16 else 'OptimWrapper'
    optim_wrapper = build_optim_wrapper(model, wrapper_cfg)
    # the two runner attributes (and, for the conflict log, three more) the hook reads
    runner = SimpleNamespace(model=model, optim_wrapper=optim_wrapper, iter=0,
                             visualizer=SimpleNamespace(add_scalars=lambda *a, **k: None),
                             logger=SimpleNamespace(info=lambda *a: None))
    hook = LossBalanceHook()

    def step():
        hook.before_train_iter(runner, 0, data_batch)
        model.train_step(copy.copy(data_batch), optim_wrapper)
        hook.after_train_iter(runner, 0, data_batch)
        runner.iter += 1

    return step


def run(args, bench):
    import statistics

    from mmengine.config import Config
    cfg = Config.fromfile(args.config if osp.isabs(args.config)
                          else osp.join(bench.ROOT, args.config))
    data_batch = training_batch(cfg, args.batch)
    names = list(args.methods) + (['fixed + conflict'] if args.conflict else [])
    steps = {name: make_step(cfg, name.split()[0], data_batch, args.bf16, name != name.split()[0])
             for name in names}
    env = bench.environment(args)
    print(f'balance: {osp.basename(args.config)}, batch {args.batch}, '
          f'{"bf16" if args.bf16 else "fp32"}, torch {env["torch"]}, {env["threads"]} threads',
          flush=True)
    for step in steps.values():
        for _ in range(args.warmup):
            step()
    cpu = {name: [] for name in names}
    for r in range(args.repeats):
        for k in range(len(names)):
            name = names[(r + k) % len(names)]  # rotate the start: no method always first
            t0 = time.process_time()
            for _ in range(args.steps):
                steps[name]()
            cpu[name].append((time.process_time() - t0) / args.steps)
    median = {name: statistics.median(v) for name, v in cpu.items()}
    env['load_after'] = bench.load_average()
    print(f'{"method":<18} {"CPU s/iter":>10} {"vs fixed":>9}')
    base = median.get('fixed') or next(iter(median.values()))
    ratios = {}
    for name in names:
        ratios[f'{name} vs fixed'] = median[name] / base
        print(f'{name:<18} {median[name]:>10.3f} {median[name] / base:>9.2f}')
    if args.json:
        import json
        with open(args.json, 'w') as f:
            json.dump(dict(settings=dict(command='balance', config=args.config, batch=args.batch,
                                         bf16=args.bf16, **env),
                           cpu_s_per_iter=cpu, median=median, ratios=ratios), f, indent=2)
    return median
