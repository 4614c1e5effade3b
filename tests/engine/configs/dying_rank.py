# configs/tiny/cls.py where rank 1 raises (or, with hang=True, hangs) after iteration 3.
# dying_rank_hook is imported from tests/engine (the test puts it on PYTHONPATH).
_base_ = ['../../../configs/tiny/cls.py']

custom_imports = dict(imports=['dying_rank_hook'], allow_failed_imports=False)
custom_hooks = [
    dict(type='ExactResumeHook'),
    dict(type='RankConsistencyHook'),
    dict(type='DieAtIterationHook', rank=1, iteration=3, hang=False),
]
# 96 images, batch 8, 2 ranks: 6 iterations a rank
train_dataloader = dict(batch_size=8, num_workers=0, dataset=dict(indices=96))
val_dataloader = dict(num_workers=0)
test_dataloader = dict(num_workers=0)
train_cfg = dict(max_epochs=1)
