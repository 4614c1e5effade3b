# Joint run for the tiny transfer matrix: one HRNet-W18-small-v1 trained from scratch on the
# tiny pose set and the tiny segmentation set at once (MultiTaskDataset, one task per batch,
# half the batches each), validated on both; it appears in the "tiny pose" and "tiny seg"
# tables next to the single-task runs and the runs started from another task's backbone.
# 12 epochs of 26 batches of 8: 156 pose and 156 seg batches (the single-task runs: 156
# pose batches of 16, 120 seg batches of 8).
_base_ = ['../tiny/pose.py', '../_base_/datasets/tiny_seg.py']

model = dict(
    _delete_=True,
    type='MultiTaskModel',
    # the tiny pose run's backbone (configs/_base_/models/hrnet.py through tiny/pose.py);
    # MultiTaskModel builds it with out_mode='all' to feed both heads
    backbone={{_base_.model.backbone}},
    heads=dict(
        pose=dict(type='HigherHRNetHead', num_keypoints=17, codec={{_base_.codec}},
                  loss_ae=dict(type='AssociativeEmbeddingLoss', push_type='exp',
                               push_weight=1e-2, pull_weight=1e-2)),
        seg=dict(type='FCNHead', num_classes=19, num_convs=1, kernel_size=1,
                 loss=dict(type='PixelCrossEntropyLoss', loss_weight=1.0)),
    ),
    test_cfg=dict(pose=dict(flip_test=True, scale_factors=[1.0]), seg=dict(mode='whole')),
    data_preprocessor=dict(type='MultiTaskDataPreprocessor', size_divisor=64),
)
seg_train = {{_base_.tiny_seg_train}}
seg_val = {{_base_.tiny_seg_val}}
train_dataloader = dict(
    _delete_=True, batch_size=8, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='MixedTaskBatchSampler', ratios=dict(pose=1, seg=1),
                       batches_per_epoch=26),
    dataset=dict(type='MultiTaskDataset',
                 tasks=dict(pose={{_base_.train_dataloader.dataset}}, seg=seg_train)))
val_dataloader = dict(
    _delete_=True, batch_size=8, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    batch_sampler=dict(type='MixedTaskBatchSampler'),
    dataset=dict(type='MultiTaskDataset',
                 tasks=dict(pose={{_base_.val_dataloader.dataset}}, seg=seg_val)))
test_dataloader = val_dataloader
val_evaluator = [dict(type='TaskMetric', task='pose', metric=dict(type='CocoKeypointMetric',
                                                                 prefix='coco')),
                 dict(type='TaskMetric', task='seg', metric=dict(type='IoUMetric'))]
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=12, val_interval=2)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[10], gamma=0.2)]
default_hooks = dict(checkpoint=dict(save_best='pose/coco/AP', rule='greater'))
transfer = [dict(group='tiny pose', init='joint (pose + seg, scratch)', metric='pose/coco/AP'),
            dict(group='tiny seg', init='joint (pose + seg, scratch)', metric='seg/mIoU')]
# --dist: each batch trains one head, so DDP must accept parameters without gradients
find_unused_parameters = True
