# RetinaNet HRNetV2p-W18, COCO, 1x schedule (no official HRNet RetinaNet exists; the Faster R-CNN
# schedule).
_base_ = [
    '../_base_/models/retinanet_hrnetv2p.py', '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/det_1x.py', '../_base_/det_runtime.py'
]
model = dict(backbone=dict(arch='w18'))
