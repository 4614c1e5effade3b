# HigherHRNet (bottom-up pose): the shared backbone + HigherHRNet head + AE decoding.
# out_mode='highest': only the stride-4 branch, the last stage-4 module fusing into it
# alone, as in the official network. The head's width comes from the backbone.
_base_ = ['./hrnet.py']
model = dict(
    type='BottomUpPoseEstimator',
    backbone=dict(out_mode='highest'),
    head=dict(
        type='HigherHRNetHead',
        num_keypoints=17,
        deconv_kernel=4,
        num_basic_blocks=4,
        cat_output=True,
        loss_heatmap=dict(type='MaskedHeatmapMSELoss', loss_weight=1.0),
        loss_ae=dict(type='AssociativeEmbeddingLoss', push_type='exp', push_weight=1e-3,
                     pull_weight=1e-3),
    ),
    codec=dict(type='AssociativeEmbedding'),
    # multi-scale test: scale_factors=[2.0, 1.0, 0.5] (and the same list in BottomupResize)
    test_cfg=dict(flip_test=True, scale_factors=[1.0]),
    data_preprocessor=dict(type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, size_divisor=64),
)
