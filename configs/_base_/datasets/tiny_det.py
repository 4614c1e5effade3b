# The tiny synthetic detection scenes (`python data_prep/make_tiny.py --tasks det`: stick
# figures, balls and kites in 160x128 images, COCO instances format): the datasets of
# configs/tiny/det.py and of the detection task in the tiny joint detection + pose config.
# Every name starts with tiny_det_, so this file can be a second _base_ beside a full config.
tiny_det_root = 'data/tiny/det/'
tiny_det_scale = (160, 128)  # the images' own size: no resize cost on 2 CPU cores
tiny_det_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=tiny_det_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
tiny_det_test_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=tiny_det_scale, keep_ratio=True),
    dict(type='PackDetInputs'),
]
tiny_det_train = dict(type='CocoDetDataset', data_root=tiny_det_root,
                      ann_file='annotations/instances_train.json',
                      data_prefix=dict(img='train/'), pipeline=tiny_det_train_pipeline)
tiny_det_val = dict(type='CocoDetDataset', data_root=tiny_det_root,
                    ann_file='annotations/instances_val.json', data_prefix=dict(img='val/'),
                    test_mode=True, pipeline=tiny_det_test_pipeline)
