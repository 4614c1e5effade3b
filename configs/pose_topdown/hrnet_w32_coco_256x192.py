# HRNet-W32 top-down, COCO, 256x192 (official: 74.4 AP on val2017 with flip test and the
# 56.4-AP person detector's boxes).
_base_ = [
    '../_base_/models/topdown_hrnet.py', '../_base_/datasets/coco_kpt_topdown_256x192.py',
    '../_base_/schedules/topdown_210e.py', '../_base_/default_runtime.py'
]
# ImageNet start (the official hrnet_w32-*.pth, converted with tools/convert_checkpoint.py):
#   model.backbone.init_cfg=dict(type='Pretrained', checkpoint=CKPT, prefix='backbone.')
model = dict(backbone=dict(arch='w32'), codec={{_base_.codec}})
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(save_best='coco/AP', rule='greater'))
