"""HRNetV2 segmentors: sizes, shapes, align_corners plumbing, OCR/loss invariants,
inference modes, and the official-checkpoint converter (bias fold)."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.structures import BaseDataElement, PixelData

from conftest import ROOT
from hrnet_tasks.models.heads.ocr_head import spatial_gather
from hrnet_tasks.models.losses.seg_losses import CITYSCAPES_CLASS_WEIGHTS
from hrnet_tasks.models.converters.seg import official_seg_to_ours, ours_to_official_seg
from hrnet_tasks.registry import MODELS

SEG = osp.join(ROOT, 'configs', 'seg')


def build(name, **model_changes):
    cfg = Config.fromfile(osp.join(SEG, name))
    cfg.model.update(model_changes)
    return MODELS.build(cfg.model)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope='module')
def w48_fcn():
    return build('fcn_hrnetv2_w48_cityscapes_512x1024.py')


@pytest.fixture(scope='module')
def w48_ocr():
    return build('ocr_hrnetv2_w48_cityscapes_512x1024.py')


def test_w48_parameter_counts(w48_fcn, w48_ocr):
    # ours has no redundant conv bias before BN (mmseg layout); the official
    # networks add one per such conv: +720 (last_layer) / +720 +512 (aux, conv3x3_ocr)
    assert n_params(w48_fcn) == 65_858_659
    assert n_params(w48_ocr) == 70_371_446
    assert n_params(w48_fcn) + 720 == 65_859_379  # official HRNetV2-W48, 65.86 M
    assert n_params(w48_ocr) + 1232 == 70_372_678  # official HRNetV2-W48 + OCR, 70.37 M
    assert round((n_params(w48_fcn) + 720) / 1e6, 2) == 65.86
    assert round((n_params(w48_ocr) + 1232) / 1e6, 2) == 70.37
    assert n_params(w48_fcn.backbone) == 65_325_120


@pytest.mark.parametrize('name, count', [
    ('fcn_hrnetv2_w18_cityscapes_512x1024.py', 9_640_849),
    ('fcn_hrnetv2_w18_small_cityscapes_512x1024.py', 3_939_309),
    ('ocr_hrnetv2_w18_cityscapes_512x1024.py', 12_080_036),
    ('ocr_hrnetv2_w18_small_cityscapes_512x1024.py', 6_378_496),
    ('fcn_hrnetv2_w48_ade20k_512x512.py', 65_953_110),
    ('ocr_hrnetv2_w18_ade20k_512x512.py', 12_182_740),
])
def test_other_parameter_counts(name, count):
    assert n_params(build(name)) == count


def test_align_corners_follows_official_configs(w48_fcn, w48_ocr):
    for model, expected in ((w48_fcn, False), (w48_ocr, True)):
        assert model.align_corners is expected
        assert model.backbone.align_corners is expected
        fuse = [m for m in model.backbone.modules() if hasattr(m, 'upsample_mode')]
        assert fuse and all(m.upsample_mode == 'bilinear' and m.align_corners is expected
                            for m in fuse)
        heads = model.decode_head if model.cascade else [model.decode_head]
        assert all(h.align_corners is expected for h in heads)


def tiny(name='fcn_hrnetv2_w18_small_cityscapes_512x1024.py', ocr=False, **changes):
    """W18-Small-v1 (240 channels) on the structure of the given config."""
    cfg = Config.fromfile(osp.join(SEG, name)).model
    cfg.backbone.arch = 'w18_small_v1'
    heads = cfg.decode_head if isinstance(cfg.decode_head, list) else [cfg.decode_head]
    for head in heads:
        head.in_channels = 240
    cfg.update(changes)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def test_align_corners_reaches_fuse_layers():
    x = torch.randn(1, 3, 72, 100)
    a = tiny(align_corners=False).eval()
    b = tiny(align_corners=True).eval()
    b.load_state_dict(a.state_dict())
    with torch.no_grad():
        fa, fb = a.backbone(x)[0], b.backbone(x)[0]
        # branch 0 of the concat differs only through the fuse-layer upsampling
        assert (fa[:, :16] - fb[:, :16]).abs().max() > 1e-4
        b.backbone.align_corners = False  # concat only: fuse layers keep True
        fc = b.backbone(x)[0]
        assert torch.equal(fc[:, :16], fb[:, :16])


def test_shapes_channels_and_tensor_mode():
    for arch, channels in (('w18', 270), ('w48', 720), ('w18_small_v2', 270),
                           ('w18_small_v1', 240)):
        assert MODELS.build(dict(type='HRNet', arch=arch, out_mode='concat')).out_channels == \
            [channels]
    fcn = tiny().eval()
    ocr = tiny('ocr_hrnetv2_w18_small_cityscapes_512x1024.py').eval()
    x = torch.randn(2, 3, 67, 131)  # odd sizes: ceil-halving in the stem
    with torch.no_grad():
        assert fcn.backbone(x)[0].shape == (2, 240, 17, 33)
        logits = fcn(x, mode='tensor')
        assert logits.shape == (2, 19, 17, 33)
        aux, main = ocr(x, mode='tensor')
        assert aux.shape == main.shape == (2, 19, 17, 33)
        assert not torch.allclose(aux, main)


def samples_for(x, labels=None, ori=None):
    out = []
    for i in range(x.shape[0]):
        s = BaseDataElement(metainfo=dict(img_shape=tuple(x.shape[-2:]),
                                          ori_shape=ori or tuple(x.shape[-2:])))
        if labels is not None:
            s.gt_sem_seg = PixelData(data=labels[i:i + 1])
        out.append(s)
    return out


def test_predict_whole_slide_and_tta_resize_to_original():
    model = tiny().eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        whole = model.predict_logits(x, samples_for(x, ori=(100, 150)))[0]
        assert whole.shape == (19, 100, 150)
        # a crop at least as large as the image: one window == whole inference
        model.test_cfg = dict(mode='slide', crop_size=(64, 96), stride=(48, 64))
        slide = model.predict_logits(x, samples_for(x, ori=(100, 150)))[0]
        assert torch.allclose(slide, whole, atol=1e-5)
        model.test_cfg = dict(mode='slide', crop_size=(48, 64), stride=(32, 48))
        overlapped = model.predict_logits(x, samples_for(x))[0]
        assert overlapped.shape == (19, 64, 96) and torch.isfinite(overlapped).all()
        model.test_cfg = dict(mode='whole', scales=[0.75, 1.0], flip=True)
        probs = model.predict_logits(x, samples_for(x, ori=(100, 150)))[0]
        assert probs.shape == (19, 100, 150)
        assert torch.allclose(probs.sum(0), torch.ones(100, 150), atol=1e-4)
        model.test_cfg = dict(mode='whole', scales=[1.0, 0.5], flip=True, fusion='official')
        summed = model.predict_logits(x, samples_for(x))[0]
        logits = model.inference(x)[0]
        flipped = model.inference(x.flip(-1))[0].flip(-1)
        small = model.inference(F.interpolate(x, (32, 48), mode='bilinear'))
        small = (small + model.inference(F.interpolate(x, (32, 48), mode='bilinear').flip(-1))
                 .flip(-1)) / 2
        expected = ((logits + flipped) / 2).exp() + F.interpolate(
            small, (64, 96), mode='bilinear').exp()[0]
        assert torch.allclose(summed, expected, rtol=1e-4, atol=1e-5)
        preds = model.predict(x, samples_for(x, ori=(100, 150)))
        assert preds[0].pred_sem_seg.data.shape == (1, 100, 150)


class ConstantLogits:
    """Stands in for encode_decode: the same per-pixel logits everywhere."""

    def __init__(self, k):
        self.v = torch.randn(k)

    def __call__(self, x):
        return self.v.view(1, -1, 1, 1).expand(x.shape[0], -1, *x.shape[-2:]).clone()


def test_slide_equals_whole_for_constant_logits():
    model = tiny().eval()
    model.encode_decode = ConstantLogits(19)
    x = torch.randn(1, 3, 70, 110)
    model.test_cfg = dict(mode='slide', crop_size=(32, 48), stride=(20, 30))
    slide = model.inference(x)
    model.test_cfg = dict(mode='whole')
    assert torch.allclose(slide, model.inference(x), atol=1e-6)


def test_loss_keys_ocr_weights_and_ignore():
    model = tiny('ocr_hrnetv2_w18_small_cityscapes_512x1024.py').train()
    x = torch.randn(2, 3, 64, 64)
    labels = torch.randint(0, 19, (2, 64, 64))
    labels[:, :10] = 255
    losses = model.loss(x, samples_for(x, labels))
    assert set(losses) == {'decode_0.loss_ce', 'decode_0.acc_seg', 'decode_1.loss_ce',
                           'decode_1.acc_seg'}
    # the aux loss is 0.4 x the weighted CE of the aux logits
    model.eval()
    with torch.no_grad():
        aux, main = model(x, mode='tensor')
        ce = model.decode_head[0].loss_decode
        aux_up = F.interpolate(aux, (64, 64), mode='bilinear', align_corners=True)
        w = torch.tensor(CITYSCAPES_CLASS_WEIGHTS)
        ref = F.cross_entropy(aux_up, labels, weight=w, ignore_index=255)
        assert torch.allclose(ce(aux_up, labels), 0.4 * ref, rtol=1e-5)


def test_ignored_pixels_do_not_change_loss_or_gradients():
    from hrnet_tasks.models.losses.seg_losses import PixelCrossEntropyLoss
    loss = PixelCrossEntropyLoss(class_weight='cityscapes')
    logits = torch.randn(2, 19, 16, 16, requires_grad=True)
    labels = torch.randint(0, 19, (2, 16, 16))
    labels[:, :4] = 255
    value = loss(logits, labels)
    value.backward()
    grad = logits.grad.clone()
    assert grad[:, :, :4].abs().max() == 0
    changed = logits.detach().clone()
    changed[:, :, :4] = torch.randn(2, 19, 4, 16) * 100
    changed.requires_grad_(True)
    value2 = loss(changed, labels)
    value2.backward()
    assert torch.allclose(value, value2) and torch.allclose(changed.grad, grad)
    # all-ignore: 0 instead of PyTorch's NaN; mmseg reduction divides by all pixels
    assert loss(logits, torch.full_like(labels, 255)).item() == 0
    plain = PixelCrossEntropyLoss()
    mm = PixelCrossEntropyLoss(avg_non_ignore=False)
    valid = (labels != 255).sum()
    assert torch.allclose(mm(logits, labels), plain(logits, labels) * valid / labels.numel())


def test_ohem_keeps_the_official_set():
    from hrnet_tasks.models.losses.seg_losses import OhemPixelCrossEntropyLoss
    torch.manual_seed(0)
    logits = torch.randn(1, 5, 20, 20) * 3
    labels = torch.randint(0, 5, (1, 20, 20))
    labels[0, :2] = 255
    ohem = OhemPixelCrossEntropyLoss(thresh=0.7, min_kept=50)
    prob = logits.softmax(1).gather(1, labels.clamp(max=4)[:, None])[:, 0]
    valid = labels != 255
    kth = prob[valid].sort()[0][50]
    expected = valid & (prob < max(kth.item(), 0.7))
    assert torch.equal(ohem.keep_mask(logits, labels), expected)
    ce = F.cross_entropy(logits, labels, ignore_index=255, reduction='none')
    assert torch.allclose(ohem(logits, labels), ce[expected].mean())
    everything = OhemPixelCrossEntropyLoss(thresh=1.0, min_kept=10_000)
    assert torch.equal(everything.keep_mask(logits, labels), valid)
    assert everything(logits, torch.full_like(labels, 255)).item() == 0


def test_ocr_gather_and_attention_invariants():
    probs = torch.randn(2, 3, 5, 7)
    weights = F.softmax(probs.reshape(2, 3, -1), dim=2)
    assert torch.allclose(weights.sum(2), torch.ones(2, 3))
    const = torch.ones(2, 8, 5, 7) * torch.arange(8.).view(1, 8, 1, 1)
    regions = spatial_gather(const, probs)
    assert regions.shape == (2, 8, 3, 1)
    assert torch.allclose(regions[..., 0], torch.arange(8.).view(1, 8, 1).expand(2, 8, 3))
    model = tiny('ocr_hrnetv2_w18_small_cityscapes_512x1024.py').eval()
    block = model.decode_head[1].object_context_block
    x = torch.randn(2, 512, 6, 6)
    sim = block.attention(x, spatial_gather(x, torch.randn(2, 19, 6, 6)))
    assert sim.shape == (2, 36, 19) and torch.allclose(sim.sum(-1), torch.ones(2, 36), atol=1e-5)


# ---------------------------------------------------------------- converter

def randomize(model, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
            elif isinstance(m, torch.nn.Conv2d) and m.bias is not None:
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
    return model.eval()


@pytest.mark.parametrize('config, n_keys', [('fcn_hrnetv2_w48_cityscapes_512x1024.py', 1838),
                                            ('ocr_hrnetv2_w48_cityscapes_512x1024.py', 1888)])
def test_official_checkpoint_converts_with_bias_fold(config, n_keys, w48_fcn, w48_ocr, tmp_path,
                                                     capsys):
    import sys
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    import convert_checkpoint
    model = randomize(w48_ocr if config.startswith('ocr') else w48_fcn, seed=1)
    kind = 'ocr' if config.startswith('ocr') else 'fcn'
    gen = torch.Generator().manual_seed(2)
    bias_keys = (['aux_head.0.bias', 'conv3x3_ocr.0.bias'] if kind == 'ocr'
                 else ['last_layer.0.bias'])
    ref_state = model.state_dict()
    biases = {k: torch.randn(512 if 'ocr' in k else 720, generator=gen) for k in bias_keys}
    official = ours_to_official_seg(ref_state, biases=biases)  # official FullModel layout
    official['loss.criterion.weight'] = torch.ones(19)
    assert len(official) == n_keys + len(bias_keys) + 1
    assert all(k.startswith(('model.', 'loss.')) for k in official)
    src = tmp_path / 'official.pth'
    torch.save(official, src)
    out = tmp_path / 'ours.pth'
    convert_checkpoint.main(['--src', 'official', '--task', 'seg', str(src), str(out)])
    printed = capsys.readouterr().out
    assert f'configs/seg/{config}' in printed and 'folded' in printed
    state = torch.load(out, weights_only=True)['state_dict']
    assert len(state) == n_keys
    fresh = build(config)
    missing, unexpected = fresh.load_state_dict(state, strict=True)
    assert not missing and not unexpected
    fresh.eval()
    x = torch.randn(1, 3, 64, 64, generator=gen)
    with torch.no_grad():
        ref, got = model(x, mode='tensor'), fresh(x, mode='tensor')
    ref, got = (ref[-1], got[-1]) if kind == 'ocr' else (ref, got)
    assert ref.abs().max() > 0.1
    diff = (ref - got).abs().max().item()
    print(f'official {kind} -> ours: max abs logit diff {diff:.2e} (|logits| <= '
          f'{ref.abs().max():.2f}), {len(state)} tensors, folded {bias_keys}')
    assert diff < 1e-4 * max(1.0, ref.abs().max().item())
    # dropping the biases instead of folding them changes the logits
    dropped = {k: v for k, v in official.items() if k[len('model.'):] not in bias_keys}
    wrong, _, _ = official_seg_to_ours(dropped)
    fresh.load_state_dict(wrong, strict=True)
    with torch.no_grad():
        bad = fresh(x, mode='tensor')
    bad = bad[-1] if kind == 'ocr' else bad
    assert (bad - ref).abs().max() > 1e-3


def test_converter_rejects_foreign_checkpoints(tmp_path):
    import sys
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    import convert_checkpoint
    src = tmp_path / 'cls.pth'
    torch.save({'conv1.weight': torch.zeros(64, 3, 3, 3), 'classifier.weight': torch.zeros(2, 2)},
               src)
    with pytest.raises(SystemExit, match='no HRNet segmentation head'):
        convert_checkpoint.main(['--src', 'official', '--task', 'seg', str(src),
                                 str(tmp_path / 'o.pth')])


def test_backbone_initialises_from_a_classification_checkpoint(tmp_path):
    cls_cfg = Config.fromfile(osp.join(ROOT, 'configs', 'cls', 'hrnet_w18_small_v1.py'))
    classifier = MODELS.build(cls_cfg.model)
    randomize(classifier, seed=5)
    ckpt = tmp_path / 'cls.pth'
    torch.save({'state_dict': classifier.state_dict()}, ckpt)
    init = dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.')
    cfg = Config.fromfile(osp.join(SEG, 'fcn_hrnetv2_w18_small_cityscapes_512x1024.py')).model
    cfg.backbone.update(arch='w18_small_v1', init_cfg=init)
    cfg.decode_head.in_channels = 240
    seg = MODELS.build(cfg)
    seg.init_weights()
    ours = seg.backbone.state_dict()
    theirs = {k[len('backbone.'):]: v for k, v in classifier.state_dict().items()
              if k.startswith('backbone.')}
    assert set(ours) == set(theirs)
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_syncbn_switch_reaches_the_heads():
    cfg = Config.fromfile(osp.join(SEG, 'ocr_hrnetv2_w18_small_cityscapes_512x1024.py')).model
    cfg.backbone.norm_cfg = dict(type='SyncBN')
    model = MODELS.build(cfg)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert bns and all(isinstance(m, torch.nn.SyncBatchNorm) for m in bns)
