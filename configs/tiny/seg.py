# Embedded smoke run: HRNetV2-W18-Small-v1 (240 concat channels) + FCN head on the
# synthetic Cityscapes-format scenes (`python data_prep/make_tiny.py --tasks seg`):
# 64x128 crops, 200 iterations: mIoU ~77 (7 classes) in ~30 s on 2 cores with
# OMP_NUM_THREADS=1 (several minutes when OpenMP threads compete for busy cores).
_base_ = ['../seg/fcn_hrnetv2_w18_small_cityscapes_512x1024.py', '../_base_/datasets/tiny_seg.py']

data_root = 'data/tiny/seg'
crop_size = {{_base_.tiny_seg_crop_size}}
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(arch='w18_small_v1'),
    decode_head=dict(loss=dict(class_weight=None)),
)
train_pipeline = {{_base_.tiny_seg_train.pipeline}}
test_pipeline = {{_base_.tiny_seg_val.pipeline}}
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=False, dataset={{_base_.tiny_seg_train}})
val_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=False, dataset={{_base_.tiny_seg_val}})
test_dataloader = val_dataloader

# AdamW converges in a few CPU minutes here; the real configs keep the SGD recipes.
optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=0.003, weight_decay=0.01))
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=200, by_epoch=False)]
train_cfg = dict(max_iters=200, val_interval=100)
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(interval=100, max_keep_ckpts=2))
