"""The joint model through tools/export_onnx.py, tools/demo.py and tools/benchmark.py."""
import re

import cv2
import numpy as np
import pytest
import torch

from conftest import calibrate_bn, run_tool
from hrnet_tasks.apis import MultiTaskResult, inference, init_model
from hrnet_tasks.engine.checkpoint import atomic_save

CFG = 'configs/tiny/multitask.py'


@pytest.fixture(scope='module')
def joint_checkpoint(tmp_path_factory):
    """Random weights with measured BN statistics (O(1) activations), COCO pose metainfo."""
    from hrnet_tasks.datasets.coco_keypoints import COCO_METAINFO
    torch.manual_seed(0)
    model = calibrate_bn(init_model(CFG), (64, 64))
    path = str(tmp_path_factory.mktemp('joint') / 'joint.pth')
    meta = dict(COCO_METAINFO, classes=['background', 'person'])
    atomic_save(dict(meta=dict(dataset_meta=meta), state_dict=model.state_dict()), path)
    return path


def test_onnx_export_has_one_named_output_per_head_and_matches(joint_checkpoint, tmp_path):
    ort = pytest.importorskip('onnxruntime')
    out = tmp_path / 'joint.onnx'
    proc = run_tool('tools/export_onnx.py', CFG, joint_checkpoint, str(out), '--dynamic-batch',
                    '--input-size', '64', '64', env={'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert float(proc.stdout.split('max abs diff:')[1].split()[0]) < 1e-4
    session = ort.InferenceSession(str(out))
    assert [o.name for o in session.get_outputs()] == ['pose_0', 'pose_1', 'seg']
    # parity per head on a batch of 2 (the batch axis is dynamic)
    model = init_model(CFG, joint_checkpoint)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = model(x, mode='tensor')
    got = dict(zip(['pose_0', 'pose_1', 'seg'], session.run(None, {'input': x.numpy()})))
    np.testing.assert_allclose(got['pose_0'], expected['pose'][0].numpy(), atol=1e-4)
    np.testing.assert_allclose(got['pose_1'], expected['pose'][1].numpy(), atol=1e-4)
    np.testing.assert_allclose(got['seg'], expected['seg'].numpy(), atol=1e-4)


def test_inference_returns_every_task_and_demo_draws_one_png(tiny_data, joint_checkpoint,
                                                             tmp_path, one_thread):
    image = f'{tiny_data}/multitask/val/000000100004.jpg'
    model = init_model(CFG, joint_checkpoint)
    result = inference(model, image)
    assert isinstance(result, MultiTaskResult) and set(result.tasks) == {'pose', 'seg'}
    h, w = cv2.imread(image).shape[:2]
    assert result['seg'].label_map.shape == (h, w)
    assert result['seg'].classes == ['background', 'person']
    assert result['pose'].keypoints.shape[1:] == (17, 3)
    out_png = tmp_path / 'joint.png'
    proc = run_tool('tools/demo.py', CFG, joint_checkpoint, image, '--out', str(out_png))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'MultiTaskResult(' in proc.stdout
    assert cv2.imread(str(out_png)) is not None


def test_benchmark_multitask_ends_with_the_ratio(tmp_path):
    proc = run_tool('tools/benchmark.py', 'multitask', '--config', CFG, '--size', '64',
                    '--repeats', '1', '--warmup', '0', '--min-time', '0.01',
                    env={'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert re.fullmatch(r'joint vs separate: \d+\.\d\d', lines[-1])
    for name in ('joint', 'separate', 'pose alone', 'seg alone'):
        assert any(line.startswith(name + ' ') for line in lines), name


def test_transfer_tables_list_the_joint_run_under_each_task(tmp_path):
    """tools/transfer.py: a joint run's list of entries puts it in every task's table."""
    import json
    import sys
    sys.path.insert(0, 'tools')
    from transfer import collect, report
    config = 'configs/transfer/tiny_joint_pose_seg.py'
    logs = tmp_path / 'tiny_joint_pose_seg' / '20260101_000000' / 'vis_data'
    logs.mkdir(parents=True)
    records = [dict(epoch=1, iter=26, loss=1.0), dict(step=2, **{'pose/coco/AP': 0.25,
                                                                'seg/mIoU': 40.0}),
               dict(step=4, **{'pose/coco/AP': 0.5, 'seg/mIoU': 60.0})]
    (logs / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in records))
    groups = collect([config], str(tmp_path))
    assert set(groups) == {'tiny pose', 'tiny seg'}
    (init, _, metric, final, best, _), = groups['tiny seg']
    assert init.startswith('joint') and metric == 'seg/mIoU' and final == best == 60.0
    md, _ = report(groups, str(tmp_path))
    table = open(md).read()
    assert '| pose/coco/AP | 0.5 | 0.5 |' in table and '| seg/mIoU | 60 | 60 |' in table
