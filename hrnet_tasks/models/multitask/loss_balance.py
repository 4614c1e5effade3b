"""How ``MultiTaskModel`` weighs its heads' losses: ``loss_balance=NAME`` or ``dict(type=NAME,
**options)``, one small class per method in ``LOSS_BALANCERS``.

Every method is loss-level (no per-task gradients): each step it turns the heads' summed
losses into one weight per head that multiplies all of that head's loss terms. Its state
lives in buffers (or parameters), so it is part of the model's state dict and of every
checkpoint: resume continues it exactly. Statistics that must agree across ranks (EMAs,
epoch means, FAMO's logits) are updated from the losses averaged over the ranks (one
all-reduce of one value per head), which are also the values a single process would
see on the whole batch. The losses are read before any GradScaler scales them.

* ``fixed``: ``loss_weights`` as given.
* ``uncertainty``: Kendall, Gal and Cipolla (CVPR 2018), ``exp(-s_t) L_t + s_t`` with a
  learned ``s_t = log sigma_t^2``. Its parameters (``loss_balancer.log_vars.*``) need
  their own optimizer group (see docs/multitask_balancing.md).
* ``loss_norm``: ``L_t / EMA(L_t)`` (detached), or ``L_t / L_t(first step)``.
* ``dwa``: dynamic weight average (Liu, Johns and Davison, CVPR 2019): ``K softmax(r / T)``
  with ``r_t`` the ratio of the head's mean loss over the last two epochs.
* ``famo``: FAMO (Liu, Feng, Stone and Liu, NeurIPS 2023): the weights follow softmax
  logits updated so that every head's log-loss falls at the same rate, measured on the same
  batch before and after each optimizer step (``LossBalanceHook`` evaluates it after the
  step: one extra forward pass per iteration, no extra backward).

With an adaptive method ``loss_weights`` stay a constant factor on the learned weight
(``uncertainty``: its starting weight).
"""
import contextlib
import math
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from hrnet_tasks.errors import ConfigError

LOSS_BALANCERS: Dict[str, type] = {}


def _register(name: str):
    def wrap(cls):
        cls.method = name
        LOSS_BALANCERS[name] = cls
        return cls
    return wrap


def build_loss_balancer(cfg, heads: List[str], loss_weights: Dict[str, float]) -> 'LossBalancer':
    """``cfg``: a method name or ``dict(type=name, **options)``."""
    options = dict(cfg) if isinstance(cfg, dict) else dict(type=cfg)
    name = options.pop('type', None)
    if name not in LOSS_BALANCERS:
        raise ConfigError(f'model.loss_balance: unknown method {name!r}; valid: '
                          f'{", ".join(LOSS_BALANCERS)}')
    cls = LOSS_BALANCERS[name]
    unknown = sorted(set(options) - set(cls.OPTIONS))
    if unknown:
        raise ConfigError(f'model.loss_balance={name!r} has no option(s) {unknown}; valid: '
                          f'{", ".join(cls.OPTIONS) or "none"}')
    return cls(heads, loss_weights, **options)


def mean_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """``values`` averaged over the ranks (bit-identical on every rank); as is outside DDP."""
    from mmengine.dist import all_reduce, get_world_size
    if get_world_size() > 1:
        values = values.clone()
        all_reduce(values, op='mean')
    return values


def head_total(terms: Dict[str, torch.Tensor]) -> torch.Tensor:
    """A head's loss: the sum of its terms whose key contains 'loss' (what mmengine sums)."""
    return sum(value.float().mean() for key, value in terms.items() if 'loss' in key)


