# Official top-down recipe: Adam lr 1e-3, no weight decay (the yaml's WD is not passed to
# Adam), no warm-up, 210 epochs, lr x0.1 twice. The yamls say [170, 200], but the official
# loop steps its scheduler before each epoch, so the decays act from 0-based epochs 169 and
# 199: mmengine steps after each epoch, hence [169, 199] here.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0),
)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[169, 199], gamma=0.1)]
# the official code validates every epoch (with GT boxes); every 10 here
train_cfg = dict(by_epoch=True, max_epochs=210, val_interval=10)
val_cfg = dict()
test_cfg = dict()
# official global batch: 4 GPUs x 32; `--auto-scale-lr` rescales lr linearly from it
auto_scale_lr = dict(base_batch_size=128)
