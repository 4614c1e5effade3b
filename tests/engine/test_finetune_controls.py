"""Fine-tuning controls: backbone lr multiplier, frozen stages, linear probe."""
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from hrnet_tasks.registry import MODELS


def _cls_cfg(**backbone):
    cfg = Config.fromfile('configs/tiny/cls.py')
    cfg.model.backbone.update(backbone)
    return cfg


def test_backbone_lr_multiplier():
    cfg = _cls_cfg()
    cfg.merge_from_dict(Config.fromfile('configs/_base_/schedules/finetune_backbone_lr.py')
                        .to_dict())
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base = cfg.optim_wrapper.optimizer.lr
    backbone_ids = {id(p) for p in model.backbone.parameters()}
    for group in wrapper.optimizer.param_groups:
        expected = base * 0.1 if id(group['params'][0]) in backbone_ids else base
        assert abs(group['lr'] - expected) < 1e-12


def test_linear_probe_trains_only_the_head():
    model = MODELS.build(_cls_cfg(frozen_stages=4, norm_eval=True).model)
    model.train()
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert all(p.requires_grad for p in model.head.parameters())
    bn = model.backbone.stage4[0].branches[0][0].bn1
    before = bn.running_mean.clone()
    loss = model(torch.randn(4, 3, 64, 64), mode='tensor').sum()
    loss.backward()
    assert not bn.training and torch.equal(before, bn.running_mean)
    assert all(p.grad is None for p in model.backbone.parameters())
    assert model.head.fc.weight.grad is not None
