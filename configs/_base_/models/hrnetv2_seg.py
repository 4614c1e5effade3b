# HRNetV2 segmentor on the shared backbone (configs/_base_/models/hrnet.py):
# the backbone outputs the HRNetV2 concat (all branches bilinearly resized to 1/4,
# 15C channels, the heads' width). The heads come from fcn_hrnetv2.py / ocr_hrnetv2.py.
_base_ = ['./hrnet.py']
data_preprocessor = dict(
    type='SegDataPreprocessor',
    mean=[123.675, 116.28, 103.53],  # = official (0.485, 0.456, 0.406) x 255, RGB
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,  # images are padded after normalisation (0 = mean colour) ...
    seg_pad_val=255,  # ... labels with ignore
    size=None,  # set to the crop size by the dataset configs
)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(out_mode='concat', upsample_mode='bilinear'),
    # one switch for the fuse upsampling, the concat, the loss and the inference resizes
    align_corners=False,
    # inference: mode 'whole' | 'slide' (crop_size, stride as (h, w)); scales (ratios) and
    # flip for TTA, views fused by mean probability ('mmseg') or sum of exp ('official')
    test_cfg=dict(mode='whole', crop_size=None, stride=None, scales=None, flip=False,
                  fusion='mmseg'),
)
