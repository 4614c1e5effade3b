# The tiny ImageNet-format classification set (`python data_prep/make_tiny.py --tasks cls`) as
# the cls task of the tiny joint configs. Every name starts with tiny_cls_, so this file can be
# a second _base_ beside a full config; children take the datasets with {{_base_.tiny_cls_train}}.
tiny_cls_root = 'data/tiny/cls'
tiny_cls_train = dict(type='ImageNetDataset', data_root=tiny_cls_root, data_prefix='train',
                      pipeline=[
                          dict(type='LoadImage'),
                          dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                          dict(type='PackInputs'),
                      ])
tiny_cls_val = dict(type='ImageNetDataset', data_root=tiny_cls_root, data_prefix='val',
                    pipeline=[
                        dict(type='LoadImage'),
                        dict(type='ResizeEdge', scale=64, edge='short', backend='pillow',
                             interpolation='bilinear'),
                        dict(type='CenterCrop', crop_size=64),
                        dict(type='PackInputs'),
                    ])
