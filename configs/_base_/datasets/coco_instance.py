# COCO boxes and instance masks (Mask R-CNN): coco_detection.py plus the masks, decoded at the
# original size and brought to the resized / flipped image when packed; box and mask AP.
_base_ = ['./coco_detection.py']
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadInstanceMasks'),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(with_mask=True, pipeline=train_pipeline))
val_evaluator = dict(type='CocoDetMetric', metric=['bbox', 'segm'])
test_evaluator = val_evaluator
