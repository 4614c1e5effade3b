"""HigherHRNet model: shapes, exact parameter counts, official key layout, losses, init."""
import importlib.util
import os.path as osp

import pytest
import torch

from hrnet_tasks.models.losses import AssociativeEmbeddingLoss, MaskedHeatmapMSELoss
from hrnet_tasks.models.converters.pose import pose_official_to_ours, pose_ours_to_official
from hrnet_tasks.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOCS = osp.join(ROOT, '..', 'shared', 'docs')


def build(arch='w32', channels=32, **head):
    return MODELS.build(
        dict(type='BottomUpPoseEstimator',
             backbone=dict(type='HRNet', arch=arch, out_mode='highest'),
             head=dict(type='HigherHRNetHead', in_channels=channels, **head)))


@pytest.fixture(scope='module')
def w32():
    torch.manual_seed(0)
    model = build()
    model.init_weights()
    return model.eval()


def _tsv(name):
    path = osp.join(DOCS, name)
    if not osp.isfile(path):
        pytest.skip(f'official key list not found: {path} (../shared beside the repo)')
    rows = [line.rstrip('\n').split('\t') for line in open(path) if line.strip()]
    return [(k, tuple(int(v) for v in s.strip('()').split(',') if v.strip())) for k, s in rows]


def test_parameter_counts_equal_official():
    w32, w48 = build(), build('w48', 48)
    assert sum(p.numel() for p in w32.parameters()) == 28_645_331
    assert sum(p.numel() for p in w32.backbone.parameters()) == 28_535_552
    assert sum(p.numel() for p in w32.head.parameters()) == 109_779
    assert sum(p.numel() for p in w48.parameters()) == 63_827_139
    assert sum(p.numel() for p in w48.head.parameters()) == 232_227
    for model in (w32, w48):
        sd = model.state_dict()
        assert len(sd) == 1810
        assert sum(1 for k in sd
                   if k.endswith(('running_mean', 'running_var', 'num_batches_tracked'))) == 903


@pytest.mark.parametrize('arch,channels', [('w32', 32), ('w48', 48)])
@pytest.mark.parametrize('size,shapes', [((512, 512), ((34, 128, 128), (17, 256, 256))),
                                         ((640, 640), ((34, 160, 160), (17, 320, 320))),
                                         ((512, 704), ((34, 128, 176), (17, 256, 352)))])
def test_output_shapes_full_size(arch, channels, size, shapes):
    model = build(arch, channels).eval().to('meta')  # shapes only: no compute
    with torch.no_grad():
        y0, y1 = model(torch.zeros(2, 3, *size, device='meta'), mode='tensor')
    assert (tuple(y0.shape), tuple(y1.shape)) == ((2, ) + shapes[0], (2, ) + shapes[1])


def test_output_shapes_and_tensor_mode():
    with torch.no_grad():
        small = build('w18_small_v1', 16).eval()
        y0, y1 = small(torch.zeros(2, 3, 128, 192), mode='tensor')
    assert y0.shape == (2, 34, 32, 48) and y1.shape == (2, 17, 64, 96)


def test_head_init_is_official(w32):
    for layer in w32.head.final_layers:
        assert layer.weight.std().item() == pytest.approx(0.001, rel=0.15)
        assert torch.count_nonzero(layer.bias) == 0
    deconv = w32.head.deconv_layers[0][0][0]
    assert isinstance(deconv, torch.nn.ConvTranspose2d) and deconv.bias is None
    assert deconv.weight.shape == (66, 32, 4, 4)
    assert deconv.weight.std().item() == pytest.approx(0.001, rel=0.1)


@pytest.mark.parametrize('arch,channels,tsv', [('w32', 32, 'pose_official_state_dict_w32.tsv'),
                                               ('w48', 48, 'pose_official_state_dict_w48.tsv')])
