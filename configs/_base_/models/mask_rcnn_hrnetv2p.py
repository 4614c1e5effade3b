# Mask R-CNN HRNetV2p (official mask_rcnn_hrnetv2p_w*_1x.py): Faster R-CNN HRNetV2p plus
# RoIAlign 14x14 (2 samples) on strides 4-32 and torchvision's mask head (4 convs of 256, a
# deconv, one 28x28 mask per class; mmdet's FCNMaskHead), binary masks at 0.5.
_base_ = ['./faster_rcnn_hrnetv2p.py']
model = dict(head=dict(
    detector=dict(type='MaskRCNN',
                  mask_roi_pool=dict(featmap_names=['0', '1', '2', '3'], output_size=14,
                                     sampling_ratio=2)),
    mask_thr=0.5))
