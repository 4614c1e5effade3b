# Upstream: tiny bottom-up pose (its backbone feeds the seg runs).
_base_ = ['../tiny/pose.py']
train_cfg = dict(max_epochs=20, val_interval=10)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[16], gamma=0.2)]
transfer = dict(group='upstream pose', init='scratch', metric='coco/AP')
