"""Several task datasets in one run: each batch comes from one task's dataset.

``MultiTaskDataset(tasks=dict(cls=dict(type='ImageNetDataset', ...), seg=dict(...)))``
concatenates the datasets and tags every sample's metainfo with its ``task`` and its
index in that task's dataset (``task_index``). ``MixedTaskBatchSampler`` (the data
loader's ``batch_sampler``) draws each training batch from one task, with the task of
every batch fixed by ``ratios`` over the epoch; in validation it walks each task in
order without crossing tasks. Everything random derives from the sampler's seed and the
epoch, so a resumed run draws the same batches as an uninterrupted one.
"""
import bisect
import math
from typing import Dict, Iterator, List, Optional

import torch
from mmengine.dist import get_dist_info
from torch.utils.data import Dataset, Sampler

from hrnet_tasks.errors import ConfigError
from hrnet_tasks.registry import DATA_SAMPLERS, DATASETS


@DATASETS.register_module()
class MultiTaskDataset(Dataset):
    """Named task datasets behind one index space.

    Args:
        tasks (dict): task name -> dataset config (or dataset). The names are the
            model's head names.
    """

    def __init__(self, tasks: Dict[str, dict]):
        if not tasks:
            raise ConfigError('MultiTaskDataset needs at least one task dataset')
        self.datasets = {name: DATASETS.build(cfg) if isinstance(cfg, dict) else cfg
                         for name, cfg in tasks.items()}
        self.task_names = list(self.datasets)
        self.task_sizes = [len(ds) for ds in self.datasets.values()]
        for name, size in zip(self.task_names, self.task_sizes):
            if size == 0:
                raise ConfigError(f'MultiTaskDataset: the {name!r} dataset is empty')
        self.offsets = [0]
        for size in self.task_sizes:
            self.offsets.append(self.offsets[-1] + size)

    @property
    def metainfo(self) -> dict:
        """Task name -> that dataset's metainfo (``TaskMetric`` picks its own)."""
        return {name: ds.metainfo for name, ds in self.datasets.items()}

    def __len__(self) -> int:
        return self.offsets[-1]

    def locate(self, idx: int):
        """Global index -> (task name, index in that task's dataset)."""
        if not 0 <= idx < len(self):
            raise IndexError(f'index {idx} out of range for {len(self)} samples')
        t = bisect.bisect_right(self.offsets, idx) - 1
        return self.task_names[t], idx - self.offsets[t]

    def __getitem__(self, idx: int) -> dict:
        task, local = self.locate(idx)
        data = self.datasets[task][local]
        data['data_samples'].set_metainfo(dict(task=task, task_index=local))
        return data


@DATA_SAMPLERS.register_module()
class MixedTaskBatchSampler(Sampler):
    """Batches of one task each from a :class:`MultiTaskDataset`.

    Training (``shuffle=True``): an epoch has ``batches_per_epoch`` batches (default:
    enough to see every task's data once at the given batch size) of which
    ``ratios[task]`` (normalised; default proportional to the dataset sizes) come from
    each task, counts rounded by largest remainder so the ratios hold exactly over an
    epoch. The batch order and each task's sample order are permutations drawn from
    ``seed + epoch``; a task needing more samples than it has starts a new permutation.
    All ranks draw the same task for a batch (the model then uses the same heads
    everywhere) and take disjoint samples of it.

    Validation (``shuffle=False``): each task's samples in order, rank-strided, never
    two tasks in one batch.

    Args:
        sampler: the loader's sampler (``DefaultSampler``): gives the dataset, the
            seed, the shuffle flag and the epoch (set by ``DistSamplerSeedHook``).
        batch_size (int): per-rank batch size.
        ratios (dict, optional): task name -> share of the batches.
        batches_per_epoch (int, optional): batches per epoch (per rank).
    """

    def __init__(self, sampler, batch_size: int, ratios: Optional[Dict[str, float]] = None,
                 batches_per_epoch: Optional[int] = None):
        self.sampler = sampler
        dataset = sampler.dataset
        if not isinstance(dataset, MultiTaskDataset):
            raise ConfigError('MixedTaskBatchSampler needs a MultiTaskDataset, got '
                              f'{type(dataset).__name__}')
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(getattr(sampler, 'shuffle', True))
        self.rank, self.world_size = get_dist_info()
        names, sizes = dataset.task_names, dataset.task_sizes
        per_step = batch_size * self.world_size
        if ratios is None:
            ratios = dict(zip(names, sizes))
        unknown = sorted(set(ratios) - set(names))
        if unknown:
            raise ConfigError(f'MixedTaskBatchSampler: ratios name unknown task(s) {unknown}; '
                              f'the dataset tasks are {names}')
        total = float(sum(ratios.get(n, 0) for n in names))
        if total <= 0 or any(ratios.get(n, 0) < 0 for n in names):
            raise ConfigError(f'MixedTaskBatchSampler: ratios must be >= 0 with a positive sum, '
                              f'got {ratios}')
        self.ratios = {n: ratios.get(n, 0) / total for n in names}
        if batches_per_epoch is None:
            batches_per_epoch = sum(math.ceil(s / per_step) for s in sizes)
        self.batches_per_epoch = int(batches_per_epoch)
        self.counts = self._largest_remainder(self.batches_per_epoch)

    def _largest_remainder(self, num_batches: int) -> Dict[str, int]:
        exact = {n: r * num_batches for n, r in self.ratios.items()}
        counts = {n: int(math.floor(v)) for n, v in exact.items()}
        left = num_batches - sum(counts.values())
        # ties broken by task order, so the split is the same on every rank and run
        by_remainder = sorted(exact, key=lambda n: -(exact[n] - counts[n]))
        for n in by_remainder[:left]:
            counts[n] += 1
        return counts

    def _train_batches(self) -> List[List[int]]:
        gen = torch.Generator()
        gen.manual_seed(int(self.sampler.seed) + int(getattr(self.sampler, 'epoch', 0)))
        per_step = self.batch_size * self.world_size
        tasks = [n for n in self.dataset.task_names for _ in range(self.counts[n])]
        order = [tasks[i] for i in torch.randperm(len(tasks), generator=gen).tolist()]
        streams = {}
        for t, name in enumerate(self.dataset.task_names):
            size, need = self.dataset.task_sizes[t], self.counts[name] * per_step
            perms = [torch.randperm(size, generator=gen) for _ in range(math.ceil(need / size))]
            stream = torch.cat(perms).tolist() if perms else []
            streams[name] = iter([self.dataset.offsets[t] + i for i in stream])
        batches = []
        for name in order:
            step = [next(streams[name]) for _ in range(per_step)]
            batches.append(step[self.rank::self.world_size])
        return batches

    def _val_batches(self) -> List[List[int]]:
        batches = []
        for t, size in enumerate(self.dataset.task_sizes):
            per_rank = math.ceil(size / self.world_size)
            # padded by repetition so every rank has work; TaskMetric drops the repeats
            indices = [(i % size) + self.dataset.offsets[t]
                       for i in range(per_rank * self.world_size)][self.rank::self.world_size]
            batches += [indices[i:i + self.batch_size]
                        for i in range(0, len(indices), self.batch_size)]
        return batches

    def __iter__(self) -> Iterator[List[int]]:
        return iter(self._train_batches() if self.shuffle else self._val_batches())

    def __len__(self) -> int:
        if self.shuffle:
            return self.batches_per_epoch
        return sum(math.ceil(math.ceil(s / self.world_size) / self.batch_size)
                   for s in self.dataset.task_sizes)
