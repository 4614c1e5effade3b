"""tools/benchmark.py det / detpose: the candidates, parameter counts and ratio lines (tiny
sizes; the figures themselves are measured by hand, see docs/detection.md)."""
import json
import re

from conftest import run_tool


def test_det_mode_times_ours_next_to_torchvision(tmp_path):
    out_json = tmp_path / 'det.json'
    proc = run_tool('tools/benchmark.py', 'det', '--configs', 'configs/tiny/det.py',
                    '--height', '128', '--width', '160', '--repeats', '1', '--warmup', '0',
                    '--min-time', '0', '--json', str(out_json), env={'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert re.fullmatch(r'det / tv R50-FPN: \d+\.\d\d', lines[-1])
    assert 'parameters tv R50-FPN: 41,808,406' in proc.stdout  # BatchNorm2d: 41,755,286 + BN
    data = json.load(open(out_json))
    assert [r['model'] for r in data['results']] == ['det', 'tv R50-FPN']


def test_detpose_mode_compares_the_joint_model_with_two(tmp_path):
    proc = run_tool('tools/benchmark.py', 'detpose', '--repeats', '1', '--warmup', '0',
                    '--min-time', '0', env={'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    params = re.search(r'parameters: joint ([\d,]+) \(backbone ([\d,]+)\); separate ([\d,]+) '
                       r'\(detector ([\d,]+) \+ pose ([\d,]+)\)', proc.stdout)
    joint, backbone, separate, det, pose = (int(g.replace(',', '')) for g in params.groups())
    assert separate == det + pose and joint < separate
    # the joint model is the detector plus the pose head: one backbone less
    assert det - backbone + (pose - 1_284_672) == joint - backbone
    assert re.search(r'time per image joint / separate: \d+\.\d\d', proc.stdout)
