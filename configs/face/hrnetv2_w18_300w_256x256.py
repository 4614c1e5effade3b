# HRNetV2-W18 on 300W (68 points), official recipe: NME 2.91 / 5.11 / 3.34 / 3.85 % on
# common / challenge / full / test (official README). Validation on the full set (valid.csv),
# as the official yaml. Layout: data/300w/{face_landmarks_300w_*.csv, images/} (docs/face.md).
_base_ = [
    '../_base_/models/hrnetv2_w18_face.py', '../_base_/datasets/face_256x256.py',
    '../_base_/schedules/face_60e.py', '../_base_/default_runtime.py'
]
data_root = 'data/300w/'
codec = dict(type='HeatmapCodec', input_size=(256, 256), heatmap_size=(64, 64),
             sigma=1.0, centre_rounding='trunc', decode_offset=0.5)  # official 300W sigma
# the base pipeline with this sigma (a pipeline holds a copy of its codec)
train_pipeline = [
    dict(type='LoadImage', color_type='color_ignore_orientation'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownRandomFlip', prob=0.5, flip_offset=0),
    dict(type='RandomBBoxTransform', scale_factor=0.25, scale_dist='uniform',
         rotate_factor=30, rotate_dist='uniform', rotate_prob=0.6),
    dict(type='TopdownAffine', input_size={{_base_.input_size}}),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackTopdownInputs'),
]
model = dict(head=dict(num_keypoints=68), codec=codec)
train_dataloader = dict(dataset=dict(type='Face300WDataset', data_root=data_root,
                                      ann_file='face_landmarks_300w_train.csv',
                                      pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type='Face300WDataset', data_root=data_root,
                                    ann_file='face_landmarks_300w_valid.csv'))
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(save_best='face/NME', rule='less'))
