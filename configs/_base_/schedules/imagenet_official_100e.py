# Official HRNet-Image-Classification recipe: SGD (Nesterov, momentum 0.9) lr 0.05,
# weight decay 1e-4 on every parameter, batch 4 GPUs x 32 = 128, 100 epochs,
# step decay x0.1 at epochs 30/60/90, no warm-up, plain cross-entropy.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4, nesterov=True),
)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 90], gamma=0.1)]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# lr is for 128 images per step; `--auto-scale-lr` rescales it linearly.
auto_scale_lr = dict(base_batch_size=128)
