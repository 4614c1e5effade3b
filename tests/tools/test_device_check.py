"""``tools/device_check.sh --dry-run``: the GPU check's every step on the CPU with tiny sizes,
so the script that a session with a GPU runs unchanged cannot rot in between."""
import json
import os
import os.path as osp
import subprocess


ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_device_check_dry_run(tiny_data, tmp_path):
    # tiny_data: data/tiny made once for the suite (the script would make it too, slower)
    env = dict(os.environ, OUT=str(tmp_path), OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS',
                                                                                '2'))
    proc = subprocess.run(['bash', 'tools/device_check.sh', '--dry-run'], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])  # the last line is the JSON
    assert summary['dry_run'] is True and summary['env']['device'] == 'cpu'
    assert 'native bf16' in summary['env']['cpu']
    # (a) AMP iterations: finite losses, and the tag loss in fp32 for the pose configs
    for name in ('cls', 'pose', 'seg'):
        assert summary['a'][name]['ok'] is True, summary['a'][name]
        assert summary['a'][name]['all_losses_finite'] is True
    assert summary['a']['pose']['tag_loss_dtypes'] == ['torch.float32']
    assert summary['a_ok'] is True
    # (b) torchrun --dist with one process gives the single-process val metric
    assert summary['b']['dist1_equals_single'] is True, summary['b']
    assert summary['b']['single']['metric'] is not None
    # (c) backbone vs timm, (d) pose forward + decode, (det) vs torchvision, and --compile
    train = summary['c']['w18_small_v1_train']
    assert train['img_s']['timm'] > 0 and train['ratios']['ratio vs timm'] > 0
    assert summary['d']['ratios']['forward+decode ms 128'] > 0
    assert summary['det']['ratios']['det / tv R50-FPN'] > 0  # detection vs torchvision
    compiled = summary['compile']['w18_small_v1_infer']
    assert compiled['ratios']['compile vs eager'] > 0 and compiled['ratios']['compile time s'] > 0
    assert set(summary['goals']) >= {'w32_amp_train_img_s', 'min_ratio_vs_timm',
                                     'pose_forward_decode_ms'}
    raw = json.loads((tmp_path / 'device_check_raw.json').read_text())
    assert raw['b'] == summary['b']
