"""One HRNet pass feeding several task heads, trained jointly.

The backbone is built with ``out_mode='all'``; each head gets the output it declares
(``backbone_output``: ``'highest'``, ``'concat'`` or ``'all'``) through
``HRNet.convert_outputs``, so the expensive part runs once per batch (once per distinct
test view at test time) whatever the heads.
"""
import copy
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel, ModuleDict
from mmengine.structures import BaseDataElement

from hrnet_tasks.errors import ConfigError
from hrnet_tasks.models.heads.base import build_head, with_batch_meta
from hrnet_tasks.models.multitask.loss_balance import build_loss_balancer
from hrnet_tasks.registry import MODELS


def label_field(head) -> str:
    """The data-sample field holding a head's training labels (``BaseHead.label_field``:
    by the output the head consumes unless the head names its own)."""
    return head.label_field


def _meta(sample, key):
    return sample.metainfo.get(key) if hasattr(sample, 'metainfo') else None


@MODELS.register_module()
class MultiTaskModel(BaseModel):
    """A shared HRNet and a dict of named task heads.

    Args:
        backbone (dict): the ``HRNet`` config (built with ``out_mode='all'``).
        heads (dict): head name -> head config, e.g. ``dict(pose=dict(type=
            'HigherHRNetHead', ...), seg=dict(type='FCNHead', ...))``. Missing
            ``in_channels`` / ``norm_cfg`` come from the backbone.
        loss_weights (dict, optional): head name -> weight of its loss (default 1; with
            an adaptive ``loss_balance`` a constant factor on its weight, for
            ``'uncertainty'`` the starting weight).
        loss_balance (str | dict): how the heads' losses are weighed: ``'fixed'``
            (``loss_weights``), ``'uncertainty'``, ``'loss_norm'``, ``'dwa'`` or
            ``'famo'``, or ``dict(type=NAME, **options)``; see ``loss_balance.py``. The
            adaptive methods log ``<head>/weight``, the effective weight of each head.
        grad_conflict_interval (int): every N training iterations (0: never) log each head's
            gradient norm on the shared backbone and the cosines between them
            (``conflict/...``; one extra forward and one backward per head on those
            iterations, by ``LossBalanceHook``).
        test_cfg (dict, optional): head name -> that head's ``test_cfg``.
        data_preprocessor (dict): default ``MultiTaskDataPreprocessor``.

    Modes: ``tensor`` -> dict head name -> raw head outputs; ``loss`` -> every term
    prefixed with its head name (``pose/loss_hm_1_4``, ``seg/loss_ce``, ...), loss
    terms already weighted; ``predict`` -> each head fills its prediction fields on
    the same data samples.

    A batch whose samples carry a ``task`` (from ``MultiTaskDataset``) trains and
    predicts with that head only; other batches train every head whose labels they
    carry and predict with every head.
    """

    def __init__(self, backbone: dict, heads: Dict[str, dict],
                 loss_weights: Optional[Dict[str, float]] = None,
                 loss_balance: Union[str, dict] = 'fixed', grad_conflict_interval: int = 0,
                 test_cfg: Optional[Dict[str, dict]] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor
                         or dict(type='MultiTaskDataPreprocessor'), init_cfg=init_cfg)
        if not heads:
            raise ConfigError('MultiTaskModel needs at least one head in `heads`')
        names = list(heads)
        for what, given in (('loss_weights', loss_weights), ('test_cfg', test_cfg)):
            unknown = sorted(set(given or {}) - set(names))
            if unknown:
                raise ConfigError(f'model.{what} names {unknown}, which are not heads; the '
                                  f'heads are {names}')
        self.backbone = MODELS.build(dict(copy.deepcopy(backbone), out_mode='all'))
        # mmengine's ModuleDict: init_weights reaches the heads (each has its own init)
        self.heads = ModuleDict(
            {name: build_head(copy.deepcopy(cfg), self.backbone) for name, cfg in heads.items()})
        self.loss_weights = {n: float((loss_weights or {}).get(n, 1.0)) for n in names}
        self.loss_balancer = build_loss_balancer(loss_balance, names, self.loss_weights)
        if int(grad_conflict_interval) < 0:
            raise ConfigError(f'model.grad_conflict_interval must be >= 0 (0: off), got '
                              f'{grad_conflict_interval}')
        self.grad_conflict_interval = int(grad_conflict_interval)
        self.test_cfg = {n: dict((test_cfg or {}).get(n) or {}) for n in names}

    # ------------------------------------------------------------------ helpers
    def head_feats(self, feats_all, name: str):
        return self.backbone.convert_outputs(feats_all, self.heads[name].backbone_output)

    def active_heads(self, data_samples, training: bool) -> List[str]:
        """The heads a batch is for: its samples' ``task``, or (training) those whose
        labels the samples carry, or (testing) all."""
        tasks = {_meta(s, 'task') for s in data_samples or []} - {None}
        if len(tasks) > 1:
            raise RuntimeError(f'a batch mixes samples of the tasks {sorted(tasks)}; draw '
                               'each batch from one task (MixedTaskBatchSampler)')
        if tasks:
            task = tasks.pop()
            if task not in self.heads:
                raise RuntimeError(f'a batch of task {task!r} reached a model whose heads are '
                                   f'{list(self.heads)}: add a head named {task!r} or drop '
                                   'that dataset from MultiTaskDataset.tasks')
            return [task]
        if not training:
            return list(self.heads)
        sample = data_samples[0]
        names = [n for n, head in self.heads.items() if label_field(head) in sample]
        if not names:
            wanted = {n: label_field(h) for n, h in self.heads.items()}
            raise RuntimeError(f'a training batch carries labels for none of the heads '
                               f'(label fields by head: {wanted}); check the pipeline packs '
                               'them')
        return names

    def check_dataset_meta(self, meta: Optional[dict], source: str = 'the dataset'):
        """Each head against its task's metainfo (a ``MultiTaskDataset``'s maps task ->
        metainfo), or against the one metainfo of a joint dataset (``BaseHead``)."""
        meta = meta or {}
        per_task = {n: meta[n] for n in self.heads if isinstance(meta.get(n), dict)}
        for name, head in self.heads.items():
            if not per_task:
                head.check_dataset_meta(meta, source)
            elif name in per_task:
                head.check_dataset_meta(per_task[name], f'{source} of task {name!r}')

    # ------------------------------------------------------------------ forward
    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'tensor':
            feats_all = self.backbone(inputs)
            return {name: head(self.head_feats(feats_all, name))
                    for name, head in self.heads.items()}
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}"; use "tensor", "loss" or "predict"')

    def loss(self, inputs: torch.Tensor, data_samples) -> Dict[str, torch.Tensor]:
        return self.loss_balancer.combine(self.head_losses(inputs, data_samples))

    def head_losses(self, inputs: torch.Tensor,
                    data_samples) -> Dict[str, Dict[str, torch.Tensor]]:
        """Each active head's own (unweighted) loss terms, from one backbone pass."""
        names = self.active_heads(data_samples, training=True)
        feats_all = self.backbone(inputs)
        return {name: self.heads[name].loss(self.head_feats(feats_all, name), data_samples)
                for name in names}

    def predict(self, inputs: torch.Tensor, data_samples=None):
        data_samples = with_batch_meta(inputs, data_samples)
        names = self.active_heads(data_samples, training=False)
        # one backbone pass per distinct (size, flip) view over all heads
        passes: Dict[tuple, tuple] = {}
        per_head = {}
        for name in names:
            head, cfg = self.heads[name], self.test_cfg[name]
            keys = []
            for (scale, flip), x in zip(head.test_views(cfg), head.view_inputs(inputs, cfg)):
                key = (tuple(x.shape[-2:]), bool(flip))
                if key not in passes:
                    passes[key] = self.backbone(x)
                keys.append(key)
            per_head[name] = keys
        for name in names:
            head, cfg = self.heads[name], self.test_cfg[name]
            view_feats = [self.head_feats(passes[k], name) for k in per_head[name]]
            if label_field(head) == 'gt_sem_seg' and _meta(data_samples[0], 'warp_center'):
                predict_seg_through_warp(head, view_feats, data_samples, cfg)
            else:
                head.predict(view_feats, data_samples, cfg)
        return data_samples


