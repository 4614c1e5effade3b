"""tools/export_onnx.py, tools/extract_backbone.py and tools/analysis/plot_logs.py."""
import json
import os

import cv2
import pytest
import torch

from conftest import run_tool
from hrnet_tasks.apis import init_model
from hrnet_tasks.engine.checkpoint import atomic_save
from hrnet_tasks.models.backbones import HRNet

CFG = 'configs/tiny/cls.py'


@pytest.fixture(scope='module')
def cls_checkpoint(tmp_path_factory):
    torch.manual_seed(1)
    model = init_model(CFG)
    path = str(tmp_path_factory.mktemp('ckpt') / 'cls.pth')
    atomic_save(dict(meta=dict(dataset_meta=dict(classes=list('abcdefghij'))),
                     state_dict=model.state_dict()), path)
    return path, model


def test_export_onnx_matches_pytorch(cls_checkpoint, tmp_path):
    pytest.importorskip('onnxruntime')
    path, _ = cls_checkpoint
    out = tmp_path / 'cls.onnx'
    proc = run_tool('tools/export_onnx.py', CFG, path, str(out), '--dynamic-batch')
    assert proc.returncode == 0, proc.stderr[-2000:]
    diff = float(proc.stdout.split('max abs diff:')[1].split()[0])
    assert diff < 1e-4 and out.is_file()
    # a batch size other than the traced one runs: the batch axis is dynamic
    import numpy as np
    import onnxruntime as ort
    logits = ort.InferenceSession(str(out)).run(None, {'input': np.zeros((3, 3, 64, 64),
                                                                         np.float32)})[0]
    assert logits.shape == (3, 10)


def test_extract_backbone_loads_into_any_hrnet(cls_checkpoint, tmp_path):
    path, model = cls_checkpoint
    out = tmp_path / 'backbone.pth'
    proc = run_tool('tools/extract_backbone.py', path, str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'HRNet w18_small_v1' in proc.stdout
    saved = torch.load(out, weights_only=True)
    assert all(k.startswith('backbone.') for k in saved['state_dict'])
    # the pose-style single-output backbone takes it through init_cfg, reporting unused keys
    backbone = HRNet('w18_small_v1', out_mode='highest',
                     init_cfg=dict(type='Pretrained', checkpoint=str(out), prefix='backbone.'))
    backbone.init_weights()
    source = model.backbone.state_dict()
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, source[key]), key
    report = backbone.load_pretrained(str(out), prefix='backbone.')
    assert report['missing'] == []
    assert report['unexpected'] and all('fuse_layers' in k for k in report['unexpected'])


def test_plot_logs_writes_png(tmp_path):
    run = tmp_path / 'run' / '20260101_000000' / 'vis_data'
    os.makedirs(run)
    records = [dict(loss=2.0 - 0.1 * i, lr=0.1, epoch=1 + i // 4, iter=i + 1, step=i + 1)
               for i in range(8)] + [dict(**{'accuracy/top1': 40.0}, step=1),
                                     dict(**{'accuracy/top1': 55.0}, step=2)]
    (run / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in records))
    out = tmp_path / 'curves.png'
    proc = run_tool('tools/analysis/plot_logs.py', str(tmp_path / 'run'), '--out', str(out))
    assert proc.returncode == 0, proc.stderr
    assert 'loss, accuracy/top1' in proc.stdout
    img = cv2.imread(str(out))
    assert img is not None and img.shape[1] > img.shape[0]  # two panels side by side
    missing = run_tool('tools/analysis/plot_logs.py', str(tmp_path / 'nothing'))
    assert missing.returncode != 0 and 'error:' in missing.stderr
