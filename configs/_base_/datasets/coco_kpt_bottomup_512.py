# COCO person keypoints, bottom-up (HigherHRNet) at 512x512 input; heatmaps at 1/4 and 1/2.
# Layout: data/coco/{annotations/person_keypoints_{train,val}2017.json, train2017/, val2017/}
# (check it with `python data_prep/coco.py`).
dataset_type = 'CocoKeypointDataset'
data_root = 'data/coco/'
input_size = 512
# Encoding (targets) and decoding (grouping) settings of the official yamls, plus
# max_instances: only the 30 best-scored people of an image are adjusted and refined.
# COCO AP ranks the top 20, so AP is unchanged; a young model's maps group into hundreds
# of people, whose refinement would cost many times the forward pass.
codec = dict(
    type='AssociativeEmbedding', input_size=input_size, heatmap_strides=(4, 2), sigma=2,
    max_people=30, num_keypoints=17, nms_kernel=5, topk=30, det_thr=0.1, tag_thr=1.0,
    use_detection_val=True, ignore_too_much=False, adjust=True, refine=True,
    max_instances=30)

train_pipeline = [
    # the official loader ignores EXIF orientation
    dict(type='LoadImage', color_type='color_ignore_orientation'),
    dict(type='BottomupRandomAffine', input_size=input_size, heatmap_strides=(4, 2),
         max_rotate=30, scale_range=(0.75, 1.5), max_shift=0.2),
    dict(type='BottomupRandomFlip', prob=0.5),
    dict(type='GenerateBottomupTargets', codec=codec),
    dict(type='PackBottomupInputs'),
]
test_pipeline = [
    dict(type='LoadImage', color_type='color_ignore_orientation'),
    dict(type='BottomupResize', input_size=input_size, scale_factors=[1.0]),
    dict(type='PackBottomupInputs'),
]
train_dataloader = dict(
    batch_size=12,  # per GPU, official yaml (W32)
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/person_keypoints_train2017.json',
                 data_prefix=dict(img='train2017/'), pipeline=train_pipeline),
)
# Batch 1 reproduces the official test exactly; larger batches work (images are
# padded to the largest one and decoded inside their own size).
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/person_keypoints_val2017.json',
                 data_prefix=dict(img='val2017/'), test_mode=True, pipeline=test_pipeline),
)
test_dataloader = val_dataloader
# ann_file defaults to the dataset's; outfile_prefix='work_dirs/x/results' dumps COCO results JSON.
val_evaluator = dict(type='CocoKeypointMetric')
test_evaluator = val_evaluator
