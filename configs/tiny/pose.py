# CPU smoke run: HigherHRNet on the shared HRNet-W18-small-v1 backbone, 128x128 input,
# on synthetic stick figures (`python data_prep/make_tiny.py --tasks pose`). Trains in a
# few minutes on 2 CPU cores to an AP clearly above zero on its own val split.
_base_ = ['../pose/higherhrnet_w32_coco_512.py']

data_root = 'data/tiny/pose/'
input_size = 128
codec = dict(type='AssociativeEmbedding', input_size=input_size, heatmap_strides=(4, 2), sigma=2,
             max_people=30, num_keypoints=17, nms_kernel=5, topk=30, det_thr=0.1, tag_thr=1.0,
             adjust=True, refine=True, max_instances=30)
model = dict(
    backbone=dict(arch='w18_small_v1'),
    # tags separate faster with a larger AE weight on this short schedule (official: 1e-3)
    head=dict(loss_ae=dict(push_weight=1e-2, pull_weight=1e-2)),
    codec=codec,
    test_cfg=dict(flip_test=True, scale_factors=[1.0]),
    data_preprocessor=dict(size_divisor=64),
)
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='BottomupRandomAffine', input_size=input_size, heatmap_strides=(4, 2),
         max_rotate=15, scale_range=(0.9, 1.3), max_shift=0.1),
    dict(type='BottomupRandomFlip', prob=0.5),
    dict(type='GenerateBottomupTargets', codec=codec),
    dict(type='PackBottomupInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='BottomupResize', input_size=input_size, scale_factors=[1.0]),
    dict(type='PackBottomupInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file='annotations/person_keypoints_train.json',
                 data_prefix=dict(img='train/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file='annotations/person_keypoints_val.json',
                 data_prefix=dict(img='val/'), pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=5e-3))
# one warm-up epoch, then cosine to 1 % per iteration: over five seeds the final AP was
# 0.85-0.89 with --amp (the former step at epoch 24 gave 0.79-0.86), see
# docs/pose_bottomup.md "Tiny pose smoke run"
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=30, T_max=29, eta_min=5e-5,
         convert_to_iter_based=True),
]
# one validation, at the end: a smoke run needs the final AP, and each val pass decodes
# every image with flip test (about 10 % of the run's CPU time, more while the tags are noisy)
train_cfg = dict(max_epochs=30, val_interval=30)
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(max_keep_ckpts=2))
