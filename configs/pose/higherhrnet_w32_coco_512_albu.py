# HigherHRNet-W32 (512) with albumentations on the full image before the official random
# affine: shear (keypoints, visibility and the crowd mask follow), CLAHE, contrast and cut-out
# (joints under a hole stay labelled, like occluded COCO joints). A flip inside the list would
# swap left/right joints with the dataset's flip_indices. Example of the `Albumentations`
# transform; the released numbers use higherhrnet_w32_coco_512.py.
_base_ = ['./higherhrnet_w32_coco_512.py']
albu_transforms = [
    # border_mode 0 = cv2.BORDER_CONSTANT (reflecting borders would copy people without labels)
    dict(type='Affine', shear=(-10, 10), border_mode=0, p=0.3),
    dict(type='CLAHE', clip_limit=2.0, p=0.1),
    dict(type='RandomBrightnessContrast', brightness_limit=0.2, contrast_limit=0.2, p=0.5),
    dict(type='CoarseDropout', num_holes_range=(1, 4), hole_height_range=(0.05, 0.1),
         hole_width_range=(0.05, 0.1), p=0.3),
]
train_pipeline = [
    dict(type='LoadImage', color_type='color_ignore_orientation'),
    dict(type='Albumentations', transforms=albu_transforms),
    dict(type='BottomupRandomAffine', input_size={{_base_.input_size}}, heatmap_strides=(4, 2),
         max_rotate=30, scale_range=(0.75, 1.5), max_shift=0.2),
    dict(type='BottomupRandomFlip', prob=0.5),
    dict(type='GenerateBottomupTargets', codec={{_base_.codec}}),
    dict(type='PackBottomupInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
