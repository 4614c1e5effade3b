# The tiny synthetic stick figures for top-down pose (`python data_prep/make_tiny.py --tasks
# topdown`): 128x96 crops (W x H = 96 x 128, multiples of 32), heatmaps 24x32, sigma 2; the
# datasets of configs/tiny/topdown.py and of the top-down task in the tiny joint config. Every
# name starts with tiny_topdown_, so this file can be a second _base_ beside a full config.
tiny_topdown_root = 'data/tiny/topdown/'
tiny_topdown_input_size = (96, 128)
tiny_topdown_codec = dict(type='HeatmapCodec', input_size=tiny_topdown_input_size,
                          heatmap_size=(24, 32), sigma=2)
tiny_topdown_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownRandomFlip', prob=0.5),
    dict(type='RandomHalfBody', prob=0.3),
    # the figures stand upright: milder than the official +-45 degrees / 0.35 scale
    dict(type='RandomBBoxTransform', scale_factor=0.25, rotate_factor=15),
    dict(type='TopdownAffine', input_size=tiny_topdown_input_size),
    dict(type='GenerateTarget', encoder=tiny_topdown_codec),
    dict(type='PackTopdownInputs'),
]
tiny_topdown_test_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownAffine', input_size=tiny_topdown_input_size),
    dict(type='PackTopdownInputs'),
]
tiny_topdown_train = dict(
    type='TopdownCocoDataset', data_root=tiny_topdown_root,
    ann_file='annotations/person_keypoints_train.json', data_prefix=dict(img='train/'),
    pipeline=tiny_topdown_train_pipeline)
# validation with the GT boxes
tiny_topdown_val = dict(
    type='TopdownCocoDataset', data_root=tiny_topdown_root,
    ann_file='annotations/person_keypoints_val.json', data_prefix=dict(img='val/'),
    test_mode=True, use_gt_bbox=True, pipeline=tiny_topdown_test_pipeline)
# test with the simulated detector boxes of dets_val.json (rescoring, OKS-NMS, misses)
tiny_topdown_test = dict(
    type='TopdownCocoDataset', data_root=tiny_topdown_root,
    ann_file='annotations/person_keypoints_val.json', data_prefix=dict(img='val/'),
    test_mode=True, use_gt_bbox=False,
    bbox_file=tiny_topdown_root + 'person_detection_results/dets_val.json', det_score_thr=0.0,
    pipeline=tiny_topdown_test_pipeline)
