# Face crops at 256x256, heatmaps 64x64: the official pipeline of all four face sets.
# Each set's config names its dataset type, files and sigma (WFLW/COFW/AFLW 1.5, 300W 1.0).
# The crop is 1.25 x the face box (official: scale * 1.25 on load), one bilinear warp
# (the official integer-window scipy crop cannot be rebuilt, see docs/face.md).
input_size = (256, 256)
# official face targets: the Gaussian on the truncated heatmap coordinate (window -5..+4 for
# sigma 1.5); the decoder adds the official 0.5 px after the quarter offset, undoing it
codec = dict(type='HeatmapCodec', input_size=input_size, heatmap_size=(64, 64), sigma=1.5,
             centre_rounding='trunc', decode_offset=0.5)
train_pipeline = [
    # the official loader (PIL) ignores EXIF orientation
    dict(type='LoadImage', color_type='color_ignore_orientation'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownRandomFlip', prob=0.5, flip_offset=0),  # official face flip: x' = W - x
    # official: scale x U(0.75, 1.25); rotation U(-30, 30) degrees with probability 0.6
    dict(type='RandomBBoxTransform', scale_factor=0.25, scale_dist='uniform', rotate_factor=30,
         rotate_dist='uniform', rotate_prob=0.6),
    dict(type='TopdownAffine', input_size=input_size),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackTopdownInputs'),
]
test_pipeline = [
    dict(type='LoadImage', color_type='color_ignore_orientation'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownAffine', input_size=input_size),
    dict(type='PackTopdownInputs'),
]
train_dataloader = dict(
    batch_size=16,  # official: 16 on one GPU
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(data_prefix=dict(img='images/'), pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(data_prefix=dict(img='images/'), test_mode=True, pipeline=test_pipeline),
)
test_dataloader = val_dataloader
# NME over all points (official); normaliser from the dataset metainfo
val_evaluator = dict(type='NMEMetric')
test_evaluator = val_evaluator
