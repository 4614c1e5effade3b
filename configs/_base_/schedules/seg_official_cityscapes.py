# Official HRNet-Semantic-Segmentation Cityscapes recipe: SGD lr 0.01, momentum 0.9,
# wd 5e-4 on every parameter, poly 0.9 decaying to 0 (no floor, no warm-up),
# batch 12 (4 GPUs x 3), 484 epochs x 247 iterations = 119,548 iterations.
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=119548,
                        by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=119548, val_interval=12000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# the configs add default_hooks.checkpoint (by_epoch=False, interval=12000)
# and log_processor = dict(by_epoch=False); validation metrics are logged by iteration.
