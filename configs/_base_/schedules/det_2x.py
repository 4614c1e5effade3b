# The 1x detection schedule over 24 epochs, x0.1 after epochs 16 and 22 (mmdet's 2x; the
# official HRNet-Object-Detection 2x configs step at 20 and 23, see docs/detection.md).
_base_ = ['./det_1x.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=24, milestones=[16, 22], gamma=0.1),
]
train_cfg = dict(max_epochs=24)
