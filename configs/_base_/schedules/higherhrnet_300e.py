# HigherHRNet recipe: Adam (no weight decay, no warm-up), lr 1.5e-3 (paper; the official
# yamls use 1e-3), x0.1 at epochs 200 and 260, 300 epochs.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1.5e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0),
)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[200, 260], gamma=0.1)]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=10)
val_cfg = dict()
test_cfg = dict()
# Assumed global batch of the published run: 8 GPUs x 12 (the official code does not fix
# the GPU count). `--auto-scale-lr` rescales lr linearly from it.
auto_scale_lr = dict(base_batch_size=96)
