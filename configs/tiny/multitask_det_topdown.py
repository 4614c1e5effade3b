# One HRNet-W18-small-v1 for detection and top-down pose (CPU smoke run): the tiny Faster R-CNN
# head of configs/tiny/det.py and a top-down heatmap head on the same backbone, trained with
# mixed batches (MixedTaskBatchSampler): whole-image batches of the detection scenes train the
# detection head, crop batches of the top-down stick figures the pose head
# (`python data_prep/make_tiny.py --tasks det topdown`). At inference one checkpoint detects
# people and poses them through the same backbone:
#   tools/demo.py configs/tiny/multitask_det_topdown.py CKPT IMAGE --out out.png
# Validation reports det/coco/bbox_mAP and topdown/coco/AP (GT boxes).
_base_ = ['./det.py', '../_base_/datasets/tiny_topdown.py']

input_size = {{_base_.tiny_topdown_input_size}}
model = dict(
    _delete_=True,
    type='MultiTaskModel',
    backbone={{_base_.model.backbone}},
    heads=dict(
        det={{_base_.model.head}},
        topdown=dict(type='HeatmapHead', num_keypoints=17, codec={{_base_.tiny_topdown_codec}}),
    ),
    # the heatmap MSE is ~1e-3 against detection losses of ~1: weigh it up
    loss_weights=dict(det=1.0, topdown=1000.0),
    test_cfg=dict(topdown=dict(flip_test=True)),
    data_preprocessor=dict(type='MultiTaskDataPreprocessor', size_divisor=32),
)
train_dataloader = dict(
    _delete_=True, batch_size=8, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='MixedTaskBatchSampler', ratios=dict(det=1, topdown=1),
                       batches_per_epoch=50),
    dataset=dict(type='MultiTaskDataset', tasks=dict(det={{_base_.tiny_det_train}},
                                                     topdown={{_base_.tiny_topdown_train}})))
val_dataloader = dict(
    _delete_=True, batch_size=8, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    batch_sampler=dict(type='MixedTaskBatchSampler'),
    dataset=dict(type='MultiTaskDataset', tasks=dict(det={{_base_.tiny_det_val}},
                                                     topdown={{_base_.tiny_topdown_val}})))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='TaskMetric', task='det', metric=dict(type='CocoDetMetric')),
    dict(type='TaskMetric', task='topdown', metric=dict(type='TopdownCocoMetric')),
]
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='det/coco/bbox_mAP'))
# --dist: each batch trains one head, so DDP must accept parameters without gradients
find_unused_parameters = True
