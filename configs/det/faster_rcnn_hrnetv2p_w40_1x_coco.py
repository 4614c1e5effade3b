# Faster R-CNN HRNetV2p-W40, COCO, 1x schedule: the W32 recipe, heads on this backbone's widths. Box
# AP on val2017: official 40.4, mmdet v2 41.2. Parameters: 63,530,212 (60.59 x 2^20, the "60.5M"
# published).
_base_ = ['./faster_rcnn_hrnetv2p_w32_1x_coco.py']
model = dict(backbone=dict(arch='w40'))
