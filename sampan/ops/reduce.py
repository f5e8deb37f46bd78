"""Reductions (``reduce_sum/mean/max/min/prod/any/all``, ``mean``, ``logsumexp``), ``arg_max/arg_min``
and ``top_k_v2``.

Paddle's reduce attributes: ``dim`` (axes), ``keep_dim``, ``reduce_all`` (also implied by an empty
``dim`` or one covering every axis), ``in_dtype`` / ``out_dtype`` (VarType codes, -1 = unchanged).
A full reduction gives a 0-D tensor (Paddle >= 2.5).
"""
from __future__ import annotations

import numpy as np

from .registry import op
from ..core.dtype import BY_PROTO

_REDUCE_ATTRS = {"dim": ("ints", [0]), "keep_dim": ("bool", False), "reduce_all": ("bool", False),
                 "in_dtype": ("int", -1), "out_dtype": ("int", -1)}
_BOOL_REDUCE_ATTRS = {"dim": ("ints", [0]), "keep_dim": ("bool", False), "reduce_all": ("bool", False)}


def _axes(x, attrs):
    """The reduced axes as a tuple (None: every axis)."""
    dim = attrs["dim"]
    if isinstance(dim, int):
        dim = [dim]
    nd = x.ndim
    for d in dim:
        if not -max(nd, 1) <= d < max(nd, 1):
            raise ValueError(f"dim {d} is out of range for an input of rank {nd} (shape {list(x.shape)}).")
    if attrs["reduce_all"] or not dim or nd == 0:
        return None
    axes = tuple(sorted({d + nd if d < 0 else d for d in dim}))
    return None if len(axes) == nd else axes


def _expand_back(g, x, attrs):
    """Reshape a reduced gradient so that it broadcasts against ``x``."""
    axes = _axes(x, attrs)
    if attrs["keep_dim"] or g.ndim == x.ndim:
        return g
    if axes is None:
        return g.reshape([1] * x.ndim)
    shape = list(x.shape)
    for a in axes:
        shape[a] = 1
    return g.reshape(shape)


def _full(shape, g):
    out = np.empty(shape, dtype=g.dtype)
    out[...] = g
    return out


def _out_dtype(attrs):
    code = attrs.get("out_dtype", -1)
    return BY_PROTO[code].np if code is not None and code >= 0 else None


@op("reduce_sum", "X", "Out", _REDUCE_ATTRS)
def reduce_sum(ins, attrs):
    """Sum over ``dim``. bool and int32 inputs sum to int64 unless ``out_dtype`` says otherwise."""
    x = ins["X"]
    dt = _out_dtype(attrs)
    if dt is None and x.dtype in (np.bool_, np.int32):
        dt = np.dtype(np.int64)
    out = np.sum(x, axis=_axes(x, attrs), keepdims=attrs["keep_dim"], dtype=dt)
    return {"Out": np.asarray(out)}


@reduce_sum.grad
def _reduce_sum_grad(ctx):
    x = ctx.x("X")
    g = _expand_back(ctx.dout("Out"), x, ctx.attrs)
    return {"X": _full(x.shape, g.astype(x.dtype, copy=False))}


@op("reduce_mean", "X", "Out", _REDUCE_ATTRS)
def reduce_mean(ins, attrs):
    """Mean over ``dim``."""
    x = ins["X"]
    axes = _axes(x, attrs)
    if x.dtype.kind != "f":
        return {"Out": np.asarray(np.mean(x, axis=axes, keepdims=attrs["keep_dim"]))}
    # add.reduce + one multiply: NumPy's mean goes through several Python layers per call
    s = np.add.reduce(x, axis=axes, keepdims=attrs["keep_dim"])
    n = x.size // max(s.size, 1) if x.size else 0
    out = s * (1.0 / n) if n else s * np.nan
    return {"Out": out if out.__class__ is np.ndarray else np.asarray(out)}


@reduce_mean.grad
def _reduce_mean_grad(ctx):
    x = ctx.x("X")
    g = ctx.dout("Out")
    if g.size == 1 and x.dtype.kind == "f":  # the loss-mean case: one fill
        return {"X": np.full(x.shape, g.reshape(()).item() / max(x.size, 1), dtype=x.dtype)}
    n = x.size // max(ctx.out("Out").size, 1)
    g = _expand_back(ctx.dout("Out"), x, ctx.attrs)
    return {"X": _full(x.shape, g * (1.0 / max(n, 1)))}


