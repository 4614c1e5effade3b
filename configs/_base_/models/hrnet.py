# The shared HRNet backbone. Every task inherits it from here (model.backbone) and
# overrides only what the task needs (arch, out_mode, upsampling, norm, init_cfg).
# Heads take their widths from it; SyncBN for multi-GPU: model.backbone.norm_cfg.type=SyncBN.
model = dict(
    backbone=dict(
        type='HRNet',
        arch='w32',
        out_mode='all',
        upsample_mode='nearest',
        norm_cfg=dict(type='BN', momentum=0.1),
        norm_eval=False,
        frozen_stages=-1,
        with_cp=False,
    ))
