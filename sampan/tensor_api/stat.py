"""Statistics (``paddle.mean``, ``std``, ``var``, ``numel``, ``median``)."""
from __future__ import annotations

from ..core.dispatch import run_op
from .math import _reduce, subtract, multiply, divide, sum as _sum, sqrt, cast, scale

__all__ = ["mean", "std", "var", "numel", "median"]


def mean(x, axis=None, keepdim=False, name=None):
    """Mean over ``axis`` (all axes when None: a 0-D Tensor; op ``reduce_mean``).

    Example:
        >>> import sampan as paddle
        >>> float(paddle.mean(paddle.to_tensor([1.0, 2.0, 3.0])))
        2.0
    """
    return _reduce("reduce_mean", x, axis, keepdim)


def numel(x, name=None):
    """Number of elements as a 0-D int64 Tensor (op ``size``)."""
    return run_op("size", {"Input": x})["Out"]


def var(x, axis=None, unbiased=True, keepdim=False, name=None):
    """Variance over ``axis`` (``unbiased``: divide by N - 1)."""
    u = mean(x, axis, keepdim=True)
    d = subtract(x, u)
    s = _sum(multiply(d, d), axis, keepdim=keepdim)
    n = divide(cast(numel(x), x.dtype), cast(numel(s), x.dtype))
    if unbiased:
        n = scale(n, 1.0, -1.0)
    return divide(s, n)


def std(x, axis=None, unbiased=True, keepdim=False, name=None):
    """Standard deviation over ``axis``."""
    return sqrt(var(x, axis, unbiased, keepdim))


def median(x, axis=None, keepdim=False, name=None):
    """Median over ``axis`` (mean of the two middle values for an even count)."""
    from .search import sort
    from .manipulation import flatten, slice as slice_, squeeze
    if axis is None:
        x, axis = flatten(x), 0
    ax = axis % len(x.shape)
    n = x.shape[ax]
    s = sort(x, axis=ax)
    if n % 2:
        m = slice_(s, [ax], [n // 2], [n // 2 + 1])
    else:
        m = scale(_sum(slice_(s, [ax], [n // 2 - 1], [n // 2 + 1]), ax, keepdim=True), 0.5)
    return m if keepdim else squeeze(m, [ax])