def _minmax(name, fn):
    def kernel(ins, attrs):
        x = ins["X"]
        if x.size == 0:
            raise ValueError(f"{name}: cannot reduce an empty tensor (shape {list(x.shape)}).")
        return {"Out": np.asarray(fn(x, axis=_axes(x, attrs), keepdims=attrs["keep_dim"]))}
    kernel.__doc__ = f"{name.split('_')[1].capitalize()} over ``dim``."
    od = op(name, "X", "Out", _REDUCE_ATTRS)(kernel)

    @od.grad
    def _grad(ctx):
        # Paddle: dX = dOut * (X == Out): every position attaining the extremum gets the gradient
        x = ctx.x("X")
        o = _expand_back(ctx.out("Out"), x, ctx.attrs)
        g = _expand_back(ctx.dout("Out"), x, ctx.attrs)
        return {"X": g * (x == o)}
    return od


reduce_max = _minmax("reduce_max", np.max)
reduce_min = _minmax("reduce_min", np.min)


@op("reduce_prod", "X", "Out", _REDUCE_ATTRS)
def reduce_prod(ins, attrs):
    """Product over ``dim``."""
    x = ins["X"]
    return {"Out": np.asarray(np.prod(x, axis=_axes(x, attrs), keepdims=attrs["keep_dim"]))}


@reduce_prod.grad
def _reduce_prod_grad(ctx):
    x = ctx.x("X")
    o = _expand_back(ctx.out("Out"), x, ctx.attrs)
    g = _expand_back(ctx.dout("Out"), x, ctx.attrs)
    nz = x != 0
    if nz.all():
        return {"X": g * o / x}
    # zeros: the product of the other entries, computed without dividing
    axes = _axes(x, ctx.attrs)
    axes = tuple(range(x.ndim)) if axes is None else axes
    moved = np.moveaxis(x, axes, tuple(range(len(axes))))
    flat = moved.reshape((-1,) + moved.shape[len(axes):])
    left = np.cumprod(np.concatenate([np.ones_like(flat[:1]), flat[:-1]]), axis=0)
    right = np.flip(np.cumprod(np.concatenate([np.ones_like(flat[:1]), np.flip(flat, 0)[:-1]]), axis=0), 0)
    others = np.moveaxis((left * right).reshape(moved.shape), tuple(range(len(axes))), axes)
    return {"X": g * others}


def _bool_reduce(name, fn):
    def kernel(ins, attrs):
        x = ins["X"]
        return {"Out": np.asarray(fn(x, axis=_axes(x, attrs), keepdims=attrs["keep_dim"]))}
    kernel.__doc__ = f"Logical {name.split('_')[1]} over ``dim``."
    return op(name, "X", "Out", _BOOL_REDUCE_ATTRS)(kernel)


reduce_any = _bool_reduce("reduce_any", np.any)
reduce_all = _bool_reduce("reduce_all", np.all)


@op("mean", "X", "Out")
def mean(ins, attrs):
    """Mean of every element (a 0-D tensor)."""
    x = ins["X"]
    if x.dtype.kind != "f" or not x.size:
        return {"Out": np.asarray(np.mean(x))}
    return {"Out": np.asarray(np.add.reduce(x, axis=None) * (1.0 / x.size))}


@mean.grad
def _mean_grad(ctx):
    x = ctx.x("X")
    return {"X": np.full(x.shape, np.asarray(ctx.dout("Out")).reshape(()).item() / max(x.size, 1), dtype=x.dtype)}


@op("logsumexp", "X", "Out", {"axis": ("ints", [0]), "keepdim": ("bool", False), "reduce_all": ("bool", False)})
def logsumexp(ins, attrs):
    """log(sum(exp(X))) over ``axis``, computed with the max subtracted."""
    x = ins["X"]
    axes = _axes(x, {"dim": attrs["axis"], "reduce_all": attrs["reduce_all"]})
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    if not attrs["keepdim"]:
        out = out.reshape([d for i, d in enumerate(x.shape) if axes is not None and i not in axes])
    return {"Out": out}


@logsumexp.grad
def _logsumexp_grad(ctx):
    x = ctx.x("X")
    a = {"dim": ctx.attrs["axis"], "reduce_all": ctx.attrs["reduce_all"], "keep_dim": ctx.attrs["keepdim"]}
    o = _expand_back(ctx.out("Out"), x, a)
    g = _expand_back(ctx.dout("Out"), x, a)
    return {"X": g * np.exp(x - o)}


# ---------------------------------------------------------------------------- arg_max / top_k
_ARG_ATTRS = {"axis": ("long", -1), "keepdims": ("bool", False), "flatten": ("bool", False), "dtype": ("int", 3)}


