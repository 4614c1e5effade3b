# Joint HigherHRNet-W32 pose + person segmentation on COCO at 512x512, one backbone pass:
# HRNet-W32 (out_mode='all') -> HigherHRNet head on the stride-4 branch ('highest') and an
# HRNetV2 FCN head on the 4-branch concat ('concat'), 2 classes (background, person; crowd
# regions ignored). Both labels come from person_keypoints_*.json: the person masks are the
# annotations' own segmentations (CocoPoseSegDataset), warped and flipped with the keypoints.
# The pose recipe (Adam 1.5e-3, 300 epochs, batch 12 per GPU); each head's loss weighted by a
# learned uncertainty (loss_balance='uncertainty', its log-variances in their own optimizer
# group below): the heatmap loss is 10-30x below the cross-entropy, and equal weights cost pose
# AP; the choice is measured in docs/multitask_balancing.md. Train: tools/train.py CFG --amp [--dist].
_base_ = [
    '../_base_/models/hrnet.py', '../_base_/datasets/coco_kpt_bottomup_512.py',
    '../_base_/schedules/higherhrnet_300e.py', '../_base_/default_runtime.py'
]
model = dict(
    type='MultiTaskModel',
    backbone=dict(arch='w32',
                  # ImageNet start: an HRNet-W32-C classification checkpoint of this project
                  # (or official/timm converted with tools/convert_checkpoint.py)
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/hrnet_w32_in1k.pth',
                                prefix='backbone.')),
    heads=dict(
        pose=dict(type='HigherHRNetHead', num_keypoints=17, deconv_kernel=4,
                  num_basic_blocks=4, cat_output=True, codec={{_base_.codec}}),
        seg=dict(type='FCNHead', num_classes=2, num_convs=1, kernel_size=1,
                 loss=dict(type='PixelCrossEntropyLoss', loss_weight=1.0)),
    ),
    loss_weights=dict(pose=1.0, seg=1.0),
    loss_balance='uncertainty',
    test_cfg=dict(pose=dict(flip_test=True, scale_factors=[1.0]), seg=dict(mode='whole')),
    data_preprocessor=dict(type='MultiTaskDataPreprocessor', size_divisor=64),
)
train_pipeline = [
    dict(type='LoadImage', color_type='color_ignore_orientation'),
    dict(type='LoadPersonMask'),
    dict(type='BottomupRandomAffine', input_size={{_base_.input_size}}, heatmap_strides=(4, 2),
         max_rotate=30, scale_range=(0.75, 1.5), max_shift=0.2),
    dict(type='BottomupRandomFlip', prob=0.5),
    dict(type='BottomupWarpSegMap'),
    dict(type='GenerateBottomupTargets', codec={{_base_.codec}}),
    dict(type='PackMultiTaskInputs'),
]
test_pipeline = [
    dict(type='LoadImage', color_type='color_ignore_orientation'),
    dict(type='LoadPersonMask'),  # at the original size: mIoU is measured there
    dict(type='BottomupResize', input_size={{_base_.input_size}}, scale_factors=[1.0]),
    dict(type='PackMultiTaskInputs'),
]
train_dataloader = dict(dataset=dict(type='CocoPoseSegDataset', pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type='CocoPoseSegDataset', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [dict(type='CocoKeypointMetric', prefix='pose/coco'),
                 dict(type='IoUMetric', prefix='seg')]
test_evaluator = val_evaluator
# The loss balancer's own parameters (loss_balance='uncertainty': its log-variances) in their
# own optimizer group: 10x the lr, so that they reach their equilibrium (log L_t) within the
# schedule, and no weight decay, which would pull every weight to 1 (docs/multitask_balancing.md)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'loss_balancer': dict(lr_mult=10.0, decay_mult=0.0)}))
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(save_best='pose/coco/AP', rule='greater'))