def predict_seg_through_warp(head, view_feats, data_samples, test_cfg):
    """Segmentation on bottom-up test inputs: the image was warped into the batch
    (centred, scaled by ``1 / warp_scale``) rather than resized into its top-left
    corner, so the head predicts in the warped frame and each image's scores are
    sampled back at its original pixels (the inverse of ``resize_matrix``)."""
    from hrnet_tasks.models.heads.seg_head import set_seg_predictions
    batch = tuple(data_samples[0].metainfo['batch_input_shape'])
    frames = []
    for sample in data_samples:
        meta = dict(sample.metainfo)
        meta.update(img_shape=batch, ori_shape=batch, flip=False)
        frames.append(BaseDataElement(metainfo=meta))
    scores = head.fuse_views([head.seg_logits(f) for f in view_feats], frames, test_cfg)
    back = []
    for sample, score in zip(data_samples, scores):
        meta = sample.metainfo
        h, w = meta['ori_shape'][:2]
        (cx, cy), s = meta['warp_center'], meta['warp_scale']
        ow, oh = meta['input_size']
        xs = (torch.arange(w, dtype=torch.float32) - cx) / s + ow / 2
        ys = (torch.arange(h, dtype=torch.float32) - cy) / s + oh / 2
        # grid_sample with align_corners=True: -1 / +1 are the first / last pixel centres
        gx = xs / (batch[1] - 1) * 2 - 1
        gy = ys / (batch[0] - 1) * 2 - 1
        grid = torch.stack(torch.meshgrid(gy, gx, indexing='ij')[::-1], dim=-1)[None]
        back.append(F.grid_sample(score[None].float(), grid.to(score.device), mode='bilinear',
                                  align_corners=True)[0])
    return set_seg_predictions(data_samples, back, test_cfg)
