# Improved official recipe: cosine lr, CutMix, 300 epochs (published: W18 77.9 top-1).
_base_ = ['./hrnet_w18.py', '../_base_/schedules/imagenet_cosine_300e.py']
model = dict(
    head=dict(loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=dict(type='CutMix', alpha=1.0)),
)
