# HRNetV2-W18 + FCN-style last layer, ADE20K 512x512 crops:
# the recipe, heads and align_corners of the W48 config; the heads take the backbone's
# 270 channels. Published mIoU (val, single scale): mmseg 80k/160k 36.27/36.79.
# ImageNet init: model.backbone.init_cfg=dict(type='Pretrained',
#     checkpoint='pretrained/hrnet_w18_in1k.pth', prefix='backbone.')
_base_ = ['./fcn_hrnetv2_w48_ade20k_512x512.py']
model = dict(backbone=dict(arch='w18'))
