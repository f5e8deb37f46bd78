"""Batch assembly: ``default_collate_fn`` stacks samples; ``to_tensors`` turns the arrays into Tensors.

Collation works on NumPy arrays (cheap to pass from worker processes); the DataLoader converts
every array of the collated structure into a Tensor in the main process, so a batch of ndarray
samples arrives as stacked Tensors, as in Paddle.
"""
from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["default_collate_fn", "default_convert_fn"]


def _is_tensor(x):
    from ..core.tensor import Tensor
    return isinstance(x, Tensor)


def _stack_tensors(batch):
    from ..core.tensor import Tensor
    first = batch[0]
    shapes = {tuple(t.shape) for t in batch}
    if len(shapes) != 1:
        raise ValueError(f"default_collate_fn: cannot stack Tensors of different shapes {sorted(shapes)} into one "
                         f"batch. Pad the samples to one shape or pass a collate_fn.")
    out = Tensor._wrap(np.stack([t._data for t in batch], axis=0))
    out._dtype = first._dtype
    return out


def default_collate_fn(batch):
    """Combine a list of samples into one batch, field by field (Paddle's rule).

    ndarrays are stacked on a new first axis; Python/NumPy numbers become a 1-D array; Tensors are
    stacked into a Tensor; strings stay a list; dicts and lists/tuples are collated per key / per
    position (all samples must have the same number of fields).

    Args:
        batch (list): the samples.

    Returns:
        The collated structure (ndarrays, Tensors, lists, dicts).

    Example:
        >>> import numpy as np
        >>> from sampan.io import default_collate_fn
        >>> img, lab = default_collate_fn([(np.zeros([3], 'float32'), 1), (np.ones([3], 'float32'), 2)])
        >>> img.shape, lab.tolist()
        ((2, 3), [1, 2])
    """
    sample = batch[0]
    if isinstance(sample, np.ndarray):
        shapes = {s.shape for s in batch}
        if len(shapes) != 1:
            raise ValueError(f"default_collate_fn: cannot stack arrays of different shapes {sorted(shapes)} into one "
                             f"batch. Pad the samples to one shape or pass a collate_fn.")
        return np.stack(batch, axis=0)
    if _is_tensor(sample):
        return _stack_tensors(batch)
    if isinstance(sample, (numbers.Number, np.generic)):
        return np.array(batch)
    if isinstance(sample, (str, bytes)):
        return list(batch)
    if isinstance(sample, Mapping):
        return {key: default_collate_fn([d[key] for d in batch]) for key in sample}
    if isinstance(sample, Sequence):
        n = len(sample)
        lengths = [len(s) for s in batch]
        if any(m != n for m in lengths):
            raise RuntimeError(f"default_collate_fn: samples in a batch have different numbers of fields "
                               f"{sorted(set(lengths))}; every sample must have the same structure.")
        return [default_collate_fn(list(fields)) for fields in zip(*batch)]
    raise TypeError(f"default_collate_fn: batch data can only contain numpy.ndarray, paddle.Tensor, numbers, "
                    f"str, dict or list/tuple of these. Received an element of type {type(sample).__name__}.")


def default_convert_fn(batch):
    """Used without batching (``batch_size=None``): the sample as it is; arrays become Tensors later."""
    return batch


class TensorBox:
    """A Tensor's array and dtype, as sent from a worker process (Tensors do not cross processes)."""

    __slots__ = ("data", "dtype")

    def __init__(self, data, dtype):
        self.data, self.dtype = data, dtype

    def __reduce__(self):
        return TensorBox, (self.data, self.dtype)


def to_transport(obj):
    """Replace the Tensors in ``obj`` by TensorBoxes (in a worker, before sending)."""
    if _is_tensor(obj):
        return TensorBox(obj._data, None if obj._dtype is None else obj._dtype.name)
    if isinstance(obj, list):
        return [to_transport(x) for x in obj]
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(to_transport(x) for x in obj)
    if isinstance(obj, dict):
        return {k: to_transport(v) for k, v in obj.items()}
    return obj


def _array_to_tensor(a):
    from ..core.tensor import Tensor
    if a.dtype == object or a.dtype.kind in "USV":
        return a
    return Tensor._wrap(a)


def to_tensors(obj):
    """Turn every ndarray (and TensorBox) in a collated structure into a Tensor (in the main process)."""
    if isinstance(obj, np.ndarray):
        return _array_to_tensor(obj)
    if isinstance(obj, TensorBox):
        from ..core.dtype import convert_dtype
        from ..core.tensor import Tensor
        t = Tensor._wrap(obj.data)
        t._dtype = None if obj.dtype is None else convert_dtype(obj.dtype)
        return t
    if isinstance(obj, list):
        return [to_tensors(x) for x in obj]
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(to_tensors(x) for x in obj)
    if isinstance(obj, dict):
        return {k: to_tensors(v) for k, v in obj.items()}
    return obj
