# HRNetV2-W48 + FCN-style last layer,
# ADE20K 512x512 crops. mmseg recipe: plain CE, batch 16 (4 GPUs x 4),
# 160k iterations; SGD lr 0.01, poly 0.9, wd 5e-4.
# align_corners=True: the official default (OCR and ADE20K configs); it reaches the fuse layers,
# the concat, the loss and the inference resizes.
# Published mIoU (val, single scale): official 43.1 (520 crops, OHEM); mmseg 80k/160k 41.90/42.02.
# ImageNet init (config only; any checkpoint holding this HRNet under 'backbone.'):
#   --cfg-options "model.backbone.init_cfg={'type':'Pretrained',
#                  'checkpoint':'pretrained/hrnet_w48_in1k.pth','prefix':'backbone.'}"
_base_ = [
    '../_base_/models/fcn_hrnetv2.py', '../_base_/datasets/ade20k_512x512.py',
    '../_base_/schedules/seg_poly_160k.py', '../_base_/default_runtime.py'
]
crop_size = (512, 512)
model = dict(
    align_corners=True,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(arch='w48'),
    decode_head=dict(num_classes=150,
                     loss=dict(type='PixelCrossEntropyLoss', loss_weight=1.0)),
)
train_dataloader = dict(batch_size=4)
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(
    logger=dict(interval=50, log_metric_by_epoch=False),
    checkpoint=dict(by_epoch=False, interval=16000, max_keep_ckpts=3, save_best='mIoU',
                    rule='greater'))
log_processor = dict(by_epoch=False)
