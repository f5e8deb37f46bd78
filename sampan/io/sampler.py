"""Samplers: which sample indices a DataLoader reads, and how they group into batches.

Random choices come from sampan's global generator (``sampan.core.state.rng()``), so
``paddle.seed(n)`` makes shuffling reproducible.
"""
from __future__ import annotations

import math
import numbers
import os

import numpy as np

__all__ = ["Sampler", "SequenceSampler", "RandomSampler", "WeightedRandomSampler", "SubsetRandomSampler",
           "BatchSampler", "DistributedBatchSampler"]


def _rng(generator=None):
    if generator is not None:
        return generator
    from ..core import state
    return state.rng()


class Sampler:
    """Base class: iterating yields sample indices; ``len`` is their number when known."""

    def __init__(self, data_source=None):
        self.data_source = data_source

    def __iter__(self):
        raise NotImplementedError(f"'{type(self).__name__}' must implement __iter__.")


class SequenceSampler(Sampler):
    """Indices ``0 .. len(data_source)-1`` in order.

    Example:
        >>> import sampan as paddle
        >>> list(paddle.io.SequenceSampler(range(3)))
        [0, 1, 2]
    """

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """Indices in random order (a permutation, or draws with replacement).

    Args:
        data_source (Dataset): the dataset whose length is sampled.
        replacement (bool): draw with replacement. Default False.
        num_samples (int, optional): how many indices to yield (only with ``replacement=True``);
            ``len(data_source)`` by default.
        generator (numpy.random.Generator | iterator, optional): a NumPy Generator to draw from, or (as in
            Paddle) an iterator that yields the indices itself. sampan's global generator by default.

    Example:
        >>> import sampan as paddle
        >>> _ = paddle.seed(1)
        >>> sorted(paddle.io.RandomSampler(range(4)))
        [0, 1, 2, 3]
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        super().__init__(data_source)
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement must be a bool. Received: replacement={replacement!r}.")
        if num_samples is not None and not replacement:
            raise ValueError("RandomSampler: num_samples can only be given with replacement=True.")
        if num_samples is not None and (not isinstance(num_samples, numbers.Integral) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples must be a positive integer. Received: {num_samples!r}.")
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        g = self.generator
        if g is not None and not isinstance(g, np.random.Generator):
            for _ in range(self.num_samples):  # Paddle's convention: the generator yields the indices
                yield int(next(g))
            return
        rng = _rng(g)
        if self.replacement:
            yield from rng.integers(0, n, size=self.num_samples).tolist()
        else:
            yield from rng.permutation(n).tolist()

    def __len__(self):
        return self.num_samples


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``."""

    def __init__(self, weights, num_samples, replacement=True):
        super().__init__(None)
        w = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights, dtype=np.float64).reshape(-1)
        if w.size == 0 or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not all zero.")
        if not isinstance(num_samples, numbers.Integral) or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples must be a positive integer. "
                             f"Received: {num_samples!r}.")
        if not replacement and num_samples > int((w > 0).sum()):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} samples without replacement from "
                             f"{int((w > 0).sum())} non-zero weights.")
        self.weights, self.num_samples, self.replacement = w, int(num_samples), replacement

    def __iter__(self):
        p = self.weights / self.weights.sum()
        yield from _rng().choice(len(p), size=self.num_samples, replace=self.replacement, p=p).tolist()

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in random order."""

    def __init__(self, indices):
        super().__init__(None)
        self.indices = list(indices)
        if not self.indices:
            raise ValueError("SubsetRandomSampler: indices must not be empty.")

    def __iter__(self):
        for i in _rng().permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


def _check_batch_args(who, batch_size, drop_last):
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size <= 0:
        raise ValueError(f"{who}: batch_size must be a positive integer. Received: batch_size={batch_size!r}.")
    if not isinstance(drop_last, bool):
        raise TypeError(f"{who}: drop_last must be a bool. Received: drop_last={drop_last!r}.")


class BatchSampler(Sampler):
    """Groups the indices of a sampler (or of a dataset, in order or shuffled) into lists of ``batch_size``.

    Give exactly one of ``dataset`` and ``sampler``.

    Args:
        dataset (Dataset, optional): sample ``range(len(dataset))``, shuffled when ``shuffle``.
        sampler (Sampler, optional): the index source.
        shuffle (bool): shuffle the dataset's indices (only with ``dataset``). Default False.
        batch_size (int): indices per batch. Default 1.
        drop_last (bool): drop the last batch when it is smaller than ``batch_size``. Default False.

    Example:
        >>> import sampan as paddle
        >>> list(paddle.io.BatchSampler(dataset=range(5), batch_size=2))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, dataset=None, sampler=None, shuffle=False, batch_size=1, drop_last=False):
        super().__init__(dataset)
        if (dataset is None) == (sampler is None):
            raise ValueError("BatchSampler: give exactly one of dataset and sampler. "
                             f"Received: dataset={'None' if dataset is None else type(dataset).__name__}, "
                             f"sampler={'None' if sampler is None else type(sampler).__name__}.")
        if sampler is not None and shuffle:
            raise ValueError("BatchSampler: shuffle=True needs dataset=...; with a sampler, the sampler decides the "
                             "order (use a RandomSampler).")
        if not isinstance(shuffle, bool):
            raise TypeError(f"BatchSampler: shuffle must be a bool. Received: shuffle={shuffle!r}.")
        _check_batch_args("BatchSampler", batch_size, drop_last)
        if sampler is None:
            sampler = RandomSampler(dataset) if shuffle else SequenceSampler(dataset)
        self.sampler, self.shuffle = sampler, shuffle
        self.batch_size, self.drop_last = int(batch_size), drop_last

    def __iter__(self):
        return _batches(self.sampler, self.batch_size, self.drop_last)

    def __len__(self):
        return _batch_count(len(self.sampler), self.batch_size, self.drop_last)


