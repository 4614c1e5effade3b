# HRNetV2-W18 on AFLW (19 points), official recipe (lr 2e-4): NME 1.57 / 1.46 % on full /
# frontal (face_landmarks_aflw_test_frontal.csv), normalised by the box_size column.
# Layout: data/aflw/{face_landmarks_aflw_*.csv, images/} (docs/face.md).
_base_ = [
    '../_base_/models/hrnetv2_w18_face.py', '../_base_/datasets/face_256x256.py',
    '../_base_/schedules/face_60e.py', '../_base_/default_runtime.py'
]
data_root = 'data/aflw/'
model = dict(head=dict(num_keypoints=19), codec={{_base_.codec}})
train_dataloader = dict(dataset=dict(type='AFLWDataset', data_root=data_root,
                                      ann_file='face_landmarks_aflw_train.csv'))
val_dataloader = dict(dataset=dict(type='AFLWDataset', data_root=data_root,
                                    ann_file='face_landmarks_aflw_test.csv'))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=2e-4))
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(save_best='face/NME', rule='less'))
