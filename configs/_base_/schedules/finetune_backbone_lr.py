# Fine-tuning from a pretrained backbone: the backbone learns at 0.1x the head's
# learning rate (mmengine's paramwise_cfg). Combine with
#   model.backbone.init_cfg=dict(type='Pretrained', checkpoint=CKPT, prefix='backbone.')
# and optionally model.backbone.frozen_stages=K / norm_eval=True; frozen_stages=4 with
# norm_eval=True is a linear probe (the whole backbone fixed).
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
