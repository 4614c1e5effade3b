# HRNet-W*-C: shared backbone + mmpretrain's HR fuse neck, pooling and linear head.
_base_ = ['./hrnet.py']
model = dict(
    type='ImageClassifier',
    backbone={{_base_.backbone}},
    neck=[
        dict(type='HRFuseScales', in_channels=(32, 64, 128, 256)),
        dict(type='GlobalAveragePooling'),
    ],
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ),
)
