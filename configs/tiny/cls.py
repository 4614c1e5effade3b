# Embedded smoke run: HRNet-W18-small-v1 on 10 synthetic classes of 64x64
# shapes (data from `python data_prep/make_tiny.py`). Trains in a few minutes on
# 2 CPU cores and reaches a top-1 far above the 10 % chance level.
_base_ = ['../cls/hrnet_w18_small_v1.py']

data_root = 'data/tiny/cls'
model = dict(head=dict(num_classes=10, topk=(1, 5)))
data_preprocessor = dict(num_classes=10)

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='ResizeEdge', scale=64, edge='short', backend='pillow', interpolation='bilinear'),
    dict(type='CenterCrop', crop_size=64),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=False,
    dataset=dict(data_root=data_root, data_prefix='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=False,
    dataset=dict(data_root=data_root, data_prefix='val', pipeline=test_pipeline))
test_dataloader = val_dataloader

# AdamW converges in a few CPU minutes here; the ImageNet configs keep the official SGD recipe.
optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=0.002, weight_decay=0.01))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, T_max=16, eta_min=1e-4)]
train_cfg = dict(max_epochs=16, val_interval=2)
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=2))
