"""Smoke tests of tools/benchmark.py and tools/analysis/complexity.py (run as scripts).

Speed is never asserted: only that the tools run and print what they promise.
"""
import os
import os.path as osp
import re
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FLOAT = r'([0-9]+(?:\.[0-9]+)?)'


def _run(*args, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '2'))
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f'{args} failed:\n{proc.stdout}\n{proc.stderr}'
    return proc.stdout


def _ratio(lines, label):
    found = [re.fullmatch(re.escape(label) + r': ' + FLOAT, line) for line in lines]
    found = [m for m in found if m]
    assert len(found) == 1, f'expected one "{label}: X.XX" line in\n' + '\n'.join(lines)
    value = float(found[0].group(1))
    assert value > 0
    return value


def test_benchmark_backbone_smoke(tmp_path):
    out_json = tmp_path / 'bench.json'
    out = _run('tools/benchmark.py', 'backbone', '--arch', 'w18_small_v1', '--size', '64',
               '--batch', '4', '--repeats', '2', '--warmup', '1', '--channels-last',
               '--json', str(out_json))
    lines = [line.strip() for line in out.strip().splitlines()]
    # Ratio lines at the end, `ratio vs timm` last, `ratio vs mmpretrain` right before it.
    assert re.fullmatch(r'ratio vs timm: ' + FLOAT, lines[-1]), lines[-1]
    assert lines[-2].startswith('ratio vs mmpretrain: ')
    assert lines[-3].startswith('vs timm default: ')  # printed because of --channels-last
    for label in ('ratio vs timm', 'ratio vs mmpretrain', 'vs timm default'):
        _ratio(lines, label)
    table = '\n'.join(lines)
    for name in ('timm', 'mmpretrain', 'timm default'):
        assert re.search(rf'^{name}\s+infer', table, re.M), name
    assert re.search(r'^ours\S*\s+infer fp32 NHWC\s+' + FLOAT, table, re.M)
    import json
    data = json.loads(out_json.read_text())
    assert {r['model'].split('+')[0] for r in data['results']} == {
        'ours', 'timm', 'mmpretrain', 'timm default'}
    assert all(r['img_s'] > 0 for r in data['results'])
    assert abs(data['ratios']['ratio vs timm'] - _ratio(lines, 'ratio vs timm')) < 0.006


def test_benchmark_default_mode_has_no_timm_default_line():
    out = _run('tools/benchmark.py', 'backbone', '--arch', 'w18_small_v1', '--size', '64',
               '--batch', '2', '--repeats', '1', '--warmup', '1', '--min-time', '0',
               '--mode', 'train')
    lines = out.strip().splitlines()
    assert lines[-1].startswith('ratio vs timm: ')
    assert lines[-2].startswith('ratio vs mmpretrain: ')
    assert not any(line.startswith('vs timm default') for line in lines)


def test_complexity_w18_small_v1():
    out = _run('tools/analysis/complexity.py', 'configs/cls/hrnet_w18_small_v1.py', '--per-stage')
    # Parameters of our model (mmpretrain layout: head convs without bias) ...
    assert re.search(r'^params: 13,183,624 \(13\.18 M\)$', out, re.M), out
    # ... and the official/timm layout (+ 256 + 512 + 1024 + 2048 head conv biases).
    assert re.search(r'^params, official/timm layout \(\+3,840 head conv biases\): 13,187,464', out,
                     re.M), out
    # The tool counts the whole classifier (backbone + HRFuseScales neck + GAP + fc) with
    # mmengine's FlopAnalyzer: conv/linear MACs + 1 per element for BN, nearest upsampling
    # and pooling, i.e. timm's `infer_gmacs` convention: 1.613 G here (the official
    # README's 1.49 is conv+fc MACs / 2^30 instead).
    m = re.search(r'^GMACs \(multiply-accumulates / 1e9\): ' + FLOAT + '$', out, re.M)
    assert m, out
    gmacs = float(m.group(1))
    assert abs(gmacs - 1.61) / 1.61 < 0.02, gmacs
    assert abs(gmacs - 1.613) < 0.0015, gmacs
    # Per-stage rows: stem, stage1..4, neck, head; they add up to the totals.
    rows = {}
    for line in out.splitlines():
        m = re.match(r'^(stem|stage\d(?: \(incl\. transition\d\))?|neck|head|total)\s+([\d,]+)\s+'
                     r'[\d.]+\s+([\d.]+)', line)
        if m:
            rows[m.group(1).split(' ')[0]] = (int(m.group(2).replace(',', '')), float(m.group(3)))
    assert set(rows) == {'stem', 'stage1', 'stage2', 'stage3', 'stage4', 'neck', 'head', 'total'}
    assert rows['total'][0] == 13_183_624
    assert sum(v[0] for k, v in rows.items() if k != 'total') == 13_183_624
    assert abs(sum(v[1] for k, v in rows.items() if k != 'total') - rows['total'][1]) < 1e-3
    # Backbone parameters: stem..stage4.
    assert sum(rows[k][0] for k in ('stem', 'stage1', 'stage2', 'stage3', 'stage4')) == 1_477_920
