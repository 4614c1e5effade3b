# HRNetV2-W18 facial landmarks (official HRNet-Facial-Landmark-Detection): the shared backbone
# with all four branches, fused with bilinear upsampling (align_corners=False) and BN momentum
# 0.01 everywhere; the head concatenates the branches at stride 4 (270 channels), then
# 1x1 conv 270->270 + BN + ReLU + 1x1 conv -> K. Loss: plain MSE mean (no target weight, no
# 0.5). No flip test. The dataset config sets num_keypoints and the codec.
# ImageNet start (the official hrnetv2_w18_imagenet_pretrained.pth, converted):
#   model.backbone.init_cfg=dict(type='Pretrained', checkpoint=CKPT, prefix='backbone.')
_base_ = ['./hrnet.py']
model = dict(
    type='TopdownPoseEstimator',
    backbone=dict(arch='w18', out_mode='concat', upsample_mode='bilinear', align_corners=False,
                  norm_cfg=dict(type='BN', momentum=0.01)),
    head=dict(
        type='HeatmapHead',
        backbone_output='concat',
        conv_out_channels=(270, ),
        conv_kernel_sizes=(1, ),
        loss=dict(type='KeypointMSELoss', use_target_weight=False, loss_weight=1.0),
    ),
    test_cfg=dict(flip_test=False),
    data_preprocessor=dict(type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, size_divisor=None),
)
