"""The HRNet arch check runs as a hook on every checkpoint the runner loads."""
import pytest
import torch

from hrnet_tasks.engine import HRNetArchCheckHook, Runner
from hrnet_tasks.errors import ConfigError
from hrnet_tasks.models.backbones import HRNet
from hrnet_tasks.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread', 'seeded')


def classifier(arch):
    return MODELS.build(dict(type='ImageClassifier', backbone=dict(type='HRNet', arch=arch),
                             neck=[dict(type='HRFuseScales'), dict(type='GlobalAveragePooling')],
                             head=dict(type='LinearClsHead', num_classes=3)))


def test_runner_load_checkpoint_names_both_archs(tmp_path):
    runner = Runner(model=classifier('w18_small_v1'), work_dir=str(tmp_path),
                    default_scope='hrnet_tasks')
    assert sum(isinstance(h, HRNetArchCheckHook) for h in runner.hooks) == 1
    other = str(tmp_path / 'v2.pth')
    torch.save({'state_dict': {'backbone.' + k: v
                               for k, v in HRNet(arch='w18_small_v2').state_dict().items()}},
               other)
    with pytest.raises(ConfigError) as err:
        runner.load_checkpoint(other)
    message = str(err.value)
    assert other in message and "'w18_small_v2'" in message and "'w18_small_v1'" in message
    # an unconverted official/timm file (no 'backbone.' prefix) is named as such
    official = str(tmp_path / 'official.pth')
    torch.save(HRNet(arch='w18_small_v1').state_dict(), official)
    with pytest.raises(ConfigError, match='official/timm layout'):
        runner.load_checkpoint(official)
    # a checkpoint of the model's own arch loads
    same = str(tmp_path / 'same.pth')
    source = classifier('w18_small_v1')
    torch.save({'state_dict': source.state_dict()}, same)
    runner.load_checkpoint(same)
    assert torch.equal(runner.model.backbone.conv1.weight, source.backbone.conv1.weight)
