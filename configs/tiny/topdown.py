# CPU smoke run of top-down pose: the full top-down config on HRNet-W18-small-v1 at 128x96
# crops of the synthetic stick figures (`python data_prep/make_tiny.py --tasks topdown`).
# Validates with the GT boxes; `tools/test.py` uses the simulated detector boxes of
# dets_val.json (the detector-box path: rescoring, OKS-NMS, misses).
_base_ = ['../pose_topdown/hrnet_w32_coco_256x192.py', '../_base_/datasets/tiny_topdown.py']

data_root = {{_base_.tiny_topdown_root}}
input_size = {{_base_.tiny_topdown_input_size}}  # also tools/export_onnx.py's default
codec = {{_base_.tiny_topdown_codec}}
model = dict(backbone=dict(arch='w18_small_v1'), codec=codec)
train_pipeline = {{_base_.tiny_topdown_train_pipeline}}
# inference (init_model / inference_topdown / tools/demo.py) crops with this one
test_pipeline = {{_base_.tiny_topdown_test_pipeline}}
train_dataloader = dict(batch_size=32, num_workers=2, persistent_workers=False,
                        dataset={{_base_.tiny_topdown_train}})
val_dataloader = dict(batch_size=32, num_workers=2, persistent_workers=False,
                      dataset={{_base_.tiny_topdown_val}})
test_dataloader = dict(batch_size=32, num_workers=2, persistent_workers=False,
                       dataset={{_base_.tiny_topdown_test}})

optim_wrapper = dict(optimizer=dict(lr=2e-3))
# one warm-up epoch, then cosine to 1 % per iteration
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=20, T_max=19, eta_min=2e-5,
         convert_to_iter_based=True),
]
# one validation, at the end (GT-box AP 0.965 already after 11 epochs of a 30-epoch run)
train_cfg = dict(max_epochs=20, val_interval=20)
auto_scale_lr = dict(base_batch_size=32)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(max_keep_ckpts=2))
