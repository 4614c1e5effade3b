"""HRNetV2p detectors: HRFPN shapes and sizes, the exact official parameter counts, every
torchvision detector behind DetectionHead (losses by name, predictions in original image
pixels), one resize only, and the detection head inside a MultiTaskModel."""
from unittest import mock

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import BaseDataElement, InstanceData
from torchvision.models.detection.transform import GeneralizedRCNNTransform

from hrnet_tasks.errors import ConfigError
from hrnet_tasks.models.necks import HRFPN
from hrnet_tasks.registry import MODELS

from conftest import ROOT

W18 = [18, 36, 72, 144]
FASTER = f'{ROOT}/configs/_base_/models/faster_rcnn_hrnetv2p.py'


def branches(widths, h, w):
    return [torch.randn(1, c, h // 2**(i + 2), w // 2**(i + 2)) for i, c in enumerate(widths)]


def test_hrfpn_w18_shapes_and_parameters():
    neck = HRFPN(W18)
    assert sum(p.numel() for p in neck.parameters()) == 3_019_776
    for conv in [neck.reduction_conv, *neck.fpn_convs]:  # biased convs, no norm, no ReLU
        assert conv.conv.bias is not None and not conv.with_norm and not conv.with_activation
    with torch.no_grad():
        out = neck(branches(W18, 256, 320))
        two = HRFPN(W18, stride=2)(branches(W18, 256, 320))
    assert list(out) == ['0', '1', '2', '3', '4']
    assert [tuple(v.shape[1:]) for v in out.values()] == [
        (256, 64, 80), (256, 32, 40), (256, 16, 20), (256, 8, 10), (256, 4, 5)]
    # FCOS / RetinaNet: strides 8-128
    assert [tuple(v.shape[2:]) for v in two.values()] == [(32, 40), (16, 20), (8, 10), (4, 5),
                                                          (2, 3)]


def test_hrfpn_pools_the_reduced_map_itself():
    neck = HRFPN(W18).eval()
    for conv in neck.fpn_convs:  # identity level convs expose the pyramid itself
        torch.nn.init.dirac_(conv.conv.weight)
        torch.nn.init.zeros_(conv.conv.bias)
    feats = branches(W18, 128, 128)
    with torch.no_grad():
        out = neck(feats)
        reduced = neck.reduction_conv(torch.cat(
            [feats[0]] + [torch.nn.functional.interpolate(x, scale_factor=2**i, mode='bilinear')
                          for i, x in enumerate(feats[1:], 1)], 1))
    torch.testing.assert_close(out['0'], reduced)
    torch.testing.assert_close(out['3'], torch.nn.functional.avg_pool2d(reduced, 8))


def faster_cfg(arch='w18_small_v1', **detector):
    cfg = Config.fromfile(FASTER).model
    cfg.backbone.arch = arch
    cfg.head.detector.update(rpn_pre_nms_top_n_train=100, rpn_post_nms_top_n_train=50,
                             rpn_pre_nms_top_n_test=100, rpn_post_nms_top_n_test=50,
                             box_batch_size_per_image=32, **detector)
    return cfg


def one_stage_cfg(kind):
    cfg = Config.fromfile(f'{ROOT}/configs/_base_/models/{kind.lower()}_hrnetv2p.py').model
    cfg.backbone.arch = 'w18_small_v1'
    return cfg


def test_faster_rcnn_parameter_counts_equal_the_official_ones():
    """The published 26.2M / 45.0M / 60.5M are these totals in units of 2^20."""
    for arch, total in (('w18', 27_486_776), ('w32', 47_283_812), ('w40', 63_530_212)):
        cfg = Config.fromfile(f'{ROOT}/configs/det/faster_rcnn_hrnetv2p_{arch}_1x_coco.py')
        model = MODELS.build(cfg.model)
        assert sum(p.numel() for p in model.parameters()) == total
        assert round(total / 2**20, 1) == {'w18': 26.2, 'w32': 45.1, 'w40': 60.6}[arch]
    det = model.head.detector
    assert sum(p.numel() for p in det.rpn.parameters()) == 593_935
    assert sum(p.numel() for p in det.roi_heads.box_head.parameters()) == 13_895_680
    assert sum(p.numel() for p in det.roi_heads.box_predictor.parameters()) == 415_125
    # the official settings reach torchvision
    assert det.rpn._pre_nms_top_n['testing'] == det.rpn._post_nms_top_n['testing'] == 2000
    assert det.roi_heads.box_roi_pool.featmap_names == ['0', '1', '2', '3']
    assert det.roi_heads.box_roi_pool.sampling_ratio == 2
    assert det.rpn.anchor_generator.sizes == ((32, ), (64, ), (128, ), (256, ), (512, ))
    assert (det.roi_heads.score_thresh, det.roi_heads.nms_thresh,
            det.roi_heads.detections_per_img) == (0.05, 0.5, 100)
    fcos = MODELS.build(Config.fromfile(f'{ROOT}/configs/det/fcos_hrnetv2p_w18_1x_coco.py').model)
    assert fcos.head.detector.score_thresh == 0.05  # torchvision's default 0.2 costs AP
    assert sum(p.numel() for p in fcos.parameters()) == 17_502_697


def batch(with_masks=False):
    """Two uint8 images (resized by a pipeline from twice their size) with two boxes each."""
    images = [torch.randint(0, 255, (3, 96, 128), dtype=torch.uint8),
              torch.randint(0, 255, (3, 64, 96), dtype=torch.uint8)]
    samples = []
    for img in images:
        h, w = img.shape[1:]
        sample = BaseDataElement(metainfo=dict(img_shape=(h, w), ori_shape=(2 * h, 2 * w)))
        gt = InstanceData(bboxes=torch.tensor([[4., 6., 40., 50.], [30., 10., 90., 60.]]),
                          labels=torch.tensor([0, 2]))
        if with_masks:
            masks = torch.zeros(2, h, w, dtype=torch.uint8)
            masks[0, 6:50, 4:40] = masks[1, 10:60, 30:90] = 1
            gt.masks = masks
        sample.gt_instances = gt
        samples.append(sample)
    return dict(inputs=images, data_samples=samples)


@pytest.mark.parametrize('kind,losses', [
    ('FasterRCNN', {'loss_objectness', 'loss_rpn_box_reg', 'loss_classifier', 'loss_box_reg'}),
    ('MaskRCNN', {'loss_objectness', 'loss_rpn_box_reg', 'loss_classifier', 'loss_box_reg',
                  'loss_mask'}),
    ('FCOS', {'loss_cls', 'loss_bbox', 'loss_centerness'}),
    ('RetinaNet', {'loss_cls', 'loss_bbox'}),
])
def test_each_detector_trains_and_predicts(kind, losses, seeded, one_thread):
    if kind in ('FasterRCNN', 'MaskRCNN'):
        cfg = faster_cfg(type=kind)
        if kind == 'MaskRCNN':
            cfg.head.detector.mask_roi_pool = dict(featmap_names=['0', '1', '2', '3'],
                                                   output_size=14, sampling_ratio=2)
    else:
        cfg = one_stage_cfg(kind)
    cfg.head.num_classes = 3
    model = MODELS.build(cfg)
    data = model.data_preprocessor(batch(kind == 'MaskRCNN'), True)
    assert data['inputs'].shape[-2:] == (96, 128)  # padded to 32, not resized
    model.train()
    out = model(**data, mode='loss')
    assert set(out) == losses and all(torch.isfinite(v) for v in out.values())
    sum(out.values()).backward()
    model.eval()
    head = model.head.detector.roi_heads if model.head.two_stage else model.head.detector
    head.score_thresh = 0.0  # an untrained model: keep boxes to check the mapping
    head.detections_per_img = 10
    with torch.no_grad():
        samples = model.test_step(dict(inputs=batch()['inputs'], data_samples=[
            BaseDataElement(metainfo=s.metainfo) for s in batch()['data_samples']]))
    for sample in samples:
        pred = sample.pred_instances
        assert len(pred) > 0 and set(pred.keys()) >= {'bboxes', 'labels', 'scores'}
        h, w = sample.ori_shape
        assert pred.bboxes[:, 2].max() <= w and pred.bboxes[:, 3].max() <= h
        assert pred.labels.min() >= 0 and pred.labels.max() < 3  # 0-based, no background
        if kind == 'MaskRCNN':
            assert pred.masks.shape[1:] == (h, w) and pred.masks.dtype == torch.bool


def test_one_resize_and_boxes_back_in_original_pixels(seeded, one_thread):
    """The pipeline's resize is the only one: torchvision's transform is never run, the RPN
    sees the pipeline's image size, and a box covering the whole network input comes back
    covering the whole original image."""
    model = MODELS.build(faster_cfg()).eval()
    det = model.head.detector
    seen = {}

    def record(module, args):
        images, features = args[:2]
        seen.update(sizes=images.image_sizes, batch=tuple(images.tensors.shape[-2:]),
                    level0=tuple(features['0'].shape[-2:]))

    det.rpn.register_forward_pre_hook(record)

    def whole_input_box(features, proposals, image_shapes, targets=None):
        return [dict(boxes=torch.tensor([[0., 0., w, h]]), labels=torch.tensor([2]),
                     scores=torch.tensor([0.9])) for h, w in image_shapes], {}

    forbidden = mock.patch.multiple(GeneralizedRCNNTransform, forward=mock.DEFAULT,
                                    resize=mock.DEFAULT, normalize=mock.DEFAULT)
    data = batch()
    with forbidden as patched, mock.patch.object(det.roi_heads, 'forward', whole_input_box), \
            torch.no_grad():
        samples = model.test_step(dict(inputs=data['inputs'], data_samples=[
            BaseDataElement(metainfo=s.metainfo) for s in data['data_samples']]))
    assert not any(p.called for p in patched.values())
    assert seen == dict(sizes=[(96, 128), (64, 96)], batch=(96, 128), level0=(24, 32))
    for sample in samples:
        h, w = sample.ori_shape
        torch.testing.assert_close(sample.pred_instances.bboxes, torch.tensor([[0., 0., w, h]]))
        assert sample.pred_instances.labels.tolist() == [1]  # torchvision label 2 - 1


def test_tensor_mode_gives_the_dense_outputs():
    model = MODELS.build(faster_cfg()).eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 64, 96), mode='tensor')
    assert [tuple(t.shape[1:]) for t in out[:5]] == [(256, 16, 24), (256, 8, 12), (256, 4, 6),
                                                     (256, 2, 3), (256, 1, 1)]
    assert tuple(out[5].shape) == (1, 3, 16, 24) and tuple(out[10].shape) == (1, 12, 16, 24)


