# HRNetV2-W18-Small-v2 (= mmseg hr18s) + FCN-style last layer, Cityscapes 512x1024 crops:
# the recipe, heads and align_corners of the W48 config; the heads take the backbone's
# 270 channels. Published mIoU (val, single scale): official 76.2 (Small-v2);
# mmseg 40k/80k/160k 73.86/75.31/76.31.
# ImageNet init: model.backbone.init_cfg=dict(type='Pretrained',
#     checkpoint='pretrained/hrnet_w18_small_v2_in1k.pth', prefix='backbone.')
_base_ = ['./fcn_hrnetv2_w48_cityscapes_512x1024.py']
model = dict(backbone=dict(arch='w18_small_v2'))
