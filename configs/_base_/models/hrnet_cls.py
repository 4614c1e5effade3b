# HRNet-W*-C: shared backbone + mmpretrain's HR fuse neck, pooling and linear head.
# The neck and head widths come from the backbone (hrnet_tasks' ImageClassifier).
_base_ = ['./hrnet.py']
model = dict(
    type='ImageClassifier',
    neck=[
        dict(type='HRFuseScales'),
        dict(type='GlobalAveragePooling'),
    ],
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ),
)
