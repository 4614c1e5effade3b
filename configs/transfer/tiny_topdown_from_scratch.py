# Downstream tiny top-down pose, backbone initialised from: scratch. Shorter schedule than
# configs/tiny/topdown.py, validated every 2 epochs for the comparison curves.
_base_ = ['../tiny/topdown.py']
# no init_cfg: the backbone starts from its random (Kaiming) init
train_cfg = dict(max_epochs=12, val_interval=2)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[10], gamma=0.2)]
transfer = dict(group='tiny top-down pose', init='scratch', metric='coco/AP')
