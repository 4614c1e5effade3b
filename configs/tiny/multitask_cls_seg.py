# Mixed-dataset CPU smoke run: one HRNet-W18-small-v1 trained on the tiny ImageNet-format
# classification set and the tiny Cityscapes-format segmentation set at once
# (`python data_prep/make_tiny.py --tasks cls seg`). Each batch comes from one dataset
# (MixedTaskBatchSampler, half the batches each) and trains that task's head only;
# validation reports cls/accuracy/top1 and seg/mIoU.
_base_ = ['../_base_/models/hrnet.py', '../_base_/default_runtime.py',
          '../_base_/datasets/tiny_seg.py', '../_base_/datasets/tiny_cls.py']

crop_size = {{_base_.tiny_seg_crop_size}}  # also tools/export_onnx.py's default input size
model = dict(
    type='MultiTaskModel',
    backbone=dict(arch='w18_small_v1', upsample_mode='bilinear'),
    heads=dict(
        cls=dict(type='HRNetClsHead', num_classes=10, topk=(1, 5)),
        seg=dict(type='FCNHead', num_classes=19, num_convs=1, kernel_size=1,
                 loss=dict(type='PixelCrossEntropyLoss', loss_weight=1.0)),
    ),
    loss_weights=dict(cls=1.0, seg=1.0),
    test_cfg=dict(seg=dict(mode='whole')),
    data_preprocessor=dict(type='MultiTaskDataPreprocessor', size_divisor=32),
)
cls_train = {{_base_.tiny_cls_train}}
seg_train = {{_base_.tiny_seg_train}}
cls_val = {{_base_.tiny_cls_val}}
seg_val = {{_base_.tiny_seg_val}}
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # the task of every batch: half classification, half segmentation over each epoch
    batch_sampler=dict(type='MixedTaskBatchSampler', ratios=dict(cls=1, seg=1),
                       batches_per_epoch=25),
    dataset=dict(type='MultiTaskDataset', tasks=dict(cls=cls_train, seg=seg_train)))
val_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    batch_sampler=dict(type='MixedTaskBatchSampler'),
    dataset=dict(type='MultiTaskDataset', tasks=dict(cls=cls_val, seg=seg_val)))
test_dataloader = val_dataloader
# inference on plain images (init_model / inference / tools/demo.py): every head on the image
test_pipeline = [dict(type='LoadImage'), dict(type='PackMultiTaskInputs')]
val_evaluator = [dict(type='TaskMetric', task='cls', metric=dict(type='Accuracy', topk=(1, 5))),
                 dict(type='TaskMetric', task='seg', metric=dict(type='IoUMetric'))]
test_evaluator = val_evaluator

# AdamW converges in a few CPU minutes here, as in configs/tiny/{cls,seg}.py
# (loss_balance='uncertainty': its log-variances in their own group, 10x the lr, no weight decay,
# as in configs/multitask/*.py; docs/multitask_balancing.md)
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=0.003, weight_decay=0.01),
                     paramwise_cfg=dict(custom_keys={'loss_balancer': dict(lr_mult=10.0,
                                                                           decay_mult=0.0)}))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, T_max=8, eta_min=1e-5)]
train_cfg = dict(by_epoch=True, max_epochs=8, val_interval=4)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(max_keep_ckpts=2))
# --dist: each batch trains one head, so DDP must accept parameters without gradients
find_unused_parameters = True
