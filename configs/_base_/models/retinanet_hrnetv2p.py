# RetinaNet HRNetV2p: HRFPN (strides 8-128, as for FCOS) -> torchvision's RetinaNet (9 anchors
# per location: sizes 32-512 x 3 octave scales x ratios 0.5 / 1 / 2, focal loss, smooth-L1
# boxes). No official HRNet config exists; the test settings are mmdet's RetinaNet ones.
_base_ = ['./hrnet.py']
model = dict(
    type='Detector',
    backbone=dict(arch='w32', norm_eval=True),
    head=dict(
        type='DetectionHead',
        num_classes=80,
        neck=dict(type='HRFPN', out_channels=256, num_outs=5, pooling_type='AVG', stride=2),
        detector=dict(
            type='RetinaNet',
            anchor_generator=dict(
                sizes=[[s, int(s * 2**(1 / 3)), int(s * 2**(2 / 3))]
                       for s in (32, 64, 128, 256, 512)],
                aspect_ratios=[[0.5, 1.0, 2.0]] * 5),
            score_thresh=0.05, nms_thresh=0.5, topk_candidates=1000, detections_per_img=100,
        )),
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, size_divisor=32),
)
