_base_ = [
    '../_base_/models/hrnet_cls.py', '../_base_/datasets/imagenet_bs32.py',
    '../_base_/schedules/imagenet_official_100e.py', '../_base_/default_runtime.py'
]
model = dict(backbone=dict(arch='w18_small_v1'))