def _env_int(name, default):
    v = os.environ.get(name)
    return int(v) if v not in (None, "") else default


class DistributedBatchSampler(BatchSampler):
    """The batches of one rank out of ``num_replicas`` for data-parallel training.

    The index list is padded (by repeating its head) to a multiple of ``num_replicas`` so every rank gets
    ``ceil(len(dataset) / num_replicas)`` samples, optionally shuffled with a seed equal to the epoch
    (identical on every rank; change it with ``set_epoch``). Ranks then take batch-sized slices in turn:
    rank ``r`` takes ``indices[(k * num_replicas + r) * batch_size : ... + batch_size]`` for the full rounds,
    and an equal share of the final partial round, as Paddle does.

    Args:
        dataset (Dataset): a map-style dataset.
        batch_size (int): samples per batch on each rank.
        num_replicas (int, optional): number of ranks; ``PADDLE_TRAINERS_NUM`` or 1 by default.
        rank (int, optional): this rank; ``PADDLE_TRAINER_ID`` or 0 by default.
        shuffle (bool): shuffle once per epoch. Default False.
        drop_last (bool): drop this rank's last incomplete batch. Default False.

    Example:
        >>> import sampan as paddle
        >>> s = paddle.io.DistributedBatchSampler(range(10), batch_size=2, num_replicas=2, rank=1)
        >>> list(s)
        [[2, 3], [6, 7], [9]]
    """

    def __init__(self, dataset, batch_size, num_replicas=None, rank=None, shuffle=False, drop_last=False):
        self.data_source = dataset
        self.dataset = dataset
        _check_batch_args("DistributedBatchSampler", batch_size, drop_last)
        if not isinstance(shuffle, bool):
            raise TypeError(f"DistributedBatchSampler: shuffle must be a bool. Received: shuffle={shuffle!r}.")
        nranks = _env_int("PADDLE_TRAINERS_NUM", 1) if num_replicas is None else num_replicas
        local_rank = _env_int("PADDLE_TRAINER_ID", 0) if rank is None else rank
        if not isinstance(nranks, numbers.Integral) or nranks <= 0:
            raise ValueError(f"DistributedBatchSampler: num_replicas must be a positive integer. "
                             f"Received: {nranks!r}.")
        if not isinstance(local_rank, numbers.Integral) or not 0 <= local_rank < nranks:
            raise ValueError(f"DistributedBatchSampler: rank must be in [0, num_replicas={nranks}). "
                             f"Received: rank={local_rank!r}.")
        self.batch_size, self.drop_last, self.shuffle = int(batch_size), drop_last, shuffle
        self.nranks, self.local_rank = int(nranks), int(local_rank)
        self.epoch = 0
        self.num_samples = int(math.ceil(len(dataset) / self.nranks))
        self.total_size = self.num_samples * self.nranks

    def _rank_indices(self, indices):
        per_round = self.batch_size * self.nranks
        tail = self.total_size % per_round          # the last, partial round (a multiple of nranks)
        share = tail // self.nranks
        out = []
        for start in range(self.local_rank * self.batch_size, len(indices) - tail, per_round):
            out.extend(indices[start:start + self.batch_size])
        last = indices[len(indices) - tail:]
        out.extend(last[self.local_rank * share:(self.local_rank + 1) * share])
        return out

    def __iter__(self):
        n = len(self.dataset)
        indices = list(range(n))
        pad = self.total_size - n
        while pad > 0:                              # pad by repeating the head (several times if tiny dataset)
            indices.extend(indices[:pad])
            pad = self.total_size - len(indices)
        if self.shuffle:
            np.random.RandomState(self.epoch).shuffle(indices)
            self.epoch += 1
        if self.nranks > 1:
            indices = self._rank_indices(indices)
        assert len(indices) == self.num_samples, (len(indices), self.num_samples)
        yield from _batches(indices, self.batch_size, self.drop_last)

    def __len__(self):
        return _batch_count(self.num_samples, self.batch_size, self.drop_last)

    def set_epoch(self, epoch):
        """Set the epoch that seeds the next shuffle (call it before each epoch for a new order)."""
        self.epoch = epoch


def _batches(indices, batch_size, drop_last):
    """Lists of ``batch_size`` consecutive indices; the short last one unless ``drop_last``."""
    batch = []
    for idx in indices:
        batch.append(idx)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch and not drop_last:
        yield batch


def _batch_count(n, batch_size, drop_last):
    return n // batch_size if drop_last else (n + batch_size - 1) // batch_size
