# Mixed-dataset CPU smoke run with a per-instance head: one HRNet-W18-small-v1 trained on the
# tiny top-down person crops (128x96) and the tiny classification images (64x64) at once
# (`python data_prep/make_tiny.py --tasks topdown cls`). Each batch comes from one dataset
# (MixedTaskBatchSampler: crop batches beside whole-image batches) and trains that task's head;
# validation reports topdown/coco/AP (GT boxes, its own TopdownCocoMetric) and
# cls/accuracy/top1.
_base_ = ['../_base_/models/hrnet.py', '../_base_/default_runtime.py',
          '../_base_/datasets/tiny_topdown.py', '../_base_/datasets/tiny_cls.py']

input_size = {{_base_.tiny_topdown_input_size}}  # tools/export_onnx.py's default input
model = dict(
    type='MultiTaskModel',
    backbone=dict(arch='w18_small_v1'),
    heads=dict(
        topdown=dict(type='HeatmapHead', num_keypoints=17, codec={{_base_.tiny_topdown_codec}},
                     loss=dict(type='KeypointMSELoss', use_target_weight=True,
                               loss_weight=0.5)),
        cls=dict(type='HRNetClsHead', num_classes=10, topk=(1, 5)),
    ),
    # the heatmap MSE is ~1e-3 against a cross-entropy of ~1: weigh it up
    loss_weights=dict(topdown=1000.0, cls=1.0),
    test_cfg=dict(topdown=dict(flip_test=True)),
    data_preprocessor=dict(type='MultiTaskDataPreprocessor', size_divisor=32),
)
train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='MixedTaskBatchSampler', ratios=dict(topdown=2, cls=1),
                       batches_per_epoch=36),
    dataset=dict(type='MultiTaskDataset', tasks=dict(topdown={{_base_.tiny_topdown_train}},
                                                     cls={{_base_.tiny_cls_train}})))
val_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    batch_sampler=dict(type='MixedTaskBatchSampler'),
    dataset=dict(type='MultiTaskDataset', tasks=dict(topdown={{_base_.tiny_topdown_val}},
                                                     cls={{_base_.tiny_cls_val}})))
test_dataloader = val_dataloader
val_evaluator = [dict(type='TaskMetric', task='topdown', metric=dict(type='TopdownCocoMetric')),
                 dict(type='TaskMetric', task='cls', metric=dict(type='Accuracy', topk=(1, 5)))]
test_evaluator = val_evaluator

optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='Adam', lr=2e-3, weight_decay=0.0))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, T_max=12, eta_min=2e-5)]
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=12)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(max_keep_ckpts=2))
# --dist: each batch trains one head, so DDP must accept parameters without gradients
find_unused_parameters = True