def test_detector_config_errors_name_the_key():
    cfg = faster_cfg()
    cfg.head.detector.type = 'CascadeRCNN'
    with pytest.raises(ConfigError, match='head.detector.type'):
        MODELS.build(cfg)
    cfg = faster_cfg(num_classes=81)
    with pytest.raises(ConfigError, match='head.num_classes'):
        MODELS.build(cfg)


def test_detection_head_in_a_multitask_model(seeded, one_thread):
    """The same head on a shared backbone: trained from its gt_instances, predicting
    pred_instances next to another head."""
    head = faster_cfg().head
    model = MODELS.build(dict(
        type='MultiTaskModel', backbone=dict(type='HRNet', arch='w18_small_v1'),
        heads=dict(det=head, cls=dict(type='HRNetClsHead', num_classes=4)),
        data_preprocessor=dict(type='MultiTaskDataPreprocessor', size_divisor=32)))
    data = model.data_preprocessor(batch(), True)
    model.train()
    losses = model(**data, mode='loss')
    assert {'det/loss_objectness', 'det/loss_classifier'} <= set(losses)
    assert not any(k.startswith('cls/') for k in losses)  # no gt_label in the batch
    model.eval()
    with torch.no_grad():
        samples = model.test_step(dict(inputs=batch()['inputs'], data_samples=[
            BaseDataElement(metainfo=s.metainfo) for s in batch()['data_samples']]))
    assert all('pred_instances' in s and 'pred_score' in s for s in samples)


