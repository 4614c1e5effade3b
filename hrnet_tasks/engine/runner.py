"""mmengine's Runner with atomic checkpoints and an HRNet arch check on load."""
import os
import os.path as osp
from typing import Mapping

from mmengine.model import is_model_wrapper
from mmengine.runner import Runner as MMEngineRunner
from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model
from mmengine.dist import master_only

from hrnet_tasks.registry import RUNNERS


def check_hrnet_archs(model, state: Mapping, source: str):
    """Fail with a readable message when ``state`` holds another HRNet arch than ``model``."""
    from hrnet_tasks.models.backbones.hrnet import HRNet
    from hrnet_tasks.models.convert import check_arch_matches
    for name, module in model.named_modules():
        if isinstance(module, HRNet):
            check_arch_matches(module.extra, state, f'{name}.' if name else '', source)


@RUNNERS.register_module()
class Runner(MMEngineRunner):

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
