# Joint CPU smoke run: HRNet-W18-small-v1 (one pass, out_mode='all') feeding a HigherHRNet
# head (pose) and an FCN head on the HRNetV2 concat (person segmentation), trained together
# on the stick figures with their person masks (`python data_prep/make_tiny.py --tasks
# multitask`), 128x128 input, 30 epochs with lr x0.2 at epoch 24 (configs/tiny/pose.py has
# since moved to warm-up + cosine; this one keeps the step its README figures were measured
# with, and multitask_pose_only / multitask_seg_only inherit it, so the comparison holds).
_base_ = ['../_base_/default_runtime.py']

data_root = 'data/tiny/multitask/'
input_size = 128
codec = dict(type='AssociativeEmbedding', input_size=input_size, heatmap_strides=(4, 2), sigma=2,
             max_people=30, num_keypoints=17, nms_kernel=5, topk=30, det_thr=0.1, tag_thr=1.0,
             adjust=True, refine=True)
model = dict(
    type='MultiTaskModel',
    backbone=dict(type='HRNet', arch='w18_small_v1', upsample_mode='nearest',
                  norm_cfg=dict(type='BN', momentum=0.1)),
    heads=dict(
        # tags separate faster with a larger AE weight on this short schedule (official: 1e-3)
        pose=dict(type='HigherHRNetHead', num_keypoints=17, codec=codec,
                  loss_ae=dict(type='AssociativeEmbeddingLoss', push_type='exp',
                               push_weight=1e-2, pull_weight=1e-2)),
        seg=dict(type='FCNHead', num_classes=2, num_convs=1, kernel_size=1,
                 loss=dict(type='PixelCrossEntropyLoss', loss_weight=1.0)),
    ),
    loss_weights=dict(pose=1.0, seg=1.0),
    loss_balance='fixed',
    test_cfg=dict(pose=dict(flip_test=True, scale_factors=[1.0]), seg=dict(mode='whole')),
    data_preprocessor=dict(type='MultiTaskDataPreprocessor', size_divisor=64),
)
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadPersonMask'),
    dict(type='BottomupRandomAffine', input_size=input_size, heatmap_strides=(4, 2),
         max_rotate=15, scale_range=(0.9, 1.3), max_shift=0.1),
    dict(type='BottomupRandomFlip', prob=0.5),
    dict(type='BottomupWarpSegMap'),
    dict(type='GenerateBottomupTargets', codec=codec),
    dict(type='PackMultiTaskInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadPersonMask'),  # stays at the original size: mIoU is measured there
    dict(type='BottomupResize', input_size=input_size, scale_factors=[1.0]),
    dict(type='PackMultiTaskInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CocoPoseSegDataset', data_root=data_root,
                 ann_file='annotations/person_keypoints_train.json',
                 data_prefix=dict(img='train/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CocoPoseSegDataset', data_root=data_root,
                 ann_file='annotations/person_keypoints_val.json',
                 data_prefix=dict(img='val/'), test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
# one evaluator per task; the prefixes give pose/coco/AP and seg/mIoU
val_evaluator = [dict(type='CocoKeypointMetric', prefix='pose/coco'),
                 dict(type='IoUMetric', prefix='seg')]
test_evaluator = val_evaluator

optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='Adam', lr=5e-3, betas=(0.9, 0.999), weight_decay=0.0))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[24], gamma=0.2)]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(max_keep_ckpts=2, save_best='pose/coco/AP', rule='greater'))
