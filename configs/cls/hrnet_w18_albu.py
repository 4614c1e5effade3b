# HRNet-W18-C with albumentations between the crop and the flip: a mild affine, contrast /
# brightness jitter, CLAHE and cut-out on top of the official recipe (an example of the
# `Albumentations` transform; the released numbers use hrnet_w18.py).
_base_ = ['./hrnet_w18.py']
albu_transforms = [
    # border_mode 0 = cv2.BORDER_CONSTANT
    dict(type='Affine', scale=(0.9, 1.1), translate_percent=(-0.0625, 0.0625), rotate=(-15, 15),
         border_mode=0, p=0.5),
    dict(type='RandomBrightnessContrast', brightness_limit=0.2, contrast_limit=0.2, p=0.5),
    dict(type='CLAHE', clip_limit=2.0, p=0.1),
    dict(type='CoarseDropout', num_holes_range=(1, 4), hole_height_range=(0.05, 0.15),
         hole_width_range=(0.05, 0.15), p=0.3),
]
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='Albumentations', transforms=albu_transforms),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
