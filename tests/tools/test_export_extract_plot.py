"""tools/export_onnx.py, tools/extract_backbone.py and tools/analysis/plot_logs.py."""
import json
import os

import cv2
import pytest
import torch

from conftest import calibrate_bn, run_tool
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


def calibrated_checkpoint(config, path, size):
    """Random weights with BN statistics measured on random batches, so activations
    stay O(1) and an absolute tolerance means something."""
    torch.manual_seed(0)
    model = calibrate_bn(init_model(config), size)
    atomic_save(dict(state_dict=model.state_dict()), str(path))
    return str(path)


@pytest.mark.parametrize('config, size, outputs', [
    (CFG, None, 1),                                   # logits
    ('configs/tiny/pose.py', None, 2),                # 1/4 heatmaps+tags, 1/2 heatmaps
    ('configs/tiny/seg.py', None, 1),                 # FCN logits
    ('configs/seg/ocr_hrnetv2_w18_small_cityscapes_512x1024.py', (128, 256), 2),  # aux, main
])
def test_export_onnx_matches_pytorch(tiny_data, tmp_path, config, size, outputs):
    pytest.importorskip('onnxruntime')
    import numpy as np
    import onnxruntime as ort
    ckpt = calibrated_checkpoint(config, tmp_path / 'model.pth', size or (64, 64))
    out = tmp_path / 'model.onnx'
    args = ['--input-size', *map(str, size)] if size else []
    proc = run_tool('tools/export_onnx.py', config, ckpt, str(out), '--dynamic-batch', *args,
                    env={'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    diff = float(proc.stdout.split('max abs diff:')[1].split()[0])
    scale = float(proc.stdout.split('largest |output|')[1].split(')')[0])
    # fp32 rounding grows with the outputs: OCR logits of BN-calibrated random weights
    # reach tens, where 1e-4 absolute is a few ulps
    assert diff < 1e-4 * max(1.0, scale), (diff, scale)
    session = ort.InferenceSession(str(out))
    assert len(session.get_outputs()) == outputs
    # a batch size other than the traced one runs: the batch axis is dynamic
    h, w = size or ((64, 64) if config == CFG else (128, 128) if 'pose' in config else (64, 128))
    results = session.run(None, {'input': np.zeros((3, 3, h, w), np.float32)})
    assert all(r.shape[0] == 3 for r in results)


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
