# Upstream: tiny segmentation (its backbone feeds the pose runs).
_base_ = ['../tiny/seg.py']
transfer = dict(group='upstream seg', init='scratch', metric='mIoU')
