# COCO person keypoints, bottom-up at 640x640 input (heatmaps 160 and 320).
_base_ = ['./coco_kpt_bottomup_512.py']
input_size = 640
codec = dict(input_size=input_size)
train_pipeline = [
    dict(type='LoadImage', color_type='color_ignore_orientation'),
    dict(type='BottomupRandomAffine', input_size=input_size, heatmap_strides=(4, 2),
         max_rotate=30, scale_range=(0.75, 1.5), max_shift=0.2),
    dict(type='BottomupRandomFlip', prob=0.5),
    dict(type='GenerateBottomupTargets',
         codec=dict(type='AssociativeEmbedding', input_size=input_size, heatmap_strides=(4, 2),
                    sigma=2, max_people=30, num_keypoints=17)),
    dict(type='PackBottomupInputs'),
]
test_pipeline = [
    dict(type='LoadImage', color_type='color_ignore_orientation'),
    dict(type='BottomupResize', input_size=input_size, scale_factors=[1.0]),
    dict(type='PackBottomupInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