class LossBalancer(nn.Module):
    """Base class: weights from the active heads' losses of one batch.

    ``combine`` is what ``MultiTaskModel.loss`` returns: every term prefixed with its head,
    the loss terms weighted, ``<head>/weight`` logged for the adaptive methods, plus any
    extra loss terms of the method.
    """

    OPTIONS: Tuple[str, ...] = ()
    method = ''
    logs_weights = True
    every_head_every_batch = False  # famo: its update compares all heads' losses per step
    needs_losses_after_step = False  # famo: LossBalanceHook calls after_step

    def __init__(self, heads: List[str], loss_weights: Dict[str, float]):
        super().__init__()
        self.head_names = list(heads)
        self.priors = {n: float(loss_weights.get(n, 1.0)) for n in heads}

    def index(self, names) -> List[int]:
        return [self.head_names.index(n) for n in names]

    def weights(self, totals: Dict[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], dict]:
        """head -> weight of its loss terms, and extra (prefixed) loss terms."""
        raise NotImplementedError

    def combine(self, raw: Dict[str, Dict[str, torch.Tensor]]) -> Dict[str, torch.Tensor]:
        totals = {name: head_total(terms) for name, terms in raw.items()}
        weights, extra = self.weights(totals)
        losses = {}
        for name, terms in raw.items():
            for key, value in terms.items():
                # mmengine sums the keys containing 'loss': weight those, log the rest
                losses[f'{name}/{key}'] = value * weights[name] if 'loss' in key else value
            if self.logs_weights:
                losses[f'{name}/weight'] = torch.as_tensor(weights[name]).detach().float()
        losses.update(extra)
        return losses

    def problem_in_training(self, one_task_batches: bool, accumulative_counts: int):
        """Why this method cannot train in this setting (checked before the first
        iteration by ``LossBalanceHook``), or None."""
        if self.every_head_every_batch and one_task_batches:
            return (f"model.loss_balance='{self.method}' needs every head's loss in every "
                    'batch, but the training batches each hold one task (MultiTaskDataset); '
                    "use 'loss_norm', 'dwa', 'uncertainty' or 'fixed'")
        return None

    def end_epoch(self):
        """Called after every training epoch (by ``LossBalanceHook``)."""

    def after_step(self, totals: Dict[str, torch.Tensor]):
        """The heads' losses on the same batch after the optimizer step."""


@_register('fixed')
class FixedBalance(LossBalancer):
    logs_weights = False  # the config's numbers

    def weights(self, totals):
        return {n: self.priors[n] for n in totals}, {}


@_register('uncertainty')
class UncertaintyBalance(LossBalancer):
    """``exp(-s_t) L_t + s_t``; ``s_t`` starts at ``-log(loss_weights[t])``."""

    def __init__(self, heads, loss_weights):
        super().__init__(heads, loss_weights)
        self.log_vars = nn.ParameterDict(
            {n: nn.Parameter(torch.tensor(-math.log(self.priors[n]))) for n in heads})

    def weights(self, totals):
        weights, extra = {}, {}
        for name in totals:
            log_var = self.log_vars[name]
            weights[name] = torch.exp(-log_var)
            extra[f'{name}/loss_log_var'] = log_var  # the regulariser s_t
        return weights, extra


@_register('loss_norm')
class LossNormBalance(LossBalancer):
    """``loss_weights[t] * L_t / scale_t``, ``scale_t`` (detached) the EMA of ``L_t``
    (``mode='ema'``, started at the first value) or its first value (``mode='initial'``).
    """

    OPTIONS = ('momentum', 'mode')

    def __init__(self, heads, loss_weights, momentum: float = 0.9, mode: str = 'ema'):
        super().__init__(heads, loss_weights)
        if mode not in ('ema', 'initial'):
            raise ConfigError(f"model.loss_balance.mode must be 'ema' or 'initial', got {mode!r}")
        if not 0 <= momentum < 1:
            raise ConfigError(f'model.loss_balance.momentum must be in [0, 1), got {momentum}')
        self.momentum, self.mode = float(momentum), mode
        self.register_buffer('scale', torch.ones(len(heads)))
        self.register_buffer('seen', torch.zeros(len(heads), dtype=torch.bool))

    def weights(self, totals):
        idx = self.index(totals)
        if self.training:
            values = mean_over_ranks(torch.stack([t.detach() for t in totals.values()]))
            for i, value in zip(idx, values):
                if not self.seen[i]:
                    self.scale[i] = value
                    self.seen[i] = True
                elif self.mode == 'ema':
                    self.scale[i] = self.momentum * self.scale[i] + (1 - self.momentum) * value
        return {n: self.priors[n] / self.scale[i].clamp_min(1e-12)
                for n, i in zip(totals, idx)}, {}


