# The tiny synthetic Cityscapes-format scenes (`python data_prep/make_tiny.py --tasks seg`):
# the train and val datasets of configs/tiny/seg.py and of the seg task in the tiny joint
# configs. Every name starts with tiny_seg_, so this file can be a second _base_ beside a full
# config (bases may not share keys); children take the datasets with {{_base_.tiny_seg_train}}.
tiny_seg_crop_size = (64, 128)
tiny_seg_train = dict(
    type='CityscapesDataset', data_root='data/tiny/seg',
    data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
    pipeline=[
        dict(type='LoadImage'),
        dict(type='LoadSegAnnotations'),
        dict(type='RandomResize', scale=(256, 128), ratio_range=(0.5, 1.5), keep_ratio=True),
        dict(type='SegRandomCrop', crop_size=tiny_seg_crop_size, cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(type='SegPhotoMetricDistortion', brightness_delta=16, hue_delta=5),
        dict(type='PackSegInputs'),
    ])
tiny_seg_val = dict(
    type='CityscapesDataset', data_root='data/tiny/seg', test_mode=True,
    data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
    pipeline=[dict(type='LoadImage'), dict(type='LoadSegAnnotations'), dict(type='PackSegInputs')])
