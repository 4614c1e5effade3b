# Mask R-CNN HRNetV2p-W18, COCO, 1x schedule. Val2017 box / mask AP: official 37.3 / 34.2, mmdet v2
# 37.7 / 34.2.
_base_ = [
    '../_base_/models/mask_rcnn_hrnetv2p.py', '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/det_1x.py', '../_base_/det_runtime.py'
]
model = dict(backbone=dict(arch='w18'))
