# FCOS HRNetV2p-W32 (GN head), COCO, 1x schedule, 4 x 4 images. Val2017 box AP: HRNet README 37.7,
# mmdet v2 39.5.
_base_ = [
    '../_base_/models/fcos_hrnetv2p.py', '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/fcos_1x.py', '../_base_/det_runtime.py'
]
model = dict(backbone=dict(arch='w32'))
train_dataloader = dict(batch_size=4)
