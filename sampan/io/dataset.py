"""Datasets (``paddle.io.Dataset`` and friends): the sample sources a DataLoader reads.

A map-style dataset answers ``dataset[i]`` and ``len(dataset)``; an iterable dataset is
iterated. Neither knows about batching, shuffling or worker processes.
"""
from __future__ import annotations

import bisect
import math
import numbers

import numpy as np

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "ComposeDataset", "ChainDataset", "Subset",
           "ConcatDataset", "random_split"]


class Dataset:
    """A map-style dataset: subclasses implement ``__getitem__(idx)`` and ``__len__()``.

    Example:
        >>> import numpy as np
        >>> import sampan as paddle
        >>> class Squares(paddle.io.Dataset):
        ...     def __getitem__(self, idx):
        ...         return np.array([idx * idx], dtype='int64')
        ...     def __len__(self):
        ...         return 4
        >>> len(Squares()), int(Squares()[3][0])
        (4, 9)
    """

    def __getitem__(self, idx):
        raise NotImplementedError(f"'{type(self).__name__}' does not implement __getitem__: a paddle.io.Dataset "
                                  f"subclass must define __getitem__(self, idx) and __len__(self).")

    def __len__(self):
        raise NotImplementedError(f"'{type(self).__name__}' does not implement __len__: a paddle.io.Dataset "
                                  f"subclass must define __getitem__(self, idx) and __len__(self).")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset read by iteration (``__iter__``), for streams without random access.

    With ``num_workers > 0`` every worker iterates its own copy; use ``paddle.io.get_worker_info()``
    inside ``__iter__`` to give each worker a distinct share, or every sample is read once per worker.

    Example:
        >>> import numpy as np
        >>> import sampan as paddle
        >>> class Counter(paddle.io.IterableDataset):
        ...     def __iter__(self):
        ...         for i in range(3):
        ...             yield np.array([i], dtype='int64')
        >>> [int(x[0]) for x in Counter()]
        [0, 1, 2]
    """

    def __iter__(self):
        raise NotImplementedError(f"'{type(self).__name__}' does not implement __iter__: a paddle.io.IterableDataset "
                                  f"subclass must define __iter__(self).")

    def __getitem__(self, idx):
        raise RuntimeError(f"'{type(self).__name__}' is an IterableDataset: it is read by iteration, not indexed.")

    def __len__(self):
        raise TypeError(f"'{type(self).__name__}' is an IterableDataset and has no length.")

    def __add__(self, other):
        return ChainDataset([self, other])


def _first_dim(t):
    shape = t.shape
    shape = shape() if callable(shape) else shape
    if not shape:
        raise ValueError("TensorDataset: every tensor needs at least one dimension (the sample axis). "
                         f"Received a tensor of shape {list(shape)}.")
    return shape[0]


class TensorDataset(Dataset):
    """Samples are slices along the first axis of several equally long Tensors (or arrays).

    Args:
        tensors (list[Tensor]): tensors whose first dimensions are equal.

    Example:
        >>> import numpy as np
        >>> import sampan as paddle
        >>> ds = paddle.io.TensorDataset([paddle.to_tensor(np.zeros([5, 3], 'float32')),
        ...                               paddle.to_tensor(np.arange(5))])
        >>> x, y = ds[2]
        >>> x.shape, int(y)
        ([3], 2)
    """

    def __init__(self, tensors):
        tensors = list(tensors)
        if not tensors:
            raise ValueError("TensorDataset: tensors must be a non-empty list of Tensors.")
        lengths = [_first_dim(t) for t in tensors]
        if len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: all tensors must have the same first dimension. "
                             f"Received first dimensions {lengths}.")
        self.tensors = tensors

    def __getitem__(self, index):
        from ..core.tensor import Tensor
        out = []
        for t in self.tensors:
            if isinstance(t, Tensor):
                s = Tensor._wrap(t._data[index])
                s._dtype = t._dtype
                out.append(s)
            else:
                out.append(t[index])
        return tuple(out)

    def __len__(self):
        return _first_dim(self.tensors[0])


def _as_tuple(x):
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


class ComposeDataset(Dataset):
    """Zips map-style datasets of equal length: sample ``i`` concatenates the fields of each ``ds[i]``.

    Example:
        >>> import numpy as np
        >>> import sampan as paddle
        >>> a = paddle.io.TensorDataset([np.arange(3)])
        >>> b = paddle.io.TensorDataset([np.arange(3) * 10, np.arange(3) * 100])
        >>> [int(v) for v in paddle.io.ComposeDataset([a, b])[2]]
        [2, 20, 200]
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ComposeDataset: datasets must be a non-empty list.")
        for i, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise TypeError(f"ComposeDataset: datasets[{i}] is an IterableDataset; only map-style datasets "
                                f"can be composed.")
        lengths = [len(d) for d in self.datasets]
        if len(set(lengths)) != 1:
            raise ValueError(f"ComposeDataset: all datasets must have the same length. Received lengths {lengths}.")

    def __len__(self):
        return len(self.datasets[0])

    def __getitem__(self, idx):
        fields = []
        for d in self.datasets:
            fields.extend(_as_tuple(d[idx]))
        return tuple(fields)