@_register('dwa')
class DWABalance(LossBalancer):
    """``w_t = loss_weights[t] * K exp(r_t / T) / sum_k exp(r_k / T)``, ``r_t`` = the head's
    mean loss of the last epoch / that of the epoch before (1 during the first two)."""

    OPTIONS = ('temperature', )

    def __init__(self, heads, loss_weights, temperature: float = 2.0):
        super().__init__(heads, loss_weights)
        if temperature <= 0:
            raise ConfigError(f'model.loss_balance.temperature must be > 0, got {temperature}')
        self.temperature = float(temperature)
        k = len(heads)
        self.register_buffer('epoch_sum', torch.zeros(k, dtype=torch.float64))
        self.register_buffer('epoch_count', torch.zeros(k, dtype=torch.long))
        self.register_buffer('last_mean', torch.ones(k, dtype=torch.float64))
        self.register_buffer('before_last_mean', torch.ones(k, dtype=torch.float64))
        self.register_buffer('epochs_done', torch.zeros((), dtype=torch.long))

    def current(self) -> torch.Tensor:
        if self.epochs_done < 2:
            ratio = torch.ones_like(self.last_mean)
        else:
            ratio = self.last_mean / self.before_last_mean.clamp_min(1e-12)
        return len(self.head_names) * torch.softmax(ratio / self.temperature, 0).float()

    def weights(self, totals):
        idx = self.index(totals)
        if self.training:
            values = mean_over_ranks(torch.stack([t.detach() for t in totals.values()]))
            for i, value in zip(idx, values):
                self.epoch_sum[i] += value.double()
                self.epoch_count[i] += 1
        weight = self.current()
        return {n: self.priors[n] * weight[i] for n, i in zip(totals, idx)}, {}

    def end_epoch(self):
        seen = self.epoch_count > 0
        mean = torch.where(seen, self.epoch_sum / self.epoch_count.clamp_min(1), self.last_mean)
        self.before_last_mean.copy_(self.last_mean)
        self.last_mean.copy_(mean)
        self.epochs_done += 1
        self.epoch_sum.zero_()
        self.epoch_count.zero_()


