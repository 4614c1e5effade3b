# Runtime of the detection configs: the project's default plus the best checkpoint by box AP.
_base_ = ['./default_runtime.py']
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(save_best='coco/bbox_mAP', rule='greater'))
