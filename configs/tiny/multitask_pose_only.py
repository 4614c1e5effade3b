# Single-task baseline for configs/tiny/multitask.py: the same model, data, pipeline and
# schedule with the pose head only (the README compares joint against single-task runs).
_base_ = ['./multitask.py']
model = dict(heads=dict(_delete_=True, pose={{_base_.model.heads.pose}}),
             loss_weights=dict(_delete_=True, pose=1.0),
             loss_balance='fixed',  # a single head: its plain loss, not the joint default
             test_cfg=dict(_delete_=True, pose=dict(flip_test=True, scale_factors=[1.0])))
val_evaluator = [dict(type='CocoKeypointMetric', prefix='pose/coco')]
test_evaluator = val_evaluator
# --dist: pose reads only the stride-4 branch, the last module's other fuse rows get no
# gradient, so DDP must accept parameters without gradients
find_unused_parameters = True
