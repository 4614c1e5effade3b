# HRNetV2-W18 on COFW (29 points), official recipe: NME 3.45 %, FR@0.1 0.20 % (official README).
# Annotations: mmpose's COCO-style data/cofw/annotations/cofw_{train,test}.json + images/
# (the official .mat files are MATLAB v7.3, not read here); the box comes from the points as
# in the official loader (COFWDataset box_source='keypoints').
_base_ = [
    '../_base_/models/hrnetv2_w18_face.py', '../_base_/datasets/face_256x256.py',
    '../_base_/schedules/face_60e.py', '../_base_/default_runtime.py'
]
data_root = 'data/cofw/'
model = dict(head=dict(num_keypoints=29), codec={{_base_.codec}})
train_dataloader = dict(dataset=dict(type='COFWDataset', data_root=data_root,
                                      ann_file='annotations/cofw_train.json'))
val_dataloader = dict(dataset=dict(type='COFWDataset', data_root=data_root,
                                    ann_file='annotations/cofw_test.json'))
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(save_best='face/NME', rule='less'))
