# HRNetV2-W18 + FCN-style last layer, Cityscapes 512x1024 crops:
# the recipe, heads and align_corners of the W48 config; the heads take the backbone's
# 270 channels. Published mIoU (val, single scale): mmseg 40k/80k/160k 77.19/78.65/78.80.
# ImageNet init: model.backbone.init_cfg=dict(type='Pretrained',
#     checkpoint='pretrained/hrnet_w18_in1k.pth', prefix='backbone.')
_base_ = ['./fcn_hrnetv2_w48_cityscapes_512x1024.py']
model = dict(backbone=dict(arch='w18'))
