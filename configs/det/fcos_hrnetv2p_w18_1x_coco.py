# FCOS HRNetV2p-W18 (GN head), COCO, 1x schedule: the W32 recipe on this backbone's widths. Val2017
# box AP: HRNet README 35.2, mmdet v2 35.3.
_base_ = ['./fcos_hrnetv2p_w32_1x_coco.py']
model = dict(backbone=dict(arch='w18'))
