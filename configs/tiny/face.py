# CPU smoke run: the HRNetV2 face model on the shared HRNet-W18-small-v1 backbone (same
# bilinear fuse, concat head and BN momentum 0.01 as configs/face/hrnetv2_w18_300w_256x256.py),
# 128x128 crops, on synthetic faces with the 68 300W landmarks
# (`python data_prep/make_tiny.py --tasks face`): trains from the official csv, validates
# on the same kind of faces from the COCO-style JSON. Reaches NME < 8 % (inter-ocular) in a
# few minutes on 2 CPU cores (docs/face.md).
_base_ = ['../face/hrnetv2_w18_300w_256x256.py']

data_root = 'data/tiny/face/'
input_size = (128, 128)
codec = dict(type='HeatmapCodec', input_size=input_size, heatmap_size=(32, 32), sigma=1.5,
             centre_rounding='trunc', decode_offset=0.5)
model = dict(backbone=dict(arch='w18_small_v1'), codec=codec)
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownRandomFlip', prob=0.5, flip_offset=0),
    dict(type='RandomBBoxTransform', scale_factor=0.25, scale_dist='uniform',
         rotate_factor=30, rotate_dist='uniform', rotate_prob=0.6),
    dict(type='TopdownAffine', input_size=input_size),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackTopdownInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownAffine', input_size=input_size),
    dict(type='PackTopdownInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file='annotations/face_landmarks_tiny_train.csv',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file='annotations/tiny_val.json',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader

# a short schedule needs a larger lr than the official 1e-4: one warm-up epoch, then cosine
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=8, T_max=7, eta_min=2e-5,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=8, val_interval=4)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=2))
