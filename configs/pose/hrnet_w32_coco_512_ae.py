# HRNet-W32 associative embedding without the HigherHRNet deconvolution: one 1x1 conv on the
# stride-4 branch gives 17 heatmaps + 17 tags (the official NUM_DECONVS: 0; mmpose 1.x's only
# COCO AE model, 65.6 AP with its decoder). `tools/convert_checkpoint.py --src mmpose --task
# pose` converts mmpose 1.x AE checkpoints to this config.
_base_ = ['./higherhrnet_w32_coco_512.py']
input_size = 512
codec = dict(
    type='AssociativeEmbedding', input_size=input_size, heatmap_strides=(4, ), sigma=2,
    max_people=30, num_keypoints=17, nms_kernel=5, topk=30, det_thr=0.1, tag_thr=1.0,
    use_detection_val=True, ignore_too_much=False, adjust=True, refine=True)
model = dict(head=dict(num_deconvs=0, heatmap_weights=(1.0, )), codec=codec)
train_pipeline = [
    dict(type='LoadImage', color_type='color_ignore_orientation'),
    dict(type='BottomupRandomAffine', input_size=input_size, heatmap_strides=(4, ),
         max_rotate=30, scale_range=(0.75, 1.5), max_shift=0.2),
    dict(type='BottomupRandomFlip', prob=0.5),
    dict(type='GenerateBottomupTargets', codec=codec),
    dict(type='PackBottomupInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
