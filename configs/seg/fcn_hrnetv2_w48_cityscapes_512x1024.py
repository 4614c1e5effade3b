# HRNetV2-W48 + FCN-style last layer,
# Cityscapes 512x1024 crops. official recipe: class-weighted CE, batch 12 (4 GPUs x 3),
# 119,548 iterations; SGD lr 0.01, poly 0.9, wd 5e-4.
# align_corners=False: as the official W48 Cityscapes HRNetV2 config; it reaches the fuse layers,
# the concat, the loss and the inference resizes.
# Published mIoU (val, single scale): official 80.9 (train -> val);
# mmseg 40k/80k/160k 78.48/79.93/80.65.
# ImageNet init (config only; any checkpoint holding this HRNet under 'backbone.'):
#   --cfg-options "model.backbone.init_cfg={'type':'Pretrained',
#                  'checkpoint':'pretrained/hrnet_w48_in1k.pth','prefix':'backbone.'}"
_base_ = [
    '../_base_/models/fcn_hrnetv2.py', '../_base_/datasets/cityscapes_512x1024.py',
    '../_base_/schedules/seg_official_cityscapes.py', '../_base_/default_runtime.py'
]
crop_size = (512, 1024)
model = dict(
    align_corners=False,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(arch='w48'),
    decode_head=dict(num_classes=19,
                     loss=dict(type='PixelCrossEntropyLoss', loss_weight=1.0,
                               class_weight='cityscapes')),
)
train_dataloader = dict(batch_size=3)
auto_scale_lr = dict(base_batch_size=12)
default_hooks = dict(
    logger=dict(interval=50, log_metric_by_epoch=False),
    checkpoint=dict(by_epoch=False, interval=12000, max_keep_ckpts=3, save_best='mIoU',
                    rule='greater'))
log_processor = dict(by_epoch=False)
