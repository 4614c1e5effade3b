# HigherHRNet-W32, COCO, 640x640 input (official: 68.5 AP on val2017 with flip test).
_base_ = [
    '../_base_/models/higherhrnet.py', '../_base_/datasets/coco_kpt_bottomup_640.py',
    '../_base_/schedules/higherhrnet_300e.py', '../_base_/default_runtime.py'
]
model = dict(backbone=dict(arch='w32'), codec={{_base_.codec}})
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(save_best='coco/AP', rule='greater'))
