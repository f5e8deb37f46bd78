"""Argument normalisation shared by ``nn.functional`` (Paddle's ``convert_to_list`` and
``_update_padding_nd``) plus the reductions losses end with."""
from __future__ import annotations

import numbers

import numpy as np

from ...core.dispatch import run_op

__all__ = []


def to_list(value, n, what, fn):
    """``value`` (an int or a sequence of ``n`` ints) as a list of ``n`` ints."""
    if isinstance(value, (numbers.Integral, np.integer)):
        return [int(value)] * n
    try:
        vals = [int(v) for v in value]
    except TypeError:
        raise TypeError(f"{fn}: {what} must be an int or a list of {n} ints. Received: {value!r}.") from None
    if len(vals) != n:
        raise ValueError(f"{fn}: {what} must have {n} values. Received: {value!r}.")
    return vals


def _pairs_are_symmetric(flat, n):
    return all(flat[2 * i] == flat[2 * i + 1] for i in range(n))


def update_padding_nd(padding, n, channel_last, fn, ceil_mode=False):
    """Paddle's padding forms -> (paddings attr, padding_algorithm).

    Accepts 'SAME'/'VALID', an int, ``n`` ints, ``2n`` ints ``[before, after, ...]`` or ``n + 2``
    pairs including zero pairs for the batch and channel dims. Symmetric explicit paddings are
    written as ``n`` values, as Paddle does.
    """
    if isinstance(padding, str):
        algo = padding.upper()
        if algo not in ("SAME", "VALID"):
            raise ValueError(f"{fn}: padding must be 'SAME', 'VALID', an int or a list. Received: {padding!r}.")
        if algo == "SAME" and ceil_mode:
            raise ValueError(f"{fn}: when padding is 'SAME', ceil_mode must be False.")
        return [0] * n, algo
    if isinstance(padding, (list, tuple)):
        padding = list(padding)
        if len(padding) == n + 2 and isinstance(padding[0], (list, tuple)):
            batch_chan = [padding[0], padding[-1]] if channel_last else padding[:2]
            if any(list(p) != [0, 0] for p in batch_chan):
                raise ValueError(f"{fn}: non-zero padding of the batch or channel dimension is not supported. "
                                 f"Received: {padding!r}.")
            spatial = padding[1:-1] if channel_last else padding[2:]
            flat = [int(v) for p in spatial for v in p]
        elif len(padding) == 2 * n and all(isinstance(v, (numbers.Integral, np.integer)) for v in padding):
            flat = [int(v) for v in padding]
        elif len(padding) == n and all(isinstance(v, (numbers.Integral, np.integer)) for v in padding):
            return [int(v) for v in padding], "EXPLICIT"
        else:
            raise ValueError(f"{fn}: invalid padding {padding!r} for {n} spatial dimension(s).")
        return (flat[0::2] if _pairs_are_symmetric(flat, n) else flat), "EXPLICIT"
    return to_list(padding, n, "padding", fn), "EXPLICIT"


def mean_all(x):
    """``paddle.mean(x)``: op ``reduce_mean`` over every axis (a 0-D result)."""
    return run_op("reduce_mean", {"X": x}, {"dim": [], "keep_dim": False, "reduce_all": True})["Out"]


def sum_all(x):
    """``paddle.sum(x)``: op ``reduce_sum`` over every axis."""
    return run_op("reduce_sum", {"X": x}, {"dim": [], "keep_dim": False, "reduce_all": True})["Out"]


def reduce_loss(out, reduction, fn):
    if reduction == "mean":
        return mean_all(out)
    if reduction == "sum":
        return sum_all(out)
    if reduction == "none":
        return out
    raise ValueError(f"{fn}: reduction must be 'mean', 'sum' or 'none'. Received: {reduction!r}.")


def check_reduction(reduction, fn, allowed=("mean", "sum", "none")):
    if reduction not in allowed:
        raise ValueError(f"{fn}: reduction must be one of {list(allowed)}. Received: {reduction!r}.")


def ndim(x):
    return len(x.shape)
