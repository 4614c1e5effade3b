"""Hooks that make resume exact and distributed runs checkable."""
import hashlib
import json
import os.path as osp

import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from hrnet_tasks.engine.checkpoint import (decode_history_buffer, encode_history_buffer, rng_state,
                                           set_rng_state, to_plain_data)
from hrnet_tasks.registry import HOOKS


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Make checkpoints plain data and resumes exact.

    * Before saving, the message hub's ``HistoryBuffer`` objects (which pickle
      bound methods through ``getattr``) become plain dicts and every NumPy
      value becomes a tensor or Python scalar, so the file loads with
      ``torch.load(weights_only=True)`` and no allow-list at all.
    * The Python/NumPy/torch RNG states are saved too and restored on resume:
      mmengine reseeds on resume, so anything drawn in the main process (batch
      Mixup/CutMix, loading with ``num_workers=0``) would otherwise replay the
      first epoch's random stream instead of continuing it.
    """

    priority = 'VERY_LOW'  # after every hook that adds to the checkpoint

    def before_save_checkpoint(self, runner, checkpoint: dict):
        checkpoint['rng_state'] = rng_state()
        hub = checkpoint.get('message_hub')
        if hub and 'log_scalars' in hub:
            hub['log_scalars'] = {k: encode_history_buffer(v)
                                  for k, v in hub['log_scalars'].items()}
        to_plain_data(checkpoint)

    def after_load_checkpoint(self, runner, checkpoint: dict):
        hub = checkpoint.get('message_hub')
        if hub and 'log_scalars' in hub:
            hub['log_scalars'] = {k: decode_history_buffer(v)
                                  for k, v in hub['log_scalars'].items()}
        if runner._resume:  # a `load_from` fine-tune starts a fresh random stream
            set_rng_state(checkpoint.get('rng_state'))


def parameter_digest(model: torch.nn.Module) -> str:
    model = model.module if is_model_wrapper(model) else model
    digest = hashlib.sha1()
    for name, param in model.named_parameters():
        digest.update(name.encode())
        digest.update(param.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


@HOOKS.register_module()
class RankConsistencyHook(Hook):
    """After every training epoch, check that all ranks hold identical parameters.

    A divergence (a rank that skipped a step, an unsynchronised parameter)
    otherwise only shows up as a mysteriously worse model. Rank 0 writes the
    digests to ``<work_dir>/rank_param_digests.json``.
    """

    def after_train_epoch(self, runner):
        if get_world_size() == 1:
            return
        digests = all_gather_object(parameter_digest(runner.model))
        if is_main_process():
            with open(osp.join(runner.work_dir, 'rank_param_digests.json'), 'w') as f:
                json.dump(dict(epoch=runner.epoch, digests=digests), f)
        if len(set(digests)) != 1:
            raise RuntimeError(f'rank {get_rank()}: parameters differ across ranks after epoch '
                               f'{runner.epoch}: {digests}')


@HOOKS.register_module()
class TestProgressHook(Hook):
    """Progress of a test run: images done, images/s and ETA.

    A bar redrawn in place when stderr is a terminal, a log line every ``every``
    fraction of the test set otherwise. Rank 0 reports for all ranks: each test
    step handles one batch per rank, so it counts its own images times the world
    size (capped at the set size: the sampler pads the last step).
    """

    priority = 'LOW'

    def __init__(self, every: float = 0.1):
        self.every = every
        self.progress = None

    def before_test_epoch(self, runner):
        if not is_main_process():
            return
        from hrnet_tasks.progress import Progress
        total = len(runner.test_loop.dataloader.dataset)
        self.progress = Progress(total, 'images', prefix='test: ', log=runner.logger.info,
                                 every=self.every)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.progress is not None:
            self.progress.update(len(outputs or []) * get_world_size())
            if self.progress.done >= self.progress.total:
                self.after_test_epoch(runner)  # end the bar before the metrics are logged

    def after_test_epoch(self, runner, metrics=None):
        if self.progress is not None:
            self.progress.close()
            self.progress = None
