# Single-task baseline for configs/tiny/multitask.py: the same model, data, pipeline and
# schedule with the person-segmentation head only.
_base_ = ['./multitask.py']
model = dict(heads=dict(_delete_=True, seg={{_base_.model.heads.seg}}),
             loss_weights=dict(_delete_=True, seg=1.0),
             loss_balance='fixed',  # a single head: its plain loss, not the joint default
             test_cfg=dict(_delete_=True, seg=dict(mode='whole')))
val_evaluator = [dict(type='IoUMetric', prefix='seg')]
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='seg/mIoU', rule='greater'))
