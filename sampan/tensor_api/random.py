"""Random tensors (``paddle.rand``, ``randn``, ``randint``, ``uniform``, ``normal``, ``randperm``, ...).

Every function is a registry random op (``uniform_random``, ``gaussian_random``, ``randint``,
``randperm``, ``bernoulli``), so it also builds static programs. Values come from the generator
seeded by ``paddle.seed``; a non-zero ``seed`` argument makes the op use its own generator.
"""
from __future__ import annotations

from ..core.dispatch import run_op
from ..core.dtype import convert_dtype
from .creation import _shape_args
from .math import _is_value

__all__ = ["rand", "randn", "standard_normal", "normal", "uniform", "randint", "randint_like", "randperm",
           "bernoulli", "uniform_"]


def _float_dtype(dtype, fn):
    dt = convert_dtype(dtype)
    if not dt.is_floating_point:
        raise TypeError(f"{fn}: dtype must be a floating dtype. Received: {dt.name}.")
    return dt


def uniform(shape, dtype=None, min=-1.0, max=1.0, seed=0, name=None):
    """Uniform samples in ``[min, max)`` (op ``uniform_random``).

    Example:
        >>> import sampan as paddle
        >>> _ = paddle.seed(1)
        >>> paddle.uniform([2, 3]).shape
        [2, 3]
    """
    ins, attrs = _shape_args(shape, "uniform")
    attrs.update(dtype=_float_dtype(dtype, "uniform").proto, min=float(min), max=float(max), seed=int(seed))
    return run_op("uniform_random", ins, attrs)["Out"]


def rand(shape, dtype=None, name=None):
    """Uniform samples in ``[0, 1)``."""
    return uniform(shape, dtype, 0.0, 1.0)


def randn(shape, dtype=None, name=None):
    """Standard normal samples (op ``gaussian_random``)."""
    return normal(0.0, 1.0, shape, dtype=dtype)


def standard_normal(shape, dtype=None, name=None):
    return randn(shape, dtype)


def normal(mean=0.0, std=1.0, shape=None, name=None, dtype=None):
    """Normal samples; ``mean`` / ``std`` may be Tensors (then the result has their broadcast shape)."""
    if _is_value(mean) or _is_value(std):
        from .math import add, multiply
        ref = mean if _is_value(mean) else std
        z = randn(ref.shape if not (_is_value(mean) and _is_value(std)) else
                  _broadcast(mean.shape, std.shape), ref.dtype)
        return add(multiply(z, std), mean)
    if shape is None:
        shape = [1]
    ins, attrs = _shape_args(shape, "normal")
    attrs.update(mean=float(mean), std=float(std), seed=0, dtype=_float_dtype(dtype, "normal").proto)
    return run_op("gaussian_random", ins, attrs)["Out"]


def _broadcast(a, b):
    import numpy as np
    return list(np.broadcast_shapes(tuple(a), tuple(b)))


def randint(low=0, high=None, shape=(1,), dtype=None, name=None):
    """Uniform integers in ``[low, high)`` (``[0, low)`` when ``high`` is None; op ``randint``)."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low}).")
    ins, attrs = _shape_args(list(shape) if isinstance(shape, tuple) else shape, "randint")
    attrs.update(low=int(low), high=int(high), seed=0, dtype=convert_dtype(dtype or "int64").proto)
    return run_op("randint", ins, attrs)["Out"]


def randint_like(x, low=0, high=None, dtype=None, name=None):
    """``randint`` with the shape of ``x`` (and its dtype by default)."""
    from .math import cast
    out = randint(low, high, x.shape, "int64")
    dt = convert_dtype(dtype) if dtype is not None else x.dtype
    return out if dt.name == "int64" else cast(out, dt)


def randperm(n, dtype="int64", name=None):
    """A random permutation of ``0 .. n-1`` (op ``randperm``)."""
    return run_op("randperm", {}, {"n": int(n), "dtype": convert_dtype(dtype).proto, "seed": 0})["Out"]


def bernoulli(x, name=None):
    """1 with probability ``x``, else 0 (op ``bernoulli``)."""
    return run_op("bernoulli", {"X": x})["Out"]


def uniform_(x, min=-1.0, max=1.0, seed=0, name=None):
    """Fill ``x`` in place with uniform samples (eager)."""
    out = uniform(x.shape, x.dtype, min, max, seed)
    x.set_value(out)
    return x
