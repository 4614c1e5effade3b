"""hrnet_tasks.apis and tools/demo.py for classification."""
import glob
import os.path as osp

import cv2
import pytest
import torch

from conftest import run_tool
from hrnet_tasks.apis import ClassificationResult, inference, init_model
from hrnet_tasks.engine.checkpoint import atomic_save

CFG = 'configs/tiny/cls.py'


@pytest.fixture(scope='module')
def tiny_checkpoint(tiny_data, tmp_path_factory):
    torch.manual_seed(0)
    model = init_model(CFG)
    classes = sorted(osp.basename(p) for p in glob.glob(osp.join(tiny_data, 'cls', 'val', '*')))
    path = str(tmp_path_factory.mktemp('ckpt') / 'tiny.pth')
    atomic_save(dict(meta=dict(dataset_meta=dict(classes=classes)),
                     state_dict=model.state_dict()), path)
    return path, classes


def test_inference_paths_arrays_and_batches(tiny_data, tiny_checkpoint):
    path, classes = tiny_checkpoint
    model = init_model(CFG, path)
    images = sorted(glob.glob(osp.join(tiny_data, 'cls', 'val', '*', '*.JPEG')))[:5]
    by_path = inference(model, images, batch_size=2)
    by_array = inference(model, [cv2.imread(p) for p in images], batch_size=5)
    assert len(by_path) == 5 and all(isinstance(r, ClassificationResult) for r in by_path)
    for a, b in zip(by_path, by_array):
        assert a.labels == b.labels
        assert a.scores == pytest.approx(b.scores, abs=1e-5)
        assert len(a.labels) == 5 and a.scores == sorted(a.scores, reverse=True)
        assert 0 < sum(a.scores) <= 1 + 1e-5
        assert a.names == [classes[i] for i in a.labels]
    # the API equals the model's own logits
    single = inference(model, images[0])
    with torch.inference_mode():
        data = model.data_preprocessor(dict(inputs=[torch.from_numpy(
            cv2.imread(images[0])).permute(2, 0, 1)], data_samples=None))
        logits = model(data['inputs'], mode='tensor')
    assert single.labels[0] == int(logits.argmax())


def test_demo_writes_png(tiny_data, tiny_checkpoint, tmp_path):
    path, _ = tiny_checkpoint
    image = sorted(glob.glob(osp.join(tiny_data, 'cls', 'val', '*', '*.JPEG')))[0]
    out = tmp_path / 'demo.png'
    proc = run_tool('tools/demo.py', CFG, path, image, '--out', str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    png = cv2.imread(str(out))
    assert png is not None and png.shape[0] == 320  # small inputs are upscaled for reading
    legend = png[:, 320:]  # the top-5 classes with their scores, dark text on white
    assert legend.shape[1] >= 160 and (legend == 255).all(axis=2).mean() > 0.5
    assert (legend < 100).all(axis=2).sum() > 200


def test_wrong_arch_checkpoint_is_refused(tiny_checkpoint):
    path, _ = tiny_checkpoint
    with pytest.raises(ValueError, match="w18_small_v1.*w32|w32.*w18_small_v1"):
        init_model('configs/cls/hrnet_w32.py', path)
