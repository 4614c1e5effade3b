# Faster R-CNN HRNetV2p-W32, COCO, 1x schedule. Box AP on val2017 (docs/detection.md): official
# 39.5, mmdet v2 40.2. Parameters: 47,283,812 (45.09 x 2^20, the "45.0M" published).
_base_ = [
    '../_base_/models/faster_rcnn_hrnetv2p.py', '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/det_1x.py', '../_base_/det_runtime.py'
]
model = dict(backbone=dict(arch='w32'))
