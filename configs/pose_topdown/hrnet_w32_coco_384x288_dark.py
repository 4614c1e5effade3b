# HRNet-W32 top-down, COCO, 384x288, DARK codec (mmpose MSRAHeatmap(unbiased=True): the
# Gaussian at the float joint position; decoding by a Taylor step on the blurred log-map;
# mmpose: 76.6 AP with detector boxes). Flip test keeps the 1-px shift, as mmpose's DARK
# configs.
_base_ = ['./hrnet_w32_coco_384x288.py']
codec = dict(type='HeatmapCodec', input_size=(288, 384), heatmap_size=(72, 96), sigma=3,
             unbiased=True, blur_kernel_size=11)
train_pipeline = [
    dict(type='LoadImage', color_type='color_ignore_orientation'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownRandomFlip', prob=0.5),
    dict(type='RandomHalfBody', prob=0.3),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=(288, 384)),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackTopdownInputs'),
]
model = dict(codec=codec)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
