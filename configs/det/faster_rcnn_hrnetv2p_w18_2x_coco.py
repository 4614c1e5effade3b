# Faster R-CNN HRNetV2p-W18, COCO, 2x schedule: the W32 recipe, heads on this backbone's widths. Box
# AP on val2017: official 38.1, mmdet v2 38.9. Parameters: 27,486,776 (26.21 x 2^20, the "26.2M"
# published).
_base_ = ['./faster_rcnn_hrnetv2p_w32_2x_coco.py']
model = dict(backbone=dict(arch='w18'))
