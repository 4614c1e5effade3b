from .arch_check import HRNetArchCheckHook, check_hrnet_archs
from .best_checkpoint import CheckpointHook
from .checkpoint import allow_checkpoint_types, atomic_save, load_checkpoint_file
from .compile import CompileEvalHook
from .hooks import ExactResumeHook, RankConsistencyHook
from .loss_balance_hook import LossBalanceHook
from .nan_guard import NonFiniteLoss, NonFiniteLossHook, OptimWrapper
from .optim_wrapper import AmpOptimWrapper
from .runner import Runner

# mmengine's own loaders (resume, load_from, Pretrained init) call torch.load with
# the weights_only default; allow-list the types its checkpoints contain.
allow_checkpoint_types()

__all__ = ['AmpOptimWrapper', 'CheckpointHook', 'CompileEvalHook', 'ExactResumeHook',
           'HRNetArchCheckHook', 'LossBalanceHook', 'NonFiniteLoss', 'NonFiniteLossHook',
           'OptimWrapper', 'RankConsistencyHook', 'Runner', 'allow_checkpoint_types', 'atomic_save',
           'check_hrnet_archs', 'load_checkpoint_file']
