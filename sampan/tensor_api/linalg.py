"""Linear algebra (``paddle.mm``, ``bmm``, ``dot``, ``t``, ``norm``, ``outer``, ``inner``, ``dist``)."""
from __future__ import annotations

import numpy as np

from ..core.dispatch import run_op
from .math import matmul, multiply, subtract, sum as _sum, sqrt, abs as _abs, max as _max, pow as _pow

__all__ = ["mm", "bmm", "dot", "t", "norm", "outer", "inner", "dist", "cross"]


def mm(input, mat2, name=None):
    """Matrix product (op ``matmul_v2``)."""
    return matmul(input, mat2)


def bmm(x, y, name=None):
    """Batched product of two 3-D Tensors [b, m, k] @ [b, k, n]."""
    if len(x.shape) != 3 or len(y.shape) != 3:
        raise ValueError(f"bmm: both inputs must be 3-D. Received: x {list(x.shape)}, y {list(y.shape)}.")
    if x.shape[0] >= 0 and y.shape[0] >= 0 and x.shape[0] != y.shape[0]:
        raise ValueError(f"bmm: batch sizes differ: x {list(x.shape)}, y {list(y.shape)}.")
    return matmul(x, y)


def dot(x, y, name=None):
    """Inner product along the last dim (1-D: 0-D result; 2-D: one per row)."""
    if list(x.shape) != list(y.shape):
        raise ValueError(f"dot: x {list(x.shape)} and y {list(y.shape)} must have the same shape.")
    return _sum(multiply(x, y), axis=-1)


def t(input, name=None):
    """Transpose of a Tensor of rank <= 2 (a 0-D or 1-D Tensor is returned as a copy)."""
    nd = len(input.shape)
    if nd > 2:
        raise ValueError(f"t: input must have rank <= 2. Received shape {list(input.shape)}; use transpose.")
    if nd < 2:
        return run_op("assign", {"X": input})["Out"]
    return run_op("transpose2", {"X": input}, {"axis": [1, 0]})["Out"]


def norm(x, p="fro", axis=None, keepdim=False, name=None):
    """Vector / matrix norms: ``'fro'`` (Frobenius), numbers and +-inf (op ``p_norm`` for one axis or all)."""
    if isinstance(axis, (list, tuple)) and len(axis) == 1:
        axis = axis[0]
    if p == "fro":
        if axis is None or isinstance(axis, int):
            return _pnorm(x, 2.0, axis, keepdim)
        return sqrt(_sum(multiply(x, x), axis=list(axis), keepdim=keepdim))
    if isinstance(p, str):
        raise ValueError(f"norm: p={p!r} is not supported (use 'fro', a number, inf or -inf).")
    if axis is None or isinstance(axis, int):
        return _pnorm(x, float(p), axis, keepdim)
    ax = list(axis)
    if p == np.inf:
        return _max(_abs(x), axis=ax, keepdim=keepdim)
    return _pow(_sum(_pow(_abs(x), float(p)), axis=ax, keepdim=keepdim), 1.0 / float(p))


def _pnorm(x, p, axis, keepdim):
    attrs = {"porder": float(p), "axis": -1 if axis is None else int(axis), "keepdim": bool(keepdim),
             "asvector": axis is None, "epsilon": 1e-12}
    out = run_op("p_norm", {"X": x}, attrs)["Out"]
    if axis is None and keepdim:
        from .manipulation import reshape
        out = reshape(out, [1] * len(x.shape))
    return out


def outer(x, y, name=None):
    """Outer product of two vectors (flattened first)."""
    from .manipulation import reshape
    return matmul(reshape(x, [-1, 1]), reshape(y, [1, -1]))


def inner(x, y, name=None):
    """Inner product over the last dims."""
    from .manipulation import transpose
    if len(y.shape) <= 1:
        return matmul(x, y)
    perm = list(range(len(y.shape)))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return matmul(x, transpose(y, perm))


def dist(x, y, p=2, name=None):
    """The ``p``-norm of ``x - y``."""
    return norm(subtract(x, y), float(p))


def cross(x, y, axis=9, name=None):
    """Cross product of 3-vectors along ``axis`` (the first dim of size 3 by default)."""
    from .manipulation import slice as slice_, concat
    if axis == 9:
        axis = next(i for i, d in enumerate(x.shape) if d == 3)

    def c(v, i):
        return slice_(v, [axis], [i], [i + 1])
    x0, x1, x2 = c(x, 0), c(x, 1), c(x, 2)
    y0, y1, y2 = c(y, 0), c(y, 1), c(y, 2)
    return concat([subtract(multiply(x1, y2), multiply(x2, y1)), subtract(multiply(x2, y0), multiply(x0, y2)),
                   subtract(multiply(x0, y1), multiply(x1, y0))], axis)
