# Upstream: tiny ImageNet-format classification (its backbone feeds the pose/seg runs).
_base_ = ['../tiny/cls.py']
transfer = dict(group='upstream cls', init='scratch', metric='accuracy/top1')
