# Official face recipe: Adam lr 1e-4 (AFLW 2e-4), no weight decay, batch 16, 60 epochs,
# MultiStepLR [30, 50] x0.1. The official loop steps its scheduler at the start of every
# epoch, so the decays act from 0-based epochs 29 and 49; mmengine steps after each epoch,
# hence milestones 29 and 49 here. Validation every epoch (official).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0),
)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[29, 49], gamma=0.1)]
train_cfg = dict(by_epoch=True, max_epochs=60, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=16)
