# Faster R-CNN HRNetV2p-W40, COCO, 2x schedule: the W32 recipe, heads on this backbone's widths. Box
# AP on val2017: official 41.4, mmdet v2 42.1. Parameters: 63,530,212 (60.59 x 2^20, the "60.5M"
# published).
_base_ = ['./faster_rcnn_hrnetv2p_w32_2x_coco.py']
model = dict(backbone=dict(arch='w40'))
