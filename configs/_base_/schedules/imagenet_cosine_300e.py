# The improved official recipe ("CosineLR + CutMix + 300 epochs", HRNet README
# 2021-01-20: W18 77.9, W48 81.1 top-1). Only those three ingredients are
# published; the rest keeps the official SGD recipe.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4, nesterov=True),
)
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, T_max=300, eta_min=0)]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
