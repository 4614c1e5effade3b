# Improved official recipe: cosine lr, CutMix, 300 epochs (published: W18 77.9 top-1).
_base_ = [
    '../_base_/models/hrnet_cls.py', '../_base_/datasets/imagenet_bs32.py',
    '../_base_/schedules/imagenet_cosine_300e.py', '../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(arch='w18'),
    head=dict(loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=dict(type='CutMix', alpha=1.0)),
)