def test_official_key_layout_matches_companion_file(arch, channels, tsv):
    official = _tsv(tsv)
    model = build(arch, channels)
    ours_as_official = pose_ours_to_official(model.state_dict())
    assert [k for k, _ in official] == list(ours_as_official)  # same keys, same order
    assert {k: s for k, s in official} == {k: tuple(v.shape) for k, v in ours_as_official.items()}


def _converter():
    spec = importlib.util.spec_from_file_location('convert_checkpoint',
                                                  osp.join(ROOT, 'tools', 'convert_checkpoint.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_converter_official_roundtrip_strict(w32, tmp_path):
    official = _tsv('pose_official_state_dict_w32.tsv')
    torch.manual_seed(1)
    src = build()
    for p in src.parameters():
        p.data.uniform_(-0.05, 0.05)
    # an fp16 640-style file: '1.' prefix, half weights (BN statistics kept fp32)
    state = {
        ('1.' + k): (v.half() if v.is_floating_point() and 'running' not in k else v)
        for k, v in pose_ours_to_official(src.state_dict()).items()
    }
    assert sorted(k[2:] for k in state) == sorted(k for k, _ in official)
    path_in, path_out = tmp_path / 'official.pth', tmp_path / 'ours.pth'
    torch.save(state, path_in)
    converted = _converter().main(
        ['--src', 'official', '--task', 'pose',
         str(path_in), str(path_out)])
    assert converted.arch == 'w32'
    assert converted.config == 'configs/pose/higherhrnet_w32_coco_512.py'
    out = torch.load(path_out, map_location='cpu', weights_only=True)['state_dict']
    target = build()
    result = target.load_state_dict(out, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert all(v.dtype != torch.float16 for v in out.values())
    # same outputs as the (half-rounded) source
    src.load_state_dict({
        k: v.float() if v.is_floating_point() else v
        for k, v in pose_official_to_ours(state).items()
    })
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(src.eval()(x), target.eval()(x)):
            assert torch.isfinite(a).all() and a.abs().max() > 0
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def _ae_reference_input():
    tags = torch.arange(32, dtype=torch.float32).reshape(1, 2, 4, 4) / 10  # 0.0, 0.1, ..., 3.1
    joints = torch.zeros(1, 30, 2, 2, dtype=torch.int64)
    joints[0, 0] = torch.tensor([[3, 1], [22, 1]])
    joints[0, 1] = torch.tensor([[10, 1], [30, 1]])
    return tags, joints


@pytest.mark.parametrize('push_type,push_ref', [('exp', 0.2848914), ('max', 0.125)])
def test_ae_loss_reference_values(push_type, push_ref):
    tags, joints = _ae_reference_input()
    push, pull = AssociativeEmbeddingLoss(push_type, 1.0, 1.0)(tags, joints)
    assert push.item() == pytest.approx(push_ref, abs=1e-6)
    assert pull.item() == pytest.approx(0.95125, abs=1e-6)
    weighted = AssociativeEmbeddingLoss(push_type)(tags, joints)
    assert weighted[0].item() == pytest.approx(push_ref * 1e-3, abs=1e-9)


def test_ae_loss_edge_cases_and_invariances():
    loss = AssociativeEmbeddingLoss('exp', 1.0, 1.0)
    tags, joints = _ae_reference_input()
    push, pull = loss(tags, torch.zeros_like(joints))
    assert push.item() == 0 and pull.item() == 0
    one = joints.clone()
    one[0, 1] = 0
    push, pull = loss(tags, one)
    assert push.item() == 0 and pull.item() == pytest.approx(0.9025, abs=1e-6)
    swapped = joints.clone()
    swapped[0, 0], swapped[0, 1] = joints[0, 1], joints[0, 0]
    invalid = joints.clone()
    invalid[0, 2] = torch.tensor([[5, 0], [7, 0]])  # a person row with no valid joint
    ref = loss(tags, joints)
    for other in (swapped, invalid):
        assert torch.allclose(torch.stack(loss(tags, other)), torch.stack(ref))


def test_ae_loss_stays_fp32_under_autocast():
    tags, joints = _ae_reference_input()
    tags = tags.clone().requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        push, pull = AssociativeEmbeddingLoss('exp', 1.0, 1.0)(tags.bfloat16() * 1.0, joints)
    assert push.dtype == torch.float32 and pull.dtype == torch.float32
    assert torch.isfinite(push) and torch.isfinite(pull)
    assert push.item() == pytest.approx(0.2848914, abs=2e-2)
    (push + pull).backward()
    assert torch.isfinite(tags.grad).all()


def test_heatmap_loss_reference_values():
    pred, gt = torch.ones(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)
    mask = torch.ones(1, 4, 4)
    mask[0, 0, :2] = 0
    assert MaskedHeatmapMSELoss()(pred, gt, mask).item() == pytest.approx(14 / 16)
    mask = torch.ones(1, 4, 4)
    mask[0, :2] = 0
    assert MaskedHeatmapMSELoss()(pred, gt, mask).item() == pytest.approx(0.5)
    # per-image mean, then the batch mean
    two = MaskedHeatmapMSELoss()(torch.ones(2, 1, 4, 4), torch.zeros(2, 1, 4, 4),
                                 torch.stack([torch.ones(4, 4), mask[0]]))
    assert two.item() == pytest.approx(0.75)


def test_loss_mode_returns_all_terms():
    from hrnet_tasks.datasets.transforms.bottomup import PackBottomupInputs
    from hrnet_tasks.codecs import AssociativeEmbedding
    import numpy as np
    codec = AssociativeEmbedding(input_size=128)
    model = build('w18_small_v1', 16)
    model.init_weights()
    kpts = np.zeros((1, 17, 3), np.float32)
    kpts[0, :, 0], kpts[0, :, 1], kpts[0, :, 2] = np.linspace(5, 25, 17), 16, 2
    res = [kpts, kpts * np.array([2, 2, 1], np.float32)]
    t = codec.encode(res, [32, 64])
    packed = PackBottomupInputs().transform(
        dict(img=np.zeros((128, 128, 3), np.uint8),
             heatmaps=t['heatmaps'],
             joints=t['joints'],
             masks=[np.ones((32, 32), np.float32),
                    np.ones((64, 64), np.float32)]))
    data = model.data_preprocessor(
        dict(inputs=[packed['inputs']] * 2, data_samples=[packed['data_samples']] * 2), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_hm_1_4', 'loss_hm_1_2', 'loss_push', 'loss_pull'}
    assert all(torch.isfinite(v) for v in losses.values())
    # an untrained head predicts ~0, so the heatmap loss is the mean squared target
    assert losses['loss_hm_1_4'].item() == pytest.approx(float((t['heatmaps'][0]**2).mean()),
                                                         rel=0.05)


def test_predict_blank_batch_gives_empty_results_and_multiscale_runs():
    from mmengine.structures import BaseDataElement
    torch.manual_seed(0)
    model = build('w18_small_v1', 16)
    model.init_weights()
    model.eval()
    samples = [
        BaseDataElement(
            metainfo=dict(input_size=(128, 128), warp_center=(50, 50), warp_scale=100 / 128)),
        BaseDataElement(
            metainfo=dict(input_size=(64, 128), warp_center=(25, 50), warp_scale=100 / 128))
    ]
    with torch.no_grad():
        out = model.predict(torch.zeros(2, 3, 128, 128), samples)
    assert [s.pred_keypoints.shape for s in out] == [(0, 17, 2), (0, 17, 2)]
    assert [s.pred_scores.shape for s in out] == [(0, ), (0, )]
    model.test_cfg['scale_factors'] = [2.0, 1.0, 0.5]
    with torch.no_grad():
        hm, tags = model.forward_test(torch.randn(1, 3, 128, 192))
    assert hm.shape == (1, 17, 128, 192) and tags.shape == (1, 17, 128, 192, 2)


def test_backbone_starts_from_a_classification_checkpoint(tmp_path):
    cls = MODELS.build(
        dict(type='ImageClassifier',
             backbone=dict(type='HRNet', arch='w18_small_v1', out_mode='all'),
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='LinearClsHead', num_classes=3, in_channels=128)))
    torch.save({'state_dict': cls.state_dict()}, tmp_path / 'cls.pth')
    pose = MODELS.build(
        dict(type='BottomUpPoseEstimator',
             backbone=dict(type='HRNet',
                           arch='w18_small_v1',
                           out_mode='highest',
                           init_cfg=dict(type='Pretrained',
                                         checkpoint=str(tmp_path / 'cls.pth'),
                                         prefix='backbone.')),
             head=dict(type='HigherHRNetHead', in_channels=16)))
    pose.init_weights()
    src = cls.state_dict()
    for key, value in pose.backbone.state_dict().items():
        assert torch.equal(value, src['backbone.' + key]), key
    # the extra fuse rows of the last stage-4 module are the only backbone keys not used
    unused = {k for k in src if k.startswith('backbone.')} - \
        {'backbone.' + k for k in pose.backbone.state_dict()}
    assert unused and all(k.startswith('backbone.stage4.0.fuse_layers.') for k in unused)


COCO_GROUP_ORDER = [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16]


def test_coco_grouping_order_is_the_default():
    """Shipped pose configs pass no metainfo; COCO's keypoints still group in the official
    order (head, shoulders, hips, elbows, wrists, knees, ankles)."""
    from mmengine.config import Config

    from hrnet_tasks.datasets.coco_keypoints import COCO_METAINFO
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'pose', 'higherhrnet_w32_coco_512.py'))
    cfg.model.backbone.arch = 'w18_small_v1'  # same head settings, cheaper to build
    assert 'metainfo' not in cfg.model
    assert MODELS.build(cfg.model).codec.joint_order == COCO_GROUP_ORDER
    # COCO keypoints named without a group_order, a custom order, an explicit codec order
    coco_names = {k: v for k, v in COCO_METAINFO.items() if k != 'group_order'}
    assert build('w18_small_v1', 16, metainfo=coco_names).codec.joint_order == COCO_GROUP_ORDER
    custom = dict(coco_names, group_order=list(range(16, -1, -1)))
    assert build('w18_small_v1', 16, metainfo=custom).codec.joint_order == list(range(16, -1, -1))
    explicit = build('w18_small_v1', 16, codec=dict(type='AssociativeEmbedding',
                                                     joint_order=list(range(17))))
    assert explicit.codec.joint_order == list(range(17))
    # another keypoint count has no known order: 0..K-1
    assert build('w18_small_v1', 16, num_keypoints=5).codec.joint_order == list(range(5))


def test_grouping_order_changes_people_with_drifting_tags():
    """One person whose tag drifts nose 0.0 -> hip 0.6 -> elbow 1.2 (tag_thr 1): visiting the
    hip before the elbow (COCO order) keeps one person; 0..16 splits it in two."""
    from hrnet_tasks.codecs import AssociativeEmbedding
    hms, tags = torch.zeros(1, 17, 32, 32), torch.zeros(1, 17, 32, 32, 1)
    for k, (x, tag) in {0: (5, 0.0), 11: (15, 0.6), 7: (25, 1.2)}.items():
        hms[0, k, 10, x], tags[0, k, 10, x, 0] = 1.0, tag
    (coco, _), = AssociativeEmbedding(refine=False,
                                      joint_order=COCO_GROUP_ORDER).decode(hms, tags)
    (plain, _), = AssociativeEmbedding(refine=False).decode(hms, tags)
    assert len(coco) == 1 and len(plain) == 2
