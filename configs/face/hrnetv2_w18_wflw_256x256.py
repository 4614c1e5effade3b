# HRNetV2-W18 on WFLW (98 points), official recipe: NME 4.60 % on test (official README).
# Layout: data/wflw/{face_landmarks_wflw_{train,test}.csv, images/} (docs/face.md); the
# subset csvs (face_landmarks_wflw_test_{largepose,...}.csv) evaluate with
# test_dataloader.dataset.ann_file=...
_base_ = [
    '../_base_/models/hrnetv2_w18_face.py', '../_base_/datasets/face_256x256.py',
    '../_base_/schedules/face_60e.py', '../_base_/default_runtime.py'
]
data_root = 'data/wflw/'
model = dict(head=dict(num_keypoints=98), codec={{_base_.codec}})
train_dataloader = dict(dataset=dict(type='WFLWDataset', data_root=data_root,
                                      ann_file='face_landmarks_wflw_train.csv'))
val_dataloader = dict(dataset=dict(type='WFLWDataset', data_root=data_root,
                                    ann_file='face_landmarks_wflw_test.csv'))
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(save_best='face/NME', rule='less'))
