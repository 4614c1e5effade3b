from .arch_check import HRNetArchCheckHook, check_hrnet_archs
from .checkpoint import allow_checkpoint_types, atomic_save, load_checkpoint_file
from .compile import CompileEvalHook
from .hooks import ExactResumeHook, RankConsistencyHook
from .optim_wrapper import AmpOptimWrapper
from .runner import Runner

# mmengine's own loaders (resume, load_from, Pretrained init) call torch.load with
# the weights_only default; allow-list the types its checkpoints contain.
allow_checkpoint_types()

__all__ = ['AmpOptimWrapper', 'CompileEvalHook', 'ExactResumeHook', 'HRNetArchCheckHook',
           'RankConsistencyHook', 'Runner', 'allow_checkpoint_types', 'atomic_save',
           'check_hrnet_archs', 'load_checkpoint_file']
