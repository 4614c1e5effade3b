"""mmengine's Runner with gloo on CPU, atomic checkpoints and an HRNet arch check on load."""
import os
import os.path as osp
import subprocess
from typing import Mapping

import torch
import torch.distributed as torch_dist
from mmengine.dist import is_distributed, master_only
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner as MMEngineRunner
from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model

from hrnet_tasks.errors import ConfigError
from hrnet_tasks.registry import RUNNERS


def check_hrnet_archs(model, state: Mapping, source: str):
    """Fail with a readable message when ``state`` holds another HRNet arch than ``model``."""
    from hrnet_tasks.models.backbones.hrnet import HRNet
    from hrnet_tasks.models.convert import check_arch_matches
    from hrnet_tasks.models.convert import infer_hrnet_extra
    for name, module in model.named_modules():
        if not isinstance(module, HRNet):
            continue
        prefix = f'{name}.' if name else ''
        unprefixed = infer_hrnet_extra(state) is not None
        if prefix and unprefixed and infer_hrnet_extra(state, prefix) is None:
            # backbone keys without the model prefix: an unconverted official/timm file
            raise ConfigError(
                f'{source} holds HRNet weights in the official/timm layout (no {prefix!r} prefix); '
                'convert it first: python tools/convert_checkpoint.py --src official|timm IN OUT')
        check_arch_matches(module.extra, state, prefix, source)


def init_cpu_process_group(launcher: str):
    """gloo process group for CPU runs: mmengine's ``init_dist`` calls
    ``torch.cuda.set_device`` unconditionally and so fails without a GPU."""
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
    torch_dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']),
                                  world_size=int(os.environ['WORLD_SIZE']))


@RUNNERS.register_module()
class Runner(MMEngineRunner):
    """mmengine's Runner plus: gloo on CPU, atomic checkpoint writes, and a
    readable error when a checkpoint holds another HRNet arch than the model."""

    def setup_env(self, env_cfg: dict) -> None:
        if self.distributed and not is_distributed() and not torch.cuda.is_available():
            init_cpu_process_group(self.launcher)
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

    def load_checkpoint(self, filename: str, map_location='cpu', strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else {}
        check_hrnet_archs(model, {k[7:] if k.startswith('module.') else k: v
                                  for k, v in state.items()}, filename)
        checkpoint = _load_checkpoint_to_model(model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint
