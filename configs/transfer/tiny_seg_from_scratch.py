# Downstream tiny segmentation, backbone initialised from: scratch. Shorter schedule
# than configs/tiny/seg.py, validated every 20 iterations for the comparison curves.
_base_ = ['../tiny/seg.py']
# no init_cfg: the backbone starts from its random (Kaiming) init
train_cfg = dict(max_iters=120, val_interval=20)
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=120,
                        by_epoch=False)]
transfer = dict(group='tiny seg', init='scratch', metric='mIoU')