@_register('famo')
class FAMOBalance(LossBalancer):
    """FAMO with the authors' code defaults (Adam on the logits with ``lr`` 0.025 and weight
    decay ``gamma`` 0.01; no loss lower bounds; their gradient clipping of the shared
    parameters is a training-recipe choice left to ``optim_wrapper.clip_grad``).

    The update direction is ``sum_t z_t grad log L_t / sum_t (z_t / L_t)``, ``z =
    softmax(xi)``, i.e. the weight ``z_t / (L_t sum_k z_k / L_k)`` on ``L_t``. After the
    optimizer step, with ``delta_t = log L_t(before) - log L_t(after)`` on the same batch,
    ``xi`` takes an Adam step (weight decay ``gamma``) on the gradient ``J_softmax^T delta``:
    a head whose log-loss fell faster than the weighted mean loses weight.
    """

    OPTIONS = ('lr', 'gamma')
    every_head_every_batch = True
    needs_losses_after_step = True
    BETAS = (0.9, 0.999)
    EPS = 1e-8

    def __init__(self, heads, loss_weights, lr: float = 0.025, gamma: float = 0.01):
        super().__init__(heads, loss_weights)
        self.lr, self.gamma = float(lr), float(gamma)
        k = len(heads)
        self.register_buffer('logits', torch.zeros(k))
        self.register_buffer('adam_m', torch.zeros(k))
        self.register_buffer('adam_v', torch.zeros(k))
        self.register_buffer('adam_steps', torch.zeros((), dtype=torch.long))
        # the losses of the current step, kept until after_step (within one iteration)
        self.before: Optional[torch.Tensor] = None

    def _stack(self, totals) -> torch.Tensor:
        if list(totals) != self.head_names:
            raise RuntimeError(f"model.loss_balance='famo' needs every head's loss in every "
                               f'batch; this one trains {list(totals)} of {self.head_names}')
        return mean_over_ranks(torch.stack([t.detach() for t in totals.values()])) + self.EPS

    def weights(self, totals):
        losses = self._stack(totals)
        if self.training:
            self.before = losses
        z = torch.softmax(self.logits, 0)
        weight = z / (losses * (z / losses).sum())
        return {n: self.priors[n] * weight[i] for i, n in enumerate(self.head_names)}, {}

    def problem_in_training(self, one_task_batches, accumulative_counts):
        if accumulative_counts > 1:
            return ("model.loss_balance='famo' compares the losses before and after every "
                    f'optimizer step, but optim_wrapper.accumulative_counts={accumulative_counts}'
                    ' steps only every few iterations; use accumulative_counts=1 or another '
                    'method')
        return super().problem_in_training(one_task_batches, accumulative_counts)

    def after_step(self, totals):
        if self.before is None:
            return
        delta = self.before.log() - self._stack(totals).log()
        self.before = None
        z = torch.softmax(self.logits, 0)
        grad = z * (delta - (z * delta).sum()) + self.gamma * self.logits
        beta1, beta2 = self.BETAS
        self.adam_steps += 1
        self.adam_m.mul_(beta1).add_(grad, alpha=1 - beta1)
        self.adam_v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step = int(self.adam_steps)
        m_hat = self.adam_m / (1 - beta1 ** step)
        v_hat = self.adam_v / (1 - beta2 ** step)
        self.logits.sub_(self.lr * m_hat / (v_hat.sqrt() + self.EPS))


# ---------------------------------------------------------------------------- extra passes
@contextlib.contextmanager
def frozen_norm_stats(model: nn.Module):
    """Batch-norm running statistics restored on exit: an extra training-mode forward (the
    FAMO re-evaluation, the conflict measurement) normalises with the batch statistics as
    the training step does, without counting the batch twice in the running estimates."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
             and m.track_running_stats]
    saved = [(m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone())
             for m in norms]
    try:
        yield
    finally:
        for m, (mean, var, count) in zip(norms, saved):
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)
            m.num_batches_tracked.copy_(count)


def batch_head_losses(model, data_batch: dict) -> Dict[str, Dict[str, torch.Tensor]]:
    """The unweighted loss terms of every active head on ``data_batch`` (as the loader gives
    it), through ``model``'s own preprocessor, without touching the balancer's state."""
    data = model.data_preprocessor(data_batch, True)
    return model.head_losses(data['inputs'], data['data_samples'])


def backbone_grad_conflict(model, raw: Dict[str, Dict[str, torch.Tensor]],
                           scale: float = 1.0) -> Dict[str, float]:
    """Per head, the norm of the gradient of its (unweighted) loss on the shared backbone;
    per pair, the cosine between those gradients. ``raw`` comes from ``head_losses`` (graph
    kept); ``scale`` multiplies the losses before the backward (a GradScaler's scale, so that
    fp16 gradients do not underflow) and is divided out."""
    params = [p for p in model.backbone.parameters() if p.requires_grad]
    names = list(raw)
    grads = {}
    for i, name in enumerate(names):
        total = head_total(raw[name]) * scale
        parts = torch.autograd.grad(total, params, retain_graph=i < len(names) - 1,
                                    allow_unused=True)
        grads[name] = torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1)
                                 for g, p in zip(parts, params)]).float() / scale
    out = {f'conflict/{n}/grad_norm': float(g.norm()) for n, g in grads.items()}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            out[f'conflict/cos_{a}_{b}'] = float(
                torch.nn.functional.cosine_similarity(grads[a], grads[b], dim=0))
    return out
