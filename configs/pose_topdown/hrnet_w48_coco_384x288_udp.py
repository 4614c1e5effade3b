# HRNet-W48 top-down, COCO, 384x288, UDP (mmpose UDPHeatmap + TopdownAffine(use_udp=True):
# the box edges land on the first and last pixel centres, heatmap = input x (W_hm - 1) /
# (W_in - 1); decoding by a Newton step on the blurred log-map; no flip shift; mmpose: 77.3
# AP with detector boxes).
_base_ = ['./hrnet_w48_coco_384x288.py']
codec = dict(type='HeatmapCodec', input_size=(288, 384), heatmap_size=(72, 96), sigma=3,
             use_udp=True, blur_kernel_size=11)
train_pipeline = [
    dict(type='LoadImage', color_type='color_ignore_orientation'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownRandomFlip', prob=0.5),
    dict(type='RandomHalfBody', prob=0.3),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=(288, 384), use_udp=True),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackTopdownInputs'),
]
test_pipeline = [
    dict(type='LoadImage', color_type='color_ignore_orientation'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownAffine', input_size=(288, 384), use_udp=True),
    dict(type='PackTopdownInputs'),
]
model = dict(codec=codec)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
