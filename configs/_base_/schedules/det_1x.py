# Official HRNetV2p detection schedule, 1x: SGD lr 0.02 for 16 images (8 GPUs x 2; the
# official files say 0.01 with 'use 0.02 for 8 GPUs'), momentum 0.9, weight decay 1e-4,
# gradient clipping at L2 norm 35; linear warm-up over 500 iterations from 1/3; x0.1 after
# epochs 8 and 11; 12 epochs. `--auto-scale-lr` rescales the lr from 16 images.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=12, milestones=[8, 11], gamma=0.1),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(base_batch_size=16)
