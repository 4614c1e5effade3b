# COCO boxes (instances_*.json), official HRNetV2p detection data settings: keep-ratio resize
# to (1333, 800) (short side 800, long side <= 1333), horizontal flip 0.5 in training; the data
# preprocessor pads each batch to a multiple of 32. Crowd regions are left out of training;
# images without boxes too (filter_empty_gt, training only).
dataset_type = 'CocoDetDataset'
data_root = 'data/coco/'
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(
    batch_size=2,  # per GPU; the official runs: 8 GPUs x 2
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/instances_train2017.json',
                 data_prefix=dict(img='train2017/'), pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/instances_val2017.json',
                 data_prefix=dict(img='val2017/'), test_mode=True, pipeline=test_pipeline),
)
test_dataloader = val_dataloader
# ann_file defaults to the dataset's; `tools/test.py ... --out dets.json` writes the COCO
# results (the top-down pose `bbox_file`)
val_evaluator = dict(type='CocoDetMetric', metric='bbox')
test_evaluator = val_evaluator
