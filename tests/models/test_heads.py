"""The head contract: backbone output conversion, widths from the backbone, and every head's
forward / loss / test_views / predict on one shared 'all' backbone pass."""
import pytest
import torch
from mmengine.structures import BaseDataElement, PixelData
from mmpretrain.structures import DataSample

from hrnet_tasks.models.heads import (FCNHead, HigherHRNetHead, HRNetClsHead, SegHeadCascade,
                                      build_head, with_batch_meta)
from hrnet_tasks.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread', 'seeded')


def backbone(out_mode='all', **kwargs):
    return MODELS.build(dict(type='HRNet', arch='w18_small_v1', out_mode=out_mode,
                             **kwargs)).eval()


def test_convert_outputs_equal_the_dedicated_modes():
    full = backbone('all', upsample_mode='bilinear', align_corners=True)
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        feats = full(x)
        for mode in ('highest', 'concat'):
            own = backbone(mode, upsample_mode='bilinear', align_corners=True)
            own.load_state_dict(full.state_dict(), strict=False)  # 'highest' has fewer keys
            expected = own(x)
            converted = full.convert_outputs(feats, mode)
            assert len(converted) == len(expected) == 1
            assert torch.equal(converted[0], expected[0])
            assert [t.shape[1] for t in converted] == full.output_channels(mode)
    assert full.output_channels('all') == [16, 32, 64, 128]
    assert full.output_channels('concat') == [240] and full.output_channels('highest') == [16]
    with pytest.raises(ValueError, match="out_mode='highest'"):
        backbone('highest').output_channels('all')


def test_build_head_fills_widths_and_norm():
    shared = backbone('all', norm_cfg=dict(type='SyncBN'))
    pose = build_head(dict(type='HigherHRNetHead'), shared)
    seg = build_head(dict(type='SegHeadCascade', heads=[
        dict(type='FCNHead', num_classes=3), dict(type='OCRHead', num_classes=3, channels=32,
                                                 ocr_channels=16)]), shared, align_corners=True)
    cls = build_head(dict(type='HRNetClsHead', num_classes=4, fuse_channels=64), shared)
    assert (pose.in_channels, seg[0].in_channels, seg[1].in_channels) == (16, 240, 240)
    assert cls.in_channels == [16, 32, 64, 128]
    assert all(h.align_corners for h in seg)
    for head in (pose, seg):
        norms = [m for m in head.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        assert norms and all(isinstance(m, torch.nn.SyncBatchNorm) for m in norms)
    # mmpretrain's HRFuseScales takes the norm for its fuse convs (its ResLayers keep BN)
    assert isinstance(cls.neck[0].final_layer.bn, torch.nn.SyncBatchNorm)
    assert (HigherHRNetHead.backbone_output, FCNHead.backbone_output,
            SegHeadCascade.backbone_output, HRNetClsHead.backbone_output) == \
        ('highest', 'concat', 'concat', 'all')
    # the cascade keeps the checkpoint names of decode_head=[FCNHead, OCRHead]
    assert 'decode_head.1.conv_seg.weight' in {'decode_head.' + k for k in seg.state_dict()}


def test_cls_head_equals_image_classifier():
    """HRNetClsHead on the 'all' output == ImageClassifier (same keys without 'backbone.')."""
    classifier = MODELS.build(dict(type='ImageClassifier',
                                   backbone=dict(type='HRNet', arch='w18_small_v1'),
                                   neck=[dict(type='HRFuseScales'),
                                         dict(type='GlobalAveragePooling')],
                                   head=dict(type='LinearClsHead', num_classes=5))).eval()
    head = build_head(dict(type='HRNetClsHead', num_classes=5), classifier.backbone).eval()
    head_state = {k: v for k, v in classifier.state_dict().items()
                  if not k.startswith(('backbone.', 'data_preprocessor.'))}
    assert set(head_state) == set(head.state_dict())
    head.load_state_dict(head_state)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        feats = classifier.backbone(x)
        torch.testing.assert_close(head(feats), classifier(x, mode='tensor'))
        samples = [DataSample().set_gt_label(1), BaseDataElement()]
        head.predict([feats], samples, None)
        expected = classifier.predict(x)
    for sample, ref in zip(samples, expected):
        torch.testing.assert_close(sample.pred_score, ref.pred_score)
        assert int(sample.pred_label) == int(ref.pred_label)
    head.train()
    losses = head.loss(classifier.backbone(x), [DataSample().set_gt_label(i) for i in (0, 3)])
    assert set(losses) == {'loss'} and losses['loss'].requires_grad


def test_pose_views_and_predict_from_view_features():
    head = build_head(dict(type='HigherHRNetHead'), backbone('all')).eval()
    assert head.test_views(dict(flip_test=True, scale_factors=[1.0, 2.0])) == \
        [(2.0, False), (2.0, True), (1.0, False), (1.0, True)]
    assert head.view_size((128, 192), 0.5) == (64, 96) and head.view_size((70, 90), 1) == (70, 90)
    shared = backbone('all')
    x = torch.randn(1, 3, 64, 64)
    cfg = dict(flip_test=True, scale_factors=[1.0])
    views = head.view_inputs(x, cfg)
    assert len(views) == 2 and torch.equal(views[1], x.flip(-1))
    with torch.no_grad():
        feats = [shared.convert_outputs(shared(v), 'highest') for v in views]
        samples = head.predict(feats, with_batch_meta(x, None), cfg)
    assert samples[0].pred_keypoints.shape[1:] == (17, 2)
    assert samples[0].pred_scores.shape == samples[0].pred_keypoints.shape[:1]


def test_seg_head_predict_equals_the_segmentor():
    model = MODELS.build(dict(
        type='EncoderDecoder',
        backbone=dict(type='HRNet', arch='w18_small_v1', out_mode='concat',
                      upsample_mode='bilinear'),
        decode_head=dict(type='FCNHead', num_classes=4),
        test_cfg=dict(mode='whole', scales=[0.5, 1.0], flip=True, output_logits=True)))
    model.init_weights()
    model.eval()
    x = torch.randn(1, 3, 48, 64)
    with torch.no_grad():
        scores = model.predict_logits(x, None)[0]
        views = model.decode_head.view_inputs(x, model.test_cfg)
        assert [tuple(v.shape[-2:]) for v in views] == [(24, 32)] * 2 + [(48, 64)] * 2
        samples = model.decode_head.predict([model.backbone(v) for v in views],
                                            with_batch_meta(x, None), model.test_cfg)
    torch.testing.assert_close(samples[0].seg_logits.data, scores)
    assert torch.equal(samples[0].pred_sem_seg.data, scores.argmax(0, keepdim=True))
    labels = torch.randint(0, 4, (1, 1, 48, 64))
    model.train()
    losses = model.decode_head.loss(model.backbone(x), [BaseDataElement(
        gt_sem_seg=PixelData(data=labels[0]))])
    assert set(losses) == {'loss_ce', 'acc_seg'}
