# FCOS HRNetV2p (mmdet's fcos_hrnetv2p-w32-gn-head_4xb4-1x_coco.py): HRFPN with stride-2 level
# convs (strides 8-128) -> torchvision's FCOS (GN head towers, focal loss, GIoU box loss,
# centerness, centre sampling 1.5). Test: score > 0.05 (torchvision's default 0.2 costs AP),
# NMS 0.5, top 1000 per level, 100 per image. mmdet feeds FCOS-HRNet BGR images with the
# ImageNet statistics in BGR order, so no channel swap here.
_base_ = ['./hrnet.py']
model = dict(
    type='Detector',
    backbone=dict(arch='w32', norm_eval=True),
    head=dict(
        type='DetectionHead',
        num_classes=80,
        neck=dict(type='HRFPN', out_channels=256, num_outs=5, pooling_type='AVG', stride=2),
        detector=dict(
            type='FCOS',
            # one location per pixel; size = stride, regression ranges 4x / 8x of it
            anchor_generator=dict(sizes=[[8], [16], [32], [64], [128]],
                                  aspect_ratios=[[1.0]] * 5),
            center_sampling_radius=1.5,
            score_thresh=0.05, nms_thresh=0.5, topk_candidates=1000, detections_per_img=100,
        )),
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[103.53, 116.28, 123.675],
                           std=[57.375, 57.12, 58.395], bgr_to_rgb=False, size_divisor=32),
)