def test_checkpoint_of_another_task_is_named():
    """A detector checkpoint given to a top-down pose model, or the reverse, fails the load
    check with one line naming both heads (not a silent partial load)."""
    from hrnet_tasks.engine.arch_check import check_hrnet_archs
    det = MODELS.build(faster_cfg())
    pose = MODELS.build(dict(type='TopdownPoseEstimator',
                             backbone=dict(type='HRNet', arch='w18_small_v1', out_mode='highest'),
                             head=dict(type='HeatmapHead', num_keypoints=17)))
    with pytest.raises(ConfigError, match=r"det.pth holds another kind of head under 'head.' "
                       r".*head.detector.*HeatmapHead"):
        check_hrnet_archs(pose, det.state_dict(), 'det.pth')
    with pytest.raises(ConfigError, match=r"head.final_layer.*DetectionHead"):
        check_hrnet_archs(det, pose.state_dict(), 'pose.pth')
    check_hrnet_archs(det, det.state_dict(), 'det.pth')  # its own checkpoint passes
    backbone_only = {k: v for k, v in det.state_dict().items() if k.startswith('backbone.')}
    check_hrnet_archs(pose, backbone_only, 'backbone.pth')


def test_class_count_of_the_dataset_is_checked():
    model = MODELS.build(faster_cfg())  # 80 classes
    model.check_dataset_meta(dict(classes=tuple(str(i) for i in range(80))))
    with pytest.raises(ConfigError, match=r'the train dataset has 3 classes \(person, sports '
                       r'ball, kite\) but the detection head 80: set model.head.num_classes=3'):
        model.check_dataset_meta(dict(classes=('person', 'sports ball', 'kite')),
                                 'the train dataset')
