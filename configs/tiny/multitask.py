# Joint CPU smoke run: configs/multitask/higherhrnet_w32_coco_512_personseg.py (one HRNet pass,
# out_mode='all', feeding a HigherHRNet head for pose and an FCN head on the HRNetV2 concat for
# person segmentation) on HRNet-W18-small-v1, trained from scratch on the stick figures with their
# person masks (`python data_prep/make_tiny.py --tasks multitask`), 128x128 input, 30 epochs with
# lr x0.2 at epoch 24 (configs/tiny/pose.py has since moved to warm-up + cosine; this one keeps
# the step its README figures were measured with, and multitask_pose_only / multitask_seg_only
# inherit it, so the comparison holds).
_base_ = ['../multitask/higherhrnet_w32_coco_512_personseg.py']

data_root = 'data/tiny/multitask/'
input_size = 128
codec = dict(type='AssociativeEmbedding', input_size=input_size, heatmap_strides=(4, 2), sigma=2,
             max_people=30, num_keypoints=17, nms_kernel=5, topk=30, det_thr=0.1, tag_thr=1.0,
             adjust=True, refine=True, max_instances=30)
model = dict(
    # from scratch: HRNet's own init (its default init_cfg) instead of the full config's
    # ImageNet checkpoint
    backbone=dict(arch='w18_small_v1',
                  init_cfg=[dict(type='Kaiming', layer='Conv2d', mode='fan_out',
                                 nonlinearity='relu'),
                            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]),
    heads=dict(
        # tags separate faster with a larger AE weight on this short schedule (official: 1e-3)
        pose=dict(codec=codec,
                  loss_ae=dict(type='AssociativeEmbeddingLoss', push_type='exp',
                               push_weight=1e-2, pull_weight=1e-2))),
    # docs/multitask_balancing.md: the measured default (3 paired seeds); its log-variances get
    # their own optimizer group from the full config's paramwise_cfg
    loss_balance='uncertainty',
)
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadPersonMask'),
    dict(type='BottomupRandomAffine', input_size=input_size, heatmap_strides=(4, 2),
         max_rotate=15, scale_range=(0.9, 1.3), max_shift=0.1),
    dict(type='BottomupRandomFlip', prob=0.5),
    dict(type='BottomupWarpSegMap'),
    dict(type='GenerateBottomupTargets', codec=codec),
    dict(type='PackMultiTaskInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='LoadPersonMask'),  # stays at the original size: mIoU is measured there
    dict(type='BottomupResize', input_size=input_size, scale_factors=[1.0]),
    dict(type='PackMultiTaskInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file='annotations/person_keypoints_train.json',
                 data_prefix=dict(img='train/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file='annotations/person_keypoints_val.json',
                 data_prefix=dict(img='val/'), pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=5e-3))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[24], gamma=0.2)]
train_cfg = dict(max_epochs=30, val_interval=10)
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(max_keep_ckpts=2))
