# HRNetV2 + the official "FCN" last layer (1x1 conv-BN-ReLU, 1x1 classifier).
_base_ = ['./hrnetv2_seg.py']
model = dict(
    backbone=dict(arch='w48'),
    decode_head=dict(
        type='FCNHead',  # in_channels: the backbone's 15C (270 for W18, 720 for W48)
        num_classes=19,
        num_convs=1,
        kernel_size=1,
        dropout_ratio=-1,
        loss=dict(type='PixelCrossEntropyLoss', loss_weight=1.0),
    ),
)
