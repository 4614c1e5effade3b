# COCO person keypoints, top-down at 256x192 (W x H = 192 x 256), heatmaps 48x64, sigma 2:
# the official pipeline (deep-high-resolution-net.pytorch, experiments/coco/hrnet yamls).
# Layout: data/coco/{annotations/person_keypoints_{train,val}2017.json, train2017/, val2017/,
# person_detection_results/COCO_val2017_detections_AP_H_56_person.json} (the detection file
# comes with the official model zoo; check the rest with `python data_prep/coco.py`).
dataset_type = 'TopdownCocoDataset'
data_root = 'data/coco/'
input_size = (192, 256)
codec = dict(type='HeatmapCodec', input_size=input_size, heatmap_size=(48, 64), sigma=2)
train_pipeline = [
    # the official loader ignores EXIF orientation
    dict(type='LoadImage', color_type='color_ignore_orientation'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownRandomFlip', prob=0.5),
    dict(type='RandomHalfBody', prob=0.3),
    # official: scale N(1, 0.35) clipped to [0.65, 1.35]; rotation N(0, 45) clipped to +-90, p 0.6
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
train_dataloader = dict(
    batch_size=32,  # per GPU; official: 32 x 4 GPUs
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/person_keypoints_train2017.json',
                 data_prefix=dict(img='train2017/'), pipeline=train_pipeline),
)
# validation with the GT boxes, as the official training validates (about 2 AP above the
# published detector-box numbers, see docs/pose_topdown.md)
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/person_keypoints_val2017.json',
                 data_prefix=dict(img='val2017/'), test_mode=True, use_gt_bbox=True,
                 pipeline=test_pipeline),
)
# test with the person detector's boxes (56.4 human AP), as every published AP; score
# threshold 0.0 (official yamls: keep every box). GT boxes instead:
#   --cfg-options test_dataloader.dataset.use_gt_bbox=True
test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/person_keypoints_val2017.json',
                 data_prefix=dict(img='val2017/'), test_mode=True, use_gt_bbox=False,
                 bbox_file=data_root + 'person_detection_results/'
                 'COCO_val2017_detections_AP_H_56_person.json',
                 det_score_thr=0.0, pipeline=test_pipeline),
)
# official rescoring (box score x mean joint score > 0.2) and OKS-NMS at 0.9
val_evaluator = dict(type='TopdownCocoMetric', score_mode='bbox_keypoint', keypoint_score_thr=0.2,
                     nms_mode='oks_nms', nms_thr=0.9)
test_evaluator = val_evaluator
