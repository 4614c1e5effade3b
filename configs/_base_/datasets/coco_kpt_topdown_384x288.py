# COCO top-down at 384x288 (W x H = 288 x 384), heatmaps 72x96, sigma 3 (official yamls);
# everything else as at 256x192.
_base_ = ['./coco_kpt_topdown_256x192.py']
input_size = (288, 384)
codec = dict(type='HeatmapCodec', input_size=input_size, heatmap_size=(72, 96), sigma=3)
train_pipeline = [
    dict(type='LoadImage', color_type='color_ignore_orientation'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownRandomFlip', prob=0.5),
    dict(type='RandomHalfBody', prob=0.3),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=input_size),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackTopdownInputs'),
]
test_pipeline = [
    dict(type='LoadImage', color_type='color_ignore_orientation'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownAffine', input_size=input_size),
    dict(type='PackTopdownInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
