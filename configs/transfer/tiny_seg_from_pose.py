# Downstream tiny segmentation, backbone initialised from: pose. Shorter schedule
# than configs/tiny/seg.py, validated every 20 iterations for the comparison curves.
_base_ = ['../tiny/seg.py']
model = dict(backbone=dict(init_cfg=dict(type='Pretrained', prefix='backbone.',
                                     checkpoint='work_dirs/transfer/tiny_up_pose/backbone.pth')))
train_cfg = dict(max_iters=120, val_interval=20)
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=120,
                        by_epoch=False)]
transfer = dict(group='tiny seg', init='pose', metric='mIoU')
