"""optimize_for_inference: BN folded into convs, same outputs, fewer BN layers."""
import pytest
import torch
from mmengine.config import Config
from torch.nn.modules.batchnorm import _BatchNorm

from conftest import calibrate_bn
from hrnet_tasks.models import optimize_for_inference
from hrnet_tasks.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread', 'seeded')


def calibrated(config, size):
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    return calibrate_bn(model, size, batches=2)


def flat(out):
    return [out] if torch.is_tensor(out) else [t for o in out for t in flat(o)]


@pytest.mark.parametrize('config, size', [
    ('configs/tiny/cls.py', (64, 64)),
    ('configs/tiny/pose.py', (128, 128)),
    ('configs/seg/ocr_hrnetv2_w18_small_cityscapes_512x1024.py', (64, 128)),
])
def test_folding_keeps_outputs(config, size):
    model = calibrated(config, size)
    fused = optimize_for_inference(model)
    before = sum(isinstance(m, _BatchNorm) for m in model.modules())
    after = sum(isinstance(m, _BatchNorm) for m in fused.modules())
    assert before > 60 and after == 0  # every BN of these models follows a conv
    x = torch.randn(2, 3, *size)
    with torch.no_grad():
        for a, b in zip(flat(model(x, mode='tensor')), flat(fused(x, mode='tensor'))):
            assert torch.allclose(a, b, atol=1e-4 * max(1.0, a.abs().max().item()), rtol=1e-4)
    # the original is untouched (a copy was folded)
    assert sum(isinstance(m, _BatchNorm) for m in model.modules()) == before
