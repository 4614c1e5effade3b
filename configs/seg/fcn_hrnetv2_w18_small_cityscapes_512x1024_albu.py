# HRNetV2-W18-Small-v2 + FCN on Cityscapes with albumentations between the crop and the flip:
# small rotations / shears (label warped nearest, uncovered pixels 255 = ignored) and CLAHE or
# a blur, before the recipe's own photometric distortion. An example of the `Albumentations`
# transform; the published recipe is the parent config.
_base_ = ['./fcn_hrnetv2_w18_small_cityscapes_512x1024.py']
albu_transforms = [
    # border_mode 0 = cv2.BORDER_CONSTANT: the label there becomes 255 whatever fill_mask says
    dict(type='Affine', rotate=(-10, 10), shear=(-5, 5), border_mode=0, p=0.5),
    dict(type='OneOf', transforms=[
        dict(type='CLAHE', clip_limit=2.0, p=1.0),
        dict(type='GaussianBlur', blur_limit=(3, 5), p=1.0),
    ], p=0.2),
]
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadSegAnnotations'),
    dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='SegRandomCrop', crop_size={{_base_.crop_size}}, cat_max_ratio=0.75),
    dict(type='Albumentations', transforms=albu_transforms),
    dict(type='RandomFlip', prob=0.5),
    dict(type='SegPhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
