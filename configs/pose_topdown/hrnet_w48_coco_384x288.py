# HRNet-W48 top-down, COCO, 384x288 (official: 76.3 AP on val2017 with flip test and the
# 56.4-AP person detector's boxes).
_base_ = [
    '../_base_/models/topdown_hrnet.py', '../_base_/datasets/coco_kpt_topdown_384x288.py',
    '../_base_/schedules/topdown_210e.py', '../_base_/default_runtime.py'
]
# ImageNet start (the official hrnet_w48-*.pth, converted with tools/convert_checkpoint.py):
#   model.backbone.init_cfg=dict(type='Pretrained', checkpoint=CKPT, prefix='backbone.')
model = dict(backbone=dict(arch='w48'), codec={{_base_.codec}})
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(save_best='coco/AP', rule='greater'))
# official: 24 per GPU x 4 GPUs for W48 at 384x288
train_dataloader = dict(batch_size=24)
auto_scale_lr = dict(base_batch_size=96)
