"""Top-down pose model: exact official sizes, head init, loss factor, flip test, decoding
back to the image, prediction prefixes, the head contract attributes."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement

from conftest import ROOT
from hrnet_tasks.datasets.transforms.topdown import (GenerateTarget, GetBBoxCenterScale,
                                                     PackTopdownInputs, TopdownAffine)
from hrnet_tasks.errors import ConfigError
from hrnet_tasks.models.heads import BaseHead, HeatmapHead
from hrnet_tasks.models.heads.heatmap_head import shift_right
from hrnet_tasks.models.losses import KeypointMSELoss
from hrnet_tasks.registry import MODELS


def build(arch='w32', **head):
    return MODELS.build(dict(type='TopdownPoseEstimator',
                             backbone=dict(type='HRNet', arch=arch, out_mode='highest'),
                             head=dict(type='HeatmapHead', num_keypoints=17, **head)))


def test_parameter_counts_equal_the_official_code():
    for arch, total, head in (('w32', 28_536_113, 561), ('w48', 63_595_745, 833)):
        model = build(arch)
        assert sum(p.numel() for p in model.parameters()) == total
        assert sum(p.numel() for p in model.head.parameters()) == head
        assert len(model.state_dict()) == 1754  # 1,752 backbone + final_layer.{weight,bias}


def test_face_variant_is_the_official_face_model():
    model = MODELS.build(dict(
        type='TopdownPoseEstimator',
        backbone=dict(type='HRNet', arch='w18', out_mode='concat', upsample_mode='bilinear',
                      align_corners=False, norm_cfg=dict(type='BN', momentum=0.01)),
        head=dict(type='HeatmapHead', num_keypoints=98, backbone_output='concat',
                  conv_out_channels=(270, ), conv_kernel_sizes=(1, ))))
    assert sum(p.numel() for p in model.parameters()) == 9_662_528
    assert len(model.state_dict()) == 1839
    assert model.head.in_channels == 270 and model.head.conv_layers[0].bias is not None
    assert model.head.conv_layers[1].momentum == 0.01  # the backbone's norm reaches the head


@pytest.mark.parametrize('arch,size,out', [('w32', (256, 192), (17, 64, 48)),
                                           ('w48', (384, 288), (17, 96, 72))])
def test_output_shapes(arch, size, out):
    model = build(arch).eval().to('meta')
    with torch.no_grad():
        y = model(torch.zeros(2, 3, *size, device='meta'), mode='tensor')
    assert tuple(y.shape) == (2, ) + out


def test_head_init_and_deconv_variant():
    torch.manual_seed(0)
    head = HeatmapHead(in_channels=32, deconv_out_channels=(64, 64), deconv_kernel_sizes=(4, 4))
    head.init_weights()
    assert head.final_layer.weight.std().item() == pytest.approx(0.001, rel=0.2)
    assert torch.count_nonzero(head.final_layer.bias) == 0
    assert head.deconv_layers[0].bias is None
    assert head.deconv_layers[0].weight.std().item() == pytest.approx(0.001, rel=0.1)
    assert head(torch.zeros(1, 32, 16, 12)).shape == (1, 17, 64, 48)  # two x2 deconvs
    with pytest.raises(ValueError, match='deconv kernels'):
        HeatmapHead(in_channels=32, deconv_out_channels=(8, ), deconv_kernel_sizes=(5, ))


def test_official_loss_is_half_of_mmpose_and_ignores_weight_zero():
    gen = torch.Generator().manual_seed(0)
    pred, gt = torch.rand(2, 17, 8, 6, generator=gen), torch.rand(2, 17, 8, 6, generator=gen)
    w = torch.ones(2, 17)
    w[0, 3] = 0
    official = KeypointMSELoss(loss_weight=0.5)(pred, gt, w)
    mmpose = KeypointMSELoss(loss_weight=1.0)(pred, gt, w)
    assert official.item() == pytest.approx(0.5 * mmpose.item(), rel=1e-6)
    expect = 0.5 * (((pred - gt)**2) * w[..., None, None]).mean()
    assert official.item() == pytest.approx(expect.item(), rel=1e-6)
    changed = pred.clone()
    changed[0, 3] += 5  # a joint of weight 0 does not change the loss
    assert KeypointMSELoss()(changed, gt, w).item() == pytest.approx(official.item(), rel=1e-6)
    plain = KeypointMSELoss(use_target_weight=False, loss_weight=1.0)(pred, gt)
    assert plain.item() == pytest.approx(((pred - gt)**2).mean().item(), rel=1e-6)


def _identity_head(**kwargs):
    head = HeatmapHead(in_channels=17, **kwargs)
    with torch.no_grad():
        head.final_layer.weight.copy_(torch.eye(17)[..., None, None])
        head.final_layer.bias.zero_()
    return head


def test_flip_test_swaps_pairs_shifts_one_pixel_and_averages():
    head = _identity_head()
    flip = head.flip_indices()
    feats = torch.rand(2, 17, 8, 6)
    # an exactly flip-equivariant stand-in: the flipped view's output is the flipped,
    # pair-swapped original
    views = [(feats, ), (feats.flip(-1)[:, flip], )]
    unshifted = head.test_heatmaps(views, None, dict(shift_heatmap=False))
    torch.testing.assert_close(unshifted, feats)
    shifted = head.test_heatmaps(views, None, {})  # plain codec: shift on by default
    torch.testing.assert_close(shifted, (feats + shift_right(feats)) / 2)
    assert torch.equal(shift_right(feats)[..., 1:], feats[..., :-1])
    assert torch.equal(shift_right(feats)[..., 0], feats[..., 0])
    udp = _identity_head(codec=dict(type='HeatmapCodec', use_udp=True))
    torch.testing.assert_close(udp.test_heatmaps(views, None, {}), feats)
    assert head.test_views(dict(flip_test=False)) == [(1.0, False)]
    assert head.test_views({}) == [(1.0, False), (1.0, True)]


def _packed_crop(codec):
    rng = np.random.default_rng(1)
    kpts = np.stack([rng.uniform(210, 290, 17), rng.uniform(110, 390, 17)], -1)[None]
    data = dict(img=np.zeros((480, 640, 3), np.uint8), img_shape=(480, 640),
                ori_shape=(480, 640), bbox=np.array([[200, 100, 300, 400]], np.float32),
                bbox_score=np.array([0.8], np.float32), keypoints=kpts.astype(np.float32),
                keypoints_visible=np.ones((1, 17), np.float32), img_id=7, id=3)
    for t in (GetBBoxCenterScale(), TopdownAffine((64, 96), use_udp=codec.get('use_udp',
                                                                             False)),
              GenerateTarget(codec), PackTopdownInputs()):
        data = t.transform(data)
    return data


@pytest.mark.parametrize('mode', [{}, dict(unbiased=True), dict(use_udp=True)])
def test_predict_maps_decoded_targets_back_to_image_pixels(mode):
    codec = dict(type='HeatmapCodec', input_size=(64, 96), heatmap_size=(16, 24), sigma=1,
                 **mode)
    model = MODELS.build(dict(type='TopdownPoseEstimator',
                              backbone=dict(type='HRNet', arch='w18_small_v1',
                                            out_mode='highest'),
                              head=dict(type='HeatmapHead', codec=codec),
                              test_cfg=dict(flip_test=False))).eval()
    data = _packed_crop(codec)
    sample = data['data_samples']
    target = sample.gt_heatmaps[None]
    model.head.forward = lambda feats: target  # the perfect network
    with torch.no_grad():
        out = model.test_step(dict(inputs=[data['inputs']], data_samples=[sample]))[0]
    assert out.pred_keypoints.shape == (1, 17, 2) and out.pred_keypoint_scores.shape == (1, 17)
    assert out.pred_scores.tolist() == [pytest.approx(0.8)]
    err = np.abs(out.pred_keypoints - sample.gt_keypoints).max()
    px = sample.metainfo['input_scale'][0] / 16  # image pixels per heatmap pixel
    assert err <= (0.5 if not mode else 0.15) * px + 1e-3


def test_prediction_prefix_and_contract_attributes():
    head = _identity_head(pred_prefix='body_')
    sample = BaseDataElement(metainfo=dict(flip_indices=head.flip_indices()))
    head.predict([(torch.rand(1, 17, 16, 12), )], [sample], dict(flip_test=False))
    assert 'body_pred_keypoints' in sample and 'pred_keypoints' not in sample
    assert sample.body_pred_scores.tolist() == [1.0]  # no box score: 1
    assert head.label_field == 'gt_heatmaps' and head.metainfo is None
    concat = HeatmapHead(in_channels=270, backbone_output='concat')
    assert concat.label_field == 'gt_heatmaps'  # not the seg field of 'concat' heads

    class BareHead(BaseHead):
        backbone_output = 'concat'

    bare = BareHead()
    assert bare.metainfo is None and bare.label_field == 'gt_sem_seg' and bare.pred_prefix == ''


def test_estimator_predicts_with_a_head_without_metainfo():
    """apis.inference used to fail with AttributeError: ... no attribute 'metainfo'."""

    @MODELS.register_module(force=True)
    class OnesHead(BaseHead):
        backbone_output = 'highest'

        def __init__(self, in_channels=None, init_cfg=None):
            super().__init__(init_cfg=init_cfg)
            self.out = torch.nn.Conv2d(in_channels, 1, 1)

        def predict(self, view_feats, data_samples, test_cfg):
            for s in data_samples:
                s.set_field(np.ones(1), 'pred_ones')
            return data_samples

    model = MODELS.build(dict(type='BottomUpPoseEstimator',
                              backbone=dict(type='HRNet', arch='w18_small_v1',
                                            out_mode='highest'),
                              head=dict(type='OnesHead')))
    model.dataset_meta = dict(flip_indices=list(range(17)))
    assert model.metainfo is None
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 64, 64), mode='predict')
    assert out[0].pred_ones.tolist() == [1.0]


def test_head_and_dataset_keypoint_counts_must_agree():
    model = build('w18_small_v1')
    model.check_dataset_meta(dict(num_keypoints=17))
    with pytest.raises(ConfigError, match=r'has 98 keypoints but the head predicts 17: set '
                       r'model.head.num_keypoints=98'):
        model.check_dataset_meta(dict(num_keypoints=98, dataset_name='wflw'), 'train dataset')


def test_two_pose_heads_in_one_multitask_model_keep_their_predictions():
    """A bottom-up and a top-down head on one backbone: prefixed fields, and each COCO
    metric reads its own head's."""
    from hrnet_tasks.evaluation import CocoKeypointMetric, TopdownCocoMetric
    model = MODELS.build(dict(
        type='MultiTaskModel', backbone=dict(type='HRNet', arch='w18_small_v1'),
        heads=dict(bottomup=dict(type='HigherHRNetHead', pred_prefix='bu_'),
                   topdown=dict(type='HeatmapHead', pred_prefix='td_')),
        test_cfg=dict(bottomup=dict(flip_test=False), topdown=dict(flip_test=False)))).eval()
    sample = BaseDataElement(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64), img_id=1,
                                           bbox=np.array([[0, 0, 64, 64]]),
                                           input_scale=np.array([64, 64])))
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64), [sample], mode='predict')[0]
    assert out.td_pred_keypoints.shape == (1, 17, 2)
    assert out.bu_pred_keypoints.ndim == 3 and 'pred_keypoints' not in out
    bottomup, topdown = CocoKeypointMetric(pred_prefix='bu_'), TopdownCocoMetric(
        pred_prefix='td_')
    bottomup.process(None, [out.to_dict()])
    topdown.process(None, [out.to_dict()])
    np.testing.assert_array_equal(topdown.results[0]['keypoints'], out.td_pred_keypoints[0])
    assert len(bottomup.results[0]['scores']) == len(out.bu_pred_scores)
    # the joint inference API reads each head's own fields too
    from hrnet_tasks.apis.multitask import _to_result
    td, bu = _to_result(model, 'topdown', out), _to_result(model, 'bottomup', out)
    np.testing.assert_array_equal(td.keypoints[0, :, :2], out.td_pred_keypoints[0])
    assert len(bu) == len(out.bu_pred_scores)


def test_backbone_of_a_classification_run_starts_top_down(tmp_path):
    """What tools/transfer.py does between runs: a cls-trained backbone (all four stage-4
    outputs) initialises the top-down backbone (stride-4 output only)."""
    from mmengine.config import Config
    cls_model = MODELS.build(Config.fromfile(osp.join(ROOT, 'configs/tiny/cls.py')).model)
    torch.save({'state_dict': cls_model.state_dict()}, tmp_path / 'cls.pth')
    cfg = Config.fromfile(osp.join(ROOT, 'configs/transfer/tiny_topdown_from_cls.py')).model
    cfg.backbone.init_cfg.checkpoint = str(tmp_path / 'cls.pth')
    model = MODELS.build(cfg)
    model.init_weights()
    ours, theirs = model.backbone.state_dict(), cls_model.backbone.state_dict()
    assert all(torch.equal(v, theirs[k]) for k, v in ours.items())
    assert set(theirs) - set(ours)  # the fuse rows a 'highest' backbone does not build