def _arg(name, fn):
    def kernel(ins, attrs):
        x = ins["X"]
        if x.size == 0:
            raise ValueError(f"{name}: input is empty (shape {list(x.shape)}).")
        dt = BY_PROTO[attrs["dtype"]].np if attrs["dtype"] not in (-1, None) else np.int64
        if attrs["flatten"] or x.ndim == 0:
            out = np.asarray(fn(x.reshape(-1)))
            if attrs["keepdims"]:
                out = out.reshape([1] * x.ndim)
            return {"Out": out.astype(dt)}
        axis = int(attrs["axis"])
        out = fn(x, axis=axis)
        if attrs["keepdims"]:
            out = np.expand_dims(out, axis)
        return {"Out": np.asarray(out).astype(dt)}
    kernel.__doc__ = f"Index of the {name[4:]} along ``axis`` (``flatten``: of the flattened input)."
    return op(name, "X", "Out", _ARG_ATTRS)(kernel)


arg_max = _arg("arg_max", np.argmax)
arg_min = _arg("arg_min", np.argmin)


def _topk_k(ins, attrs):
    k = ins.get("K")
    return int(np.asarray(k).reshape(-1)[0]) if k is not None else int(attrs["k"])


@op("top_k_v2", "X K?", "Out Indices", {"k": ("int", 1), "axis": ("int", -1), "largest": ("bool", True),
                                          "sorted": ("bool", True)}, no_grad="K")
def top_k_v2(ins, attrs):
    """The ``k`` largest (or smallest) entries along ``axis`` and their int64 indices."""
    x = ins["X"]
    k = _topk_k(ins, attrs)
    axis = attrs["axis"]
    if x.ndim == 0:
        return {"Out": x.copy(), "Indices": np.zeros((), np.int64)}
    axis = axis + x.ndim if axis < 0 else axis
    n = x.shape[axis]
    if not 0 < k <= n:
        raise ValueError(f"top_k_v2: k={k} must be in [1, {n}] for X of shape {list(x.shape)} along axis {axis}.")
    key = -x if attrs["largest"] else x
    if x.dtype == np.bool_:
        key = -x.astype(np.int8) if attrs["largest"] else x.astype(np.int8)
    if k < n:
        part = np.argpartition(key, k - 1, axis=axis)
        idx = np.take(part, np.arange(k), axis=axis)
    else:
        idx = np.broadcast_to(np.arange(n).reshape([-1 if i == axis else 1 for i in range(x.ndim)]), x.shape)
    vals = np.take_along_axis(key, idx, axis=axis)
    order = np.argsort(vals, axis=axis, kind="stable")
    idx = np.take_along_axis(idx, order, axis=axis).astype(np.int64)
    return {"Out": np.take_along_axis(x, idx, axis=axis), "Indices": idx}


@top_k_v2.meta
def _top_k_v2_meta(metas, attrs):
    (shape, dtype), = metas["X"]
    axis = attrs["axis"] + len(shape) if attrs["axis"] < 0 else attrs["axis"]
    out = list(shape)
    if out:
        out[axis] = -1 if metas.get("K") else attrs["k"]
    from ..core.dtype import BY_NAME
    return {"Out": (out, dtype), "Indices": (out, BY_NAME["int64"])}


@top_k_v2.grad
def _top_k_v2_grad(ctx):
    x = ctx.x("X")
    if x.ndim == 0:
        return {"X": ctx.dout("Out").copy()}
    axis = ctx.attrs["axis"] + x.ndim if ctx.attrs["axis"] < 0 else ctx.attrs["axis"]
    gx = np.zeros_like(x)
    np.put_along_axis(gx, ctx.out("Indices"), ctx.dout("Out"), axis=axis)
    return {"X": gx}


@op("argsort", "X", "Out Indices", {"axis": ("int", -1), "descending": ("bool", False)})
def argsort(ins, attrs):
    """X sorted along ``axis`` (stable) and the int64 indices that sort it."""
    x = ins["X"]
    if x.ndim == 0:
        return {"Out": x.copy(), "Indices": np.zeros((), np.int64)}
    axis = attrs["axis"]
    if attrs["descending"]:
        idx = np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)
        idx = x.shape[axis] - 1 - idx
    else:
        idx = np.argsort(x, axis=axis, kind="stable")
    idx = idx.astype(np.int64)
    return {"Out": np.take_along_axis(x, idx, axis=axis), "Indices": idx}


@argsort.grad
def _argsort_grad(ctx):
    x = ctx.x("X")
    if x.ndim == 0:
        return {"X": ctx.dout("Out").copy()}
    gx = np.zeros_like(x)
    np.put_along_axis(gx, ctx.out("Indices"), ctx.dout("Out"), axis=ctx.attrs["axis"])
    return {"X": gx}
