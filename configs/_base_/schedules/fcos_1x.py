# mmdet's FCOS 1x schedule (fcos_r50-caffe_fpn_gn-head_4xb4-1x_coco.py): SGD lr 0.01 for 16
# images (4 GPUs x 4), momentum 0.9, weight decay 1e-4 with bias lr x2 and no bias decay,
# gradient clipping at L2 norm 35; constant warm-up at 1/3 for 500 iterations; x0.1 after
# epochs 8 and 11; 12 epochs.
_base_ = ['./det_1x.py']
optim_wrapper = dict(optimizer=dict(lr=0.01),
                     paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='ConstantLR', factor=1 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=12, milestones=[8, 11], gamma=0.1),
]
