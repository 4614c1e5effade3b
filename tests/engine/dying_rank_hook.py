"""A hook that makes one rank die or hang mid-training (for configs/dying_rank.py)."""
import time

from mmengine.dist import get_rank
from mmengine.hooks import Hook

from hrnet_tasks.registry import HOOKS


@HOOKS.register_module()
class DieAtIterationHook(Hook):
    """On ``rank``, after training iteration ``iteration`` (1-based): raise, or with
    ``hang=True`` stop responding (the other ranks wait in the next collective)."""

    def __init__(self, rank: int = 1, iteration: int = 3, hang: bool = False):
        self.rank = rank
        self.iteration = iteration
        self.hang = hang

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if get_rank() != self.rank or runner.iter + 1 != self.iteration:
            return
        if self.hang:
            time.sleep(3600)
        raise RuntimeError(f'injected failure on rank {self.rank} at iteration {self.iteration}')
