# Top-down HRNet (official pose_hrnet, SimpleBaseline-style head on the stride-4 branch): the
# shared backbone with out_mode='highest' (the last stage-4 module fuses into branch 0 only,
# as the official network) + one 1x1 conv C -> 17 (init N(0, 0.001)). Loss: the official
# JointsMSELoss, 0.5 x the target-weighted MSE (mmpose: loss_weight=1.0). Flip test with the
# 1-px shift of the flipped map (off for the UDP codec). The dataset config sets the codec.
_base_ = ['./hrnet.py']
model = dict(
    type='TopdownPoseEstimator',
    backbone=dict(out_mode='highest'),
    head=dict(type='HeatmapHead', num_keypoints=17,
              loss=dict(type='KeypointMSELoss', use_target_weight=True, loss_weight=0.5)),
    test_cfg=dict(flip_test=True),
    # crops all have the input size: no padding (it would move the flip axis)
    data_preprocessor=dict(type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, size_divisor=None),
)
