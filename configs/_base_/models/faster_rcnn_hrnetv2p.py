# Faster R-CNN HRNetV2p: the shared HRNet (all four branches) -> HRFPN (5 levels, strides
# 4-64) -> torchvision's RPN and RoI heads, with the settings of the official
# HRNet-Object-Detection configs (faster_rcnn_hrnetv2p_w*_1x.py); see docs/detection.md for
# the conventions torchvision does differently (box widths, anchor centres, RoIAlign).
# ImageNet start: model.backbone.init_cfg=dict(type='Pretrained', checkpoint=CKPT,
# prefix='backbone.') with a converted classification checkpoint of the same arch.
_base_ = ['./hrnet.py']
model = dict(
    type='Detector',
    # official: BN statistics frozen in training (norm_eval), nothing else frozen
    backbone=dict(arch='w32', norm_eval=True),
    head=dict(
        type='DetectionHead',
        num_classes=80,
        neck=dict(type='HRFPN', out_channels=256, num_outs=5, pooling_type='AVG', stride=1),
        detector=dict(
            type='FasterRCNN',
            # scale 8 x strides 4..64, ratios 0.5 / 1 / 2
            rpn_anchor_generator=dict(sizes=[[32], [64], [128], [256], [512]],
                                      aspect_ratios=[[0.5, 1.0, 2.0]] * 5),
            rpn_fg_iou_thresh=0.7, rpn_bg_iou_thresh=0.3,
            rpn_batch_size_per_image=256, rpn_positive_fraction=0.5,
            # official test_cfg.rpn (also used for the training proposals): 2000 / NMS 0.7
            rpn_pre_nms_top_n_train=2000, rpn_post_nms_top_n_train=2000,
            rpn_pre_nms_top_n_test=2000, rpn_post_nms_top_n_test=2000, rpn_nms_thresh=0.7,
            # RoIAlign 7x7, 2 samples, on strides 4-32 (the stride-64 level feeds the RPN only)
            box_roi_pool=dict(featmap_names=['0', '1', '2', '3'], output_size=7,
                              sampling_ratio=2),
            box_fg_iou_thresh=0.5, box_bg_iou_thresh=0.5,
            box_batch_size_per_image=512, box_positive_fraction=0.25,
            box_score_thresh=0.05, box_nms_thresh=0.5, box_detections_per_img=100,
        )),
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, size_divisor=32),
)