class ChainDataset(IterableDataset):
    """Iterates several iterable datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset: datasets[{i}] must be an IterableDataset, "
                                f"received {type(d).__name__}.")

    def __iter__(self):
        for d in self.datasets:
            yield from d


class ConcatDataset(Dataset):
    """Map-style datasets concatenated end to end (``ds_a + ds_b``)."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets must be a non-empty list.")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            idx += n
        if not 0 <= idx < n:
            raise IndexError(f"ConcatDataset: index {idx} out of range for length {n}.")
        k = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[k - 1] if k > 0 else 0
        return self.datasets[k][idx - start]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Example:
        >>> import numpy as np
        >>> import sampan as paddle
        >>> sub = paddle.io.Subset(paddle.io.TensorDataset([np.arange(10)]), indices=[7, 2])
        >>> len(sub), int(sub[0][0])
        (2, 7)
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = list(indices)

    def __getitem__(self, idx):
        return self.dataset[self.indices[idx]]

    def __len__(self):
        return len(self.indices)


def _split_lengths(lengths, total):
    lengths = list(lengths)
    if lengths and all(isinstance(x, numbers.Real) and not isinstance(x, numbers.Integral) for x in lengths) \
            and math.isclose(sum(lengths), 1.0):
        counts = [int(math.floor(total * f)) for f in lengths]
        for i in range(total - sum(counts)):  # give the remainder round-robin, as Paddle and PyTorch do
            counts[i % len(counts)] += 1
        return counts
    if any(not isinstance(x, numbers.Integral) or x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative integers summing to len(dataset)={total}, "
                         f"or fractions summing to 1. Received lengths={lengths}.")
    if sum(lengths) != total:
        raise ValueError(f"random_split: the sum of lengths ({sum(lengths)}) does not equal the length of the "
                         f"dataset ({total}). Received lengths={lengths}.")
    return [int(x) for x in lengths]


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` at random into non-overlapping Subsets of the given lengths.

    Args:
        dataset (Dataset): a map-style dataset.
        lengths (list[int] | list[float]): sizes summing to ``len(dataset)``, or fractions summing to 1.
        generator (numpy.random.Generator, optional): source of the permutation; sampan's global generator
            (seeded by ``paddle.seed``) by default.

    Example:
        >>> import numpy as np
        >>> import sampan as paddle
        >>> _ = paddle.seed(0)
        >>> a, b = paddle.io.random_split(paddle.io.TensorDataset([np.arange(10)]), [8, 2])
        >>> len(a), len(b)
        (8, 2)
    """
    from ..core import state
    total = len(dataset)
    counts = _split_lengths(lengths, total)
    rng = generator if generator is not None else state.rng()
    perm = np.asarray(rng.permutation(total)).tolist()
    out, start = [], 0
    for c in counts:
        out.append(Subset(dataset, perm[start:start + c]))
        start += c
    return out
