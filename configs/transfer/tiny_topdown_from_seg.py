# Downstream tiny top-down pose, backbone initialised from: seg. Shorter schedule than
# configs/tiny/topdown.py, validated every 2 epochs for the comparison curves.
_base_ = ['../tiny/topdown.py']
model = dict(backbone=dict(init_cfg=dict(type='Pretrained', prefix='backbone.',
                                     checkpoint='work_dirs/transfer/tiny_up_seg/backbone.pth')))
train_cfg = dict(max_epochs=12, val_interval=2)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[10], gamma=0.2)]
transfer = dict(group='tiny top-down pose', init='seg', metric='coco/AP')
