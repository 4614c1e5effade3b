"""Speed options: ``benchmark.py pipeline``, ``--compile`` (train/test and benchmark), and the
native-bf16 detection with its warnings. Cheap by design: torch.compile itself runs only with
the ``eager`` backend on a tiny model (inductor would compile for minutes on a CPU)."""
import argparse
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
import warnings

import pytest
import torch

from hrnet_tasks import cpu_capability

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(name):
    spec = importlib.util.spec_from_file_location(f'tool_{name}',
                                                  osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def no_native_bf16(monkeypatch):
    """This CPU as if it had neither avx512_bf16 nor AMX."""
    monkeypatch.setattr(cpu_capability, 'bf16_instruction_sets', lambda: ())


def test_bf16_detection_reads_cpu_flags(monkeypatch):
    cpu_capability.bf16_instruction_sets.cache_clear()
    monkeypatch.setattr(cpu_capability, '_cpuinfo_flags', lambda: {'avx2', 'avx512_bf16'})
    assert cpu_capability.bf16_instruction_sets() == ('avx512_bf16', )
    assert cpu_capability.native_bf16() and cpu_capability.bf16_warning('--amp') is None
    cpu_capability.bf16_instruction_sets.cache_clear()
    monkeypatch.setattr(cpu_capability, '_cpuinfo_flags', lambda: {'avx2', 'avx512f'})
    assert cpu_capability.bf16_instruction_sets() == ()
    assert 'no native bf16' in cpu_capability.describe_cpu()
    cpu_capability.bf16_instruction_sets.cache_clear()


def test_amp_warns_once_without_native_bf16(no_native_bf16):
    from hrnet_tasks.cli import apply_speed_args
    cfg = argparse.Namespace()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        apply_speed_args(cfg, argparse.Namespace(amp=True, compile=False))
    messages = [str(w.message) for w in caught]
    if torch.cuda.is_available():
        assert not messages
        return
    assert len(messages) == 1
    assert '--amp' in messages[0] and 'avx512_bf16' in messages[0] and 'fp32' in messages[0]
    assert '\n' not in messages[0]


def test_amp_is_silent_with_native_bf16(monkeypatch):
    from hrnet_tasks.cli import apply_speed_args
    monkeypatch.setattr(cpu_capability, 'bf16_instruction_sets', lambda: ('amx_bf16', ))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        apply_speed_args(argparse.Namespace(), argparse.Namespace(amp=True, compile=False))


def test_compile_flag_sets_mmengine_compile_and_eval_hook(monkeypatch):
    from mmengine.config import Config

    from hrnet_tasks.cli import apply_speed_args
    from hrnet_tasks.engine.launch import add_common_args
    parser = argparse.ArgumentParser()
    add_common_args(parser)
    assert parser.parse_args([]).compile is False  # the default nowhere
    args = parser.parse_args(['--compile'])
    monkeypatch.setattr(cpu_capability, 'compile_problem', lambda device='cpu': None)
    cfg = Config(dict(custom_hooks=[dict(type='ExactResumeHook')]))
    apply_speed_args(cfg, args)
    assert cfg.compile is True
    assert [h['type'] for h in cfg.custom_hooks] == ['ExactResumeHook', 'CompileEvalHook']


def test_compile_falls_back_with_one_warning(monkeypatch):
    from mmengine.config import Config

    from hrnet_tasks.cli import apply_speed_args
    monkeypatch.setattr(cpu_capability.shutil, 'which', lambda name: None)
    monkeypatch.delenv('CXX', raising=False)
    if torch.cuda.is_available():
        pytest.skip('the CPU compiler check applies to CPU runs')
    cfg = Config(dict())
    with pytest.warns(UserWarning, match='--compile: no C.. compiler.*running eager'):
        apply_speed_args(cfg, argparse.Namespace(amp=False, compile=True))
    assert 'compile' not in cfg


def test_compile_eval_hook_compiles_test_step_once():
    from mmengine.config import Config
    from mmengine.logging import MMLogger

    from hrnet_tasks.engine.compile import CompileEvalHook

    class Tiny(torch.nn.Module):
        def test_step(self, x):
            return x * 2

    runner = argparse.Namespace(model=Tiny(), cfg=Config(dict(compile=dict(backend='eager'))),
                                logger=MMLogger.get_instance('test_compile_hook'))
    hook = CompileEvalHook()
    hook.before_test(runner)
    compiled = runner.model.test_step
    hook.before_test(runner)
    assert runner.model.test_step is compiled  # not wrapped twice
    assert torch.equal(compiled(torch.ones(2)), torch.full((2, ), 2.0))


def test_benchmark_compile_candidate_reports_ratio_inputs(capsys):
    bench = load_tool('benchmark')
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten(), torch.nn.Linear(4, 3))
    args = argparse.Namespace(device='cpu', batch=2, size=16, mode='train', seed=0,
                              compile_backend='eager', channels_last=False, bf16=False)
    cand = bench.compile_candidate(model, args, False, False, None, 'ours+compile')
    assert cand is not None and cand.compile_s > 0
    bench.measure_interleaved([cand], warmup=0, repeats=1, min_time=0, log=lambda msg: None)
    assert cand.img_s > 0
    assert 'compiled in' in capsys.readouterr().out


def test_benchmark_pipeline_mode(tmp_path):
    """Samples/s per worker and the share of each transform, on the tiny pose config."""
    if not osp.isdir(osp.join(ROOT, 'data', 'tiny', 'pose')):
        pytest.skip('data/tiny/pose missing: run data_prep/make_tiny.py --tasks pose')
    out_json = tmp_path / 'pipeline.json'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, 'tools/benchmark.py', 'pipeline', '--config',
                           'configs/tiny/pose.py', '--samples', '4', '--warmup', '1',
                           '--json', str(out_json)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith('pipeline benchmark: configs/tiny/pose.py')
    assert 'native bf16' in lines[0]  # the CPU capability, either way
    assert lines[-1].startswith('samples/s per worker: ')
    data = json.loads(out_json.read_text())
    names = list(data['ms_per_sample'])
    assert names == ['LoadImage', 'BottomupRandomAffine', 'BottomupRandomFlip',
                     'GenerateBottomupTargets', 'PackBottomupInputs']
    assert data['per_worker_samples_s'] > 0 and all(v >= 0 for v in data['ms_per_sample'].values())
    shares = [line for line in lines if line.split()[0] in names]
    assert len(shares) == len(names) and all(line.rstrip().endswith('%') for line in shares)


def test_inference_api_picks_fp32_channels_last_without_native_bf16(no_native_bf16):
    from mmengine.config import Config

    from hrnet_tasks.apis import optimize_model
    from hrnet_tasks.registry import MODELS
    from hrnet_tasks.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'tiny', 'cls.py'))
    model = MODELS.build(cfg.model).eval()
    model.cfg = cfg
    with pytest.warns(UserWarning, match='optimize_model.*avx512_bf16'):
        fast = optimize_model(model, bf16=True)
    assert fast.inference_dtype is None  # fp32
    conv = next(m for m in fast.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert optimize_model(model).inference_dtype is None  # automatic choice: fp32 too
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.backbone.modules())
