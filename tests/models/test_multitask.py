"""MultiTaskModel: one backbone pass per forward, joint gradients, loss balancing, errors."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from hrnet_tasks.errors import ConfigError
from hrnet_tasks.registry import DATASETS, MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = Config.fromfile(osp.join(ROOT, 'configs', 'tiny', 'multitask.py'))
SIZE = 64


def _model(**changes):
    cfg = copy.deepcopy(CFG.model)
    cfg.update(changes)
    return MODELS.build(cfg)


def _count_backbone_calls(model):
    calls = []
    forward = model.backbone.forward
    model.backbone.forward = lambda x: calls.append(tuple(x.shape)) or forward(x)
    return calls


@pytest.fixture(scope='module')
def batches(tiny_data):
    """A training batch and a test batch of 2 real tiny images (64x64 training input)."""
    codec = dict(CFG.codec, input_size=SIZE)
    train = [dict(t) for t in CFG.train_pipeline]
    train[2].update(input_size=SIZE)
    train[5].update(codec=codec)
    test = [dict(t) for t in CFG.test_pipeline]
    test[2].update(input_size=SIZE)
    out = {}
    for split, pipeline in (('train', train), ('val', test)):
        ds = DATASETS.build(dict(CFG[f'{split}_dataloader'].dataset, pipeline=pipeline,
                                 data_root=osp.join(tiny_data, 'multitask')))
        np.random.seed(0)
        out[split] = pseudo_collate([ds[i] for i in range(2)])
    return out


def _prep(model, batch, training):
    return model.data_preprocessor(copy.deepcopy(batch), training)


def test_backbone_runs_once_per_forward_and_per_test_view(batches, one_thread, seeded):
    model = _model()
    calls = _count_backbone_calls(model)
    data = _prep(model, batches['train'], True)
    outs = model(data['inputs'], mode='tensor')
    assert set(outs) == {'pose', 'seg'} and len(calls) == 1
    losses = model(**data, mode='loss')
    assert len(calls) == 2
    assert any(k.startswith('pose/loss') for k in losses)
    assert any(k.startswith('seg/loss') for k in losses)
    model.eval()
    data = _prep(model, batches['val'], False)
    with torch.no_grad():
        samples = model(**data, mode='predict')
    # pose views: (1, no flip), (1, flip); seg: (1, no flip) shares the first pass
    assert len(calls) == 4
    for sample in samples:  # every head filled its field on the same sample
        assert sample.pred_keypoints.ndim == 3 and sample.pred_keypoints.shape[1:] == (17, 2)
        assert tuple(sample.pred_sem_seg.data.shape[-2:]) == tuple(sample.ori_shape)


def test_gradients_reach_both_heads_and_the_shared_backbone(batches, one_thread, seeded):
    model = _model()
    data = _prep(model, batches['train'], True)
    loss, _ = model.parse_losses(model(**data, mode='loss'))
    loss.backward()
    for part in (model.heads.pose, model.heads.seg, model.backbone):
        grads = [p.grad for p in part.parameters() if p.requires_grad]
        assert all(g is not None for g in grads)
        assert sum(float(g.abs().sum()) for g in grads) > 0
    # the seg loss alone reaches the backbone stem: the shared part is really shared
    model.zero_grad()
    model(**_prep(model, batches['train'], True), mode='loss')['seg/loss_ce'].backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.heads.pose.parameters())


def test_fixed_weights_scale_each_task_loss(batches, one_thread, seeded):
    torch.manual_seed(0)
    plain = _model(loss_balance='fixed')
    data = _prep(plain, batches['train'], True)
    base = plain(**data, mode='loss')
    torch.manual_seed(0)
    weighted = _model(loss_balance='fixed', loss_weights=dict(pose=1.0, seg=0.25))
    scaled = weighted(**data, mode='loss')
    assert scaled['seg/loss_ce'].item() == pytest.approx(0.25 * base['seg/loss_ce'].item(),
                                                         rel=1e-5)
    assert scaled['pose/loss_push'].item() == pytest.approx(base['pose/loss_push'].item(),
                                                            rel=1e-5)
    assert scaled['seg/acc_seg'].item() == pytest.approx(base['seg/acc_seg'].item())


def test_uncertainty_weights_learn(batches, one_thread, seeded):
    model = _model(loss_balance='uncertainty')
    data = _prep(model, batches['train'], True)
    optim = torch.optim.Adam(model.parameters(), lr=0.05)
    start = {n: float(p.detach()) for n, p in model.loss_balancer.log_vars.items()}
    for _ in range(3):
        losses = model(**data, mode='loss')
        loss, log = model.parse_losses(losses)
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert {'pose/weight', 'seg/weight'} <= set(log)  # the learned weights are logged
    moved = {n: float(p.detach()) - start[n] for n, p in model.loss_balancer.log_vars.items()}
    assert all(abs(v) > 1e-3 for v in moved.values()), moved
    log_var = model.loss_balancer.log_vars['seg'].detach()
    assert log['seg/weight'] == pytest.approx(float(torch.exp(-log_var)), rel=0.2)


def test_unknown_head_in_loss_weights_lists_the_heads():
    with pytest.raises(ConfigError, match=r"\['sgm'\].*\['pose', 'seg'\]"):
        _model(loss_weights=dict(pose=1.0, sgm=1.0))


def test_batch_of_a_task_without_head_fails_clearly(batches, one_thread, seeded):
    model = _model()
    data = _prep(model, batches['train'], True)
    for sample in data['data_samples']:
        sample.set_metainfo(dict(task='cls'))
    with pytest.raises(RuntimeError, match=r"task 'cls'.*\['pose', 'seg'\]"):
        model(**data, mode='loss')


def test_batch_tagged_with_one_task_trains_only_that_head(batches, one_thread, seeded):
    model = _model()
    data = _prep(model, batches['train'], True)
    for sample in data['data_samples']:
        sample.set_metainfo(dict(task='seg'))
    losses = model(**data, mode='loss')
    # the seg terms (and the balancer's logged seg/weight), nothing of pose
    assert {'seg/loss_ce', 'seg/acc_seg'} <= set(losses)
    assert all(key.startswith('seg/') for key in losses), sorted(losses)


def test_segmentation_on_bottomup_inputs_is_mapped_back_to_the_original_pixels():
    """The test resize centres and scales the image into a padded canvas; a head that
    predicts the warped mask exactly must give back the original mask."""
    from hrnet_tasks.datasets.transforms.bottomup import BottomupResize
    from hrnet_tasks.models.multitask.multitask_model import predict_seg_through_warp
    from mmengine.structures import BaseDataElement
    h, w = 90, 150
    mask = np.zeros((h, w), np.uint8)
    mask[20:70, 30:60] = 1
    mask[10:40, 100:140] = 1
    img = np.repeat(mask[..., None] * 255, 3, axis=2)
    res = BottomupResize(input_size=64).transform(dict(img=img))
    warped = torch.from_numpy(res['img'][..., 0] > 127).float()
    logits = torch.stack([1 - warped, warped])[None] * 10  # at the input size
    head = _model().heads.seg
    head.seg_logits = lambda feats: feats
    sample = BaseDataElement(metainfo={k: res[k] for k in ('ori_shape', 'img_shape', 'input_size',
                                                          'warp_center', 'warp_scale')})
    sample.set_metainfo(dict(batch_input_shape=tuple(warped.shape)))
    predict_seg_through_warp(head, [logits], [sample], dict(mode='whole'))
    pred = sample.pred_sem_seg.data[0].numpy()
    assert pred.shape == (h, w)
    agree = (pred == mask).mean()
    assert agree > 0.98, agree  # only edge pixels of a 1.4x downscale may differ


def test_init_weights_reaches_every_head():
    model = _model()
    model.init_weights()
    # HigherHRNet's official init: every conv N(0, 0.001) (PyTorch's default is far wider)
    with torch.no_grad():
        pose_std = float(model.heads.pose.final_layers[0].weight.std())
        seg_std = float(model.heads.seg.conv_seg.weight.std())
    assert pose_std == pytest.approx(1e-3, rel=0.3)
    assert seg_std == pytest.approx(1e-2, rel=0.3)  # FCN classifier: N(0, 0.01)
