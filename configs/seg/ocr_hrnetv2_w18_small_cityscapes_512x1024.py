# HRNetV2-W18-Small-v2 (= mmseg hr18s) +
# OCR (aux FCN head, loss weight 0.4), Cityscapes 512x1024 crops:
# the recipe, heads and align_corners of the W48 config; the heads take the backbone's
# 270 channels. Published mIoU (val, single scale): mmseg 40k/80k/160k 76.61/77.16/78.45.
# ImageNet init: model.backbone.init_cfg=dict(type='Pretrained',
#     checkpoint='pretrained/hrnet_w18_small_v2_in1k.pth', prefix='backbone.')
_base_ = ['./ocr_hrnetv2_w48_cityscapes_512x1024.py']
model = dict(backbone=dict(arch='w18_small_v2'))
