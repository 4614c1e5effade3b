# HRNetV2 + OCR: an auxiliary FCN head (soft object regions, loss weight 0.4)
# feeding the OCR head (512 mid / 256 key channels, Dropout2d 0.05 as official).
_base_ = ['./hrnetv2_seg.py']
model = dict(
    backbone=dict(arch='w48'),
    decode_head=[
        dict(type='FCNHead', num_classes=19, num_convs=1, kernel_size=1,
             loss=dict(type='PixelCrossEntropyLoss', loss_weight=0.4)),
        dict(type='OCRHead', num_classes=19, channels=512, ocr_channels=256,
             dropout_ratio=0.05, scale=1,
             loss=dict(type='PixelCrossEntropyLoss', loss_weight=1.0)),
    ],
)
