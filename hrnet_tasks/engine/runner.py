"""mmengine's Runner with gloo on CPU, atomic checkpoints and an HRNet arch check on load."""
import datetime
import os
import os.path as osp
import subprocess
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.dist import is_distributed, master_only
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner as MMEngineRunner

from hrnet_tasks.checkpoint_files import unloadable_checkpoint
from hrnet_tasks.engine.arch_check import HRNetArchCheckHook
from hrnet_tasks.engine.dataset_check import DatasetModelCheckHook
from hrnet_tasks.engine.loss_balance_hook import LossBalanceHook
from hrnet_tasks.engine.nan_guard import NonFiniteLossHook
from hrnet_tasks.engine.schedule import follow_config_schedule, schedule_bounds
from hrnet_tasks.errors import CheckpointError, ConfigError
from hrnet_tasks.registry import RUNNERS


def init_cpu_process_group(launcher: str, timeout: Optional[float] = None):
    """gloo process group for CPU runs: mmengine's ``init_dist`` calls
    ``torch.cuda.set_device`` unconditionally and so fails without a GPU.
    ``timeout`` (seconds) bounds every collective, as ``env_cfg.dist_cfg.timeout`` does
    in mmengine's path."""
    if launcher == 'slurm':
        # srun sets the SLURM_* variables; torch's env:// rendezvous needs these.
        os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
        os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
        os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
        if 'MASTER_ADDR' not in os.environ:
            nodes = subprocess.check_output(
                ['scontrol', 'show', 'hostnames', os.environ['SLURM_NODELIST']], text=True)
            os.environ['MASTER_ADDR'] = nodes.split()[0]
        os.environ.setdefault('MASTER_PORT', '29500')
    elif launcher != 'pytorch':
        raise ValueError(f'launcher {launcher!r} is not supported on CPU; use pytorch or slurm')
    torch_dist.init_process_group(
        backend='gloo', rank=int(os.environ['RANK']), world_size=int(os.environ['WORLD_SIZE']),
        timeout=datetime.timedelta(seconds=timeout) if timeout else None)


@RUNNERS.register_module()
class Runner(MMEngineRunner):
    """mmengine's Runner plus: gloo on CPU, atomic checkpoint writes, a readable error
    when a checkpoint holds another HRNet arch than the model, and a stop when the loss
    stays non-finite (``NonFiniteLossHook``)."""

    def setup_env(self, env_cfg: dict) -> None:
        if self.distributed and not is_distributed() and not torch.cuda.is_available():
            init_cpu_process_group(self.launcher, (env_cfg.get('dist_cfg') or {}).get('timeout'))
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg, model):
        if self.distributed and not torch.cuda.is_available():
            # DDP over CPU modules takes device_ids=None (mmengine passes LOCAL_RANK).
            model_wrapper_cfg = dict(
                model_wrapper_cfg or dict(broadcast_buffers=False,
                                          find_unused_parameters=self.cfg.get(
                                              'find_unused_parameters', False)),
                device_ids=None)
            model_wrapper_cfg.setdefault('type', 'MMDistributedDataParallel')
        return super().wrap_model(model_wrapper_cfg, model)

    @master_only
    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs):
        # Write under a temporary name, then rename: a kill mid-write never leaves a
        # truncated epoch_N.pth that `--resume` would pick up.
        tmp = f'{filename}.tmp.{os.getpid()}'
        super().save_checkpoint(out_dir, tmp, *args, **kwargs)
        os.replace(osp.join(out_dir, tmp), osp.join(out_dir, filename))

    def register_hooks(self, default_hooks=None, custom_hooks=None) -> None:
        super().register_hooks(default_hooks, custom_hooks)
        if not any(isinstance(hook, HRNetArchCheckHook) for hook in self.hooks):
            self.register_hook(HRNetArchCheckHook())
        if not any(isinstance(hook, NonFiniteLossHook) for hook in self.hooks):
            self.register_hook(NonFiniteLossHook())  # stops a run whose loss stays NaN
        model = self.model.module if is_model_wrapper(self.model) else self.model
        if hasattr(model, 'loss_balancer') and not any(isinstance(hook, LossBalanceHook)
                                                       for hook in self.hooks):
            self.register_hook(LossBalanceHook())  # MultiTaskModel: its balancing's loop side
        if not any(isinstance(hook, DatasetModelCheckHook) for hook in self.hooks):
            self.register_hook(DatasetModelCheckHook())  # e.g. head K vs dataset K, one line

    def load_checkpoint(self, filename: str, *args, **kwargs):
        # named by HRNetArchCheckHook, which mmengine calls with the checkpoint only
        self.checkpoint_source = filename
        try:
            return super().load_checkpoint(filename, *args, **kwargs)
        except ConfigError:  # a whole file that does not fit the model (HRNetArchCheckHook)
            raise
        except Exception as exc:
            # a damaged file or one that would run code: one line naming it and the damage or
            # the global torch refused, not a pickle traceback
            problem = unloadable_checkpoint(filename, exc)
            if problem:
                raise CheckpointError(problem) from exc
            raise

    def resume(self, filename: str, *args, **kwargs):
        # A resume with a longer (or shorter) schedule follows the config's schedule,
        # not the checkpoint's; see hrnet_tasks/engine/schedule.py.
        config_bounds = schedule_bounds(self.param_schedulers)
        super().resume(filename, *args, **kwargs)
        for change in follow_config_schedule(self.param_schedulers, config_bounds):
            self.logger.warning(f'resume: the schedule in the config differs from the '
                                f'checkpoint\'s (train_cfg: {self._train_loop_bounds()}); '
                                f'following the config: {change}')

    def _train_loop_bounds(self) -> str:
        loop = self.train_loop
        return (f'max_epochs={loop.max_epochs}' if hasattr(loop, 'max_epochs')
                else f'max_iters={loop.max_iters}')
