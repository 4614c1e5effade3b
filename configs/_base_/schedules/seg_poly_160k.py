# mmseg 160k schedule: SGD lr 0.01, momentum 0.9, wd 5e-4, poly 0.9 to eta_min 1e-4 by
# iteration; validation every 16k iterations.
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=160000,
                        by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=160000, val_interval=16000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# the configs add default_hooks.checkpoint (by_epoch=False, interval=16000)
# and log_processor = dict(by_epoch=False); validation metrics are logged by iteration.
