"""Normalisation ops: ``batch_norm``, ``layer_norm``, ``group_norm``, ``instance_norm``, ``p_norm``.

Paddle semantics reproduced (from Paddle's CPU kernels):

* batch_norm normalises with the *biased* batch variance in training and updates the running
  statistics with it: ``running = running * momentum + batch * (1 - momentum)`` (a
  ``MomentumTensor`` input overrides ``momentum``). ``SavedMean`` is the batch mean and
  ``SavedVariance`` the batch *inverse standard deviation* ``1/sqrt(var + eps)``. The batch
  statistics are used unless ``use_global_stats`` or (``is_test`` and not
  ``trainable_statistics``). With a single element per channel the op copies X through.
* layer_norm's ``Mean``/``Variance`` are the per-row mean and biased variance (shape
  ``[prod(x.shape[:begin_norm_axis])]``); group_norm's are ``[N, groups]``; instance_norm's
  ``SavedMean``/``SavedVariance`` are ``[N*C]`` mean and inverse std.

Backward rules are fused NumPy formulas (the classic closed forms): composing them from sampan
ops would allocate several full-size temporaries per step for no benefit.
"""
from __future__ import annotations

import numpy as np

from .registry import op

__all__ = []


def _chan_axis(x, layout):
    if x.ndim == 2:
        return 1
    return x.ndim - 1 if layout in ("NHWC", "NDHWC", "NLC") else 1


def _bshape(x, axis):
    s = [1] * x.ndim
    s[axis] = x.shape[axis]
    return s


# ---------------------------------------------------------------------------- batch_norm
@op("batch_norm", "X Scale? Bias? Mean Variance MomentumTensor?",
    "Y MeanOut VarianceOut SavedMean SavedVariance ReserveSpace~",
    {"momentum": ("float", 0.9), "epsilon": ("float", 1e-5), "data_layout": ("string", "NCHW"),
     "is_test": ("bool", False), "use_global_stats": ("bool", False),
     "trainable_statistics": ("bool", False)},
    no_grad="Mean Variance MomentumTensor")
def batch_norm(ins, attrs):
    x, mean, var = ins["X"], ins["Mean"], ins["Variance"]
    if not 2 <= x.ndim <= 5:
        raise ValueError(f"batch_norm: X must have 2 to 5 dims, received shape {list(x.shape)}.")
    ax = _chan_axis(x, attrs["data_layout"])
    c = x.shape[ax]
    for slot in ("Scale", "Bias", "Mean", "Variance"):
        a = ins.get(slot)
        if a is not None and a.size != c:
            raise ValueError(f"batch_norm: {slot} has shape {list(a.shape)} but X {list(x.shape)} "
                             f"({attrs['data_layout']}) has {c} channels.")
    eps = attrs["epsilon"]
    test_mode = attrs["is_test"] and not attrs["trainable_statistics"]
    global_stats = test_mode or attrs["use_global_stats"]
    scale = ins["Scale"] if ins.get("Scale") is not None else np.ones(c, x.dtype)
    bias = ins["Bias"] if ins.get("Bias") is not None else np.zeros(c, x.dtype)
    reserve = None if test_mode else np.zeros([0], x.dtype)
    axes = tuple(i for i in range(x.ndim) if i != ax)
    if global_stats:
        mu, inv = mean.astype(x.dtype, copy=False), 1.0 / np.sqrt(var + eps)
        mean_out, var_out = mean, var
    elif x.size // c == 1:
        zeros = np.zeros(c, x.dtype)
        return {"Y": x.copy(), "MeanOut": mean, "VarianceOut": var, "SavedMean": zeros,
                "SavedVariance": zeros.copy(), "ReserveSpace": reserve}
    else:
        mu = x.mean(axis=axes)
        bvar = np.square(x - mu.reshape(_bshape(x, ax))).mean(axis=axes)
        mom = attrs["momentum"]
        if ins.get("MomentumTensor") is not None:
            mom = float(np.asarray(ins["MomentumTensor"]).reshape(-1)[0])
        mean_out = (mean * mom + mu * (1.0 - mom)).astype(mean.dtype)
        var_out = (var * mom + bvar * (1.0 - mom)).astype(var.dtype)
        inv = 1.0 / np.sqrt(bvar + eps)
    new_scale = (scale * inv).astype(x.dtype)
    new_bias = (bias - mu * new_scale).astype(x.dtype)
    bs = _bshape(x, ax)
    y = x * new_scale.reshape(bs) + new_bias.reshape(bs)
    return {"Y": y, "MeanOut": mean_out, "VarianceOut": var_out, "SavedMean": np.asarray(mu, x.dtype),
            "SavedVariance": np.asarray(inv, x.dtype), "ReserveSpace": reserve}


@batch_norm.grad
def _batch_norm_grad(ctx):
    x, attrs = ctx.x("X"), ctx.attrs
    ax = _chan_axis(x, attrs["data_layout"])
    c = x.shape[ax]
    bs = _bshape(x, ax)
    axes = tuple(i for i in range(x.ndim) if i != ax)
    dy = ctx.dout("Y")
    scale = ctx.x("Scale") if ctx.x("Scale") is not None else np.ones(c, x.dtype)
    mu = ctx.out("SavedMean").reshape(bs)
    inv = ctx.out("SavedVariance").reshape(bs)
    test_mode = attrs["is_test"] and not attrs["trainable_statistics"]
    global_stats = test_mode or attrs["use_global_stats"]
    if not global_stats and x.size // c == 1:
        return {"X": dy.copy(), "Scale": np.zeros_like(scale), "Bias": np.zeros_like(scale)}
    xhat = (x - mu) * inv
    dbias = dy.sum(axis=axes)
    dscale = (dy * xhat).sum(axis=axes)
    res = {}
    if ctx.needs("X"):
        if global_stats:
            res["X"] = dy * (scale.reshape(bs) * inv)
        else:
            m = x.size // c
            res["X"] = (scale.reshape(bs) * inv / m) * (m * dy - dbias.reshape(bs) - xhat * dscale.reshape(bs))
    if ctx.needs("Scale"):
        res["Scale"] = dscale.reshape(ctx.x("Scale").shape)
    if ctx.needs("Bias"):
        res["Bias"] = dbias.reshape(ctx.x("Bias").shape)
    return res


@batch_norm.meta
def _batch_norm_meta(ins, attrs):
    (xs, xdt), = ins["X"]
    (ms, mdt), = ins["Mean"]
    (vs, vdt), = ins["Variance"]
    ax = 1 if len(xs) == 2 else (len(xs) - 1 if attrs["data_layout"] in ("NHWC", "NDHWC", "NLC") else 1)
    c = xs[ax]
    test_mode = attrs["is_test"] and not attrs["trainable_statistics"]
    return {"Y": (list(xs), xdt), "MeanOut": (list(ms), mdt), "VarianceOut": (list(vs), vdt),
            "SavedMean": ([c], xdt), "SavedVariance": ([c], xdt),
            "ReserveSpace": None if test_mode else ([0], xdt)}


# ---------------------------------------------------------------------------- layer_norm
@op("layer_norm", "X Scale? Bias?", "Y Mean~ Variance~",
    {"epsilon": ("float", 1e-5), "begin_norm_axis": ("int", 1)})
def layer_norm(ins, attrs):
    x = ins["X"]
    b = attrs["begin_norm_axis"]
    if b < 0:
        b += x.ndim
    if not 0 <= b < max(x.ndim, 1):
        raise ValueError(f"layer_norm: begin_norm_axis {attrs['begin_norm_axis']} is out of range for X "
                         f"{list(x.shape)}.")
    left = int(np.prod(x.shape[:b]))
    right = int(np.prod(x.shape[b:]))
    for slot in ("Scale", "Bias"):
        a = ins.get(slot)
        if a is not None and a.size != right:
            raise ValueError(f"layer_norm: {slot} has shape {list(a.shape)} ({a.size} values) but X "
                             f"{list(x.shape)} normalises {right} values per row (begin_norm_axis={b}).")
    x2 = x.reshape(left, right)
    mu = x2.mean(axis=1)
    xc = x2 - mu[:, None]
    var = np.square(xc).mean(axis=1)
    inv = 1.0 / np.sqrt(var + attrs["epsilon"])
    y = xc * inv[:, None].astype(x.dtype)
    if ins.get("Scale") is not None:
        y = y * ins["Scale"].reshape(1, right)
    if ins.get("Bias") is not None:
        y = y + ins["Bias"].reshape(1, right)
    return {"Y": y.reshape(x.shape), "Mean": mu, "Variance": var}


@layer_norm.grad
def _layer_norm_grad(ctx):
    x = ctx.x("X")
    b = ctx.attrs["begin_norm_axis"]
    if b < 0:
        b += x.ndim
    left, right = int(np.prod(x.shape[:b])), int(np.prod(x.shape[b:]))
    x2 = x.reshape(left, right)
    dy = ctx.dout("Y").reshape(left, right)
    mu, var = ctx.out("Mean"), ctx.out("Variance")
    inv = (1.0 / np.sqrt(var + ctx.attrs["epsilon"])).astype(x.dtype)[:, None]
    xhat = (x2 - mu[:, None]) * inv
    res = {}
    scale = ctx.x("Scale")
    if ctx.needs("Scale") and scale is not None:
        res["Scale"] = (dy * xhat).sum(axis=0).reshape(scale.shape)
    if ctx.needs("Bias") and ctx.x("Bias") is not None:
        res["Bias"] = dy.sum(axis=0).reshape(ctx.x("Bias").shape)
    if ctx.needs("X"):
        g = dy * scale.reshape(1, right) if scale is not None else dy
        dx = inv * (g - g.mean(axis=1, keepdims=True) - xhat * (g * xhat).mean(axis=1, keepdims=True))
        res["X"] = dx.reshape(x.shape)
    return res


def _prod_or_unknown(dims):
    dims = list(dims)
    return int(np.prod(dims)) if all(d >= 0 for d in dims) else -1


@layer_norm.meta
def _layer_norm_meta(ins, attrs):
    (xs, xdt), = ins["X"]
    b = attrs["begin_norm_axis"]
    b = b + len(xs) if b < 0 else b
    left = _prod_or_unknown(xs[:b])
    return {"Y": (list(xs), xdt), "Mean": ([left], xdt), "Variance": ([left], xdt)}


# ---------------------------------------------------------------------------- group_norm / instance_norm
def _group_stats(xg, eps):
    mu = xg.mean(axis=2)
    var = np.square(xg - mu[:, :, None]).mean(axis=2)
    return mu, var, (1.0 / np.sqrt(var + eps)).astype(xg.dtype)


def _group_view(x, groups, layout):
    """X as (N, groups, values-per-group) plus the permutation used (for NHWC)."""
    if layout == "NHWC" and x.ndim > 2:
        x = np.moveaxis(x, -1, 1)
    n, c = x.shape[:2]
    return np.ascontiguousarray(x).reshape(n, groups, -1), x.shape


def _affine_shape(x, layout):
    c_axis = x.ndim - 1 if (layout == "NHWC" and x.ndim > 2) else 1
    return _bshape(x, c_axis)


@op("group_norm", "X Scale? Bias?", "Y Mean~ Variance~",
    {"epsilon": ("float", 1e-5), "groups": ("int", -1), "data_layout": ("string", "NCHW")})
def group_norm(ins, attrs):
    x, groups, layout = ins["X"], attrs["groups"], attrs["data_layout"]
    c = x.shape[-1] if (layout == "NHWC" and x.ndim > 2) else x.shape[1]
    if groups <= 0 or c % groups:
        raise ValueError(f"group_norm: groups={groups} must be positive and divide the {c} channels of X "
                         f"{list(x.shape)}.")
    xg, nshape = _group_view(x, groups, layout)
    mu, var, inv = _group_stats(xg, attrs["epsilon"])
    y = ((xg - mu[:, :, None]) * inv[:, :, None]).reshape(nshape)
    if layout == "NHWC" and x.ndim > 2:
        y = np.moveaxis(y, 1, -1)
    bs = _affine_shape(x, layout)
    if ins.get("Scale") is not None:
        y = y * ins["Scale"].reshape(bs)
    if ins.get("Bias") is not None:
        y = y + ins["Bias"].reshape(bs)
    return {"Y": np.ascontiguousarray(y), "Mean": mu, "Variance": var}


def _grouped_input_grad(xhat, g, inv):
    """dx of xhat = (x - mean) * inv over the last axis, given dL/dxhat = g."""
    return inv[:, :, None] * (g - g.mean(axis=2, keepdims=True) - xhat * (g * xhat).mean(axis=2, keepdims=True))


@group_norm.grad
def _group_norm_grad(ctx):
    x, attrs = ctx.x("X"), ctx.attrs
    groups, layout = attrs["groups"], attrs["data_layout"]
    nhwc = layout == "NHWC" and x.ndim > 2
    bs = _affine_shape(x, layout)
    caxes = tuple(i for i in range(x.ndim) if bs[i] == 1)
    dy = ctx.dout("Y")
    xg, nshape = _group_view(x, groups, layout)
    mu = ctx.out("Mean")
    inv = (1.0 / np.sqrt(ctx.out("Variance") + attrs["epsilon"])).astype(x.dtype)
    xhat = ((xg - mu[:, :, None]) * inv[:, :, None]).reshape(nshape)
    if nhwc:
        xhat = np.moveaxis(xhat, 1, -1)
    res = {}
    scale = ctx.x("Scale")
    if ctx.needs("Scale") and scale is not None:
        res["Scale"] = (dy * xhat).sum(axis=caxes).reshape(scale.shape)
    if ctx.needs("Bias") and ctx.x("Bias") is not None:
        res["Bias"] = dy.sum(axis=caxes).reshape(ctx.x("Bias").shape)
    if ctx.needs("X"):
        g = dy * scale.reshape(bs) if scale is not None else dy
        gg, _ = _group_view(g, groups, layout)
        xh, _ = _group_view(xhat, groups, layout)
        dx = _grouped_input_grad(xh, gg, inv).reshape(nshape)
        res["X"] = np.ascontiguousarray(np.moveaxis(dx, 1, -1) if nhwc else dx)
    return res


@group_norm.meta
def _group_norm_meta(ins, attrs):
    (xs, xdt), = ins["X"]
    return {"Y": (list(xs), xdt), "Mean": ([xs[0], attrs["groups"]], xdt),
            "Variance": ([xs[0], attrs["groups"]], xdt)}


@op("instance_norm", "X Scale? Bias?", "Y SavedMean~ SavedVariance~", {"epsilon": ("float", 1e-5)})
def instance_norm(ins, attrs):
    x = ins["X"]
    if x.ndim < 2:
        raise ValueError(f"instance_norm: X must have at least 2 dims, received {list(x.shape)}.")
    n, c = x.shape[:2]
    xg = x.reshape(n, c, -1)
    mu, _, inv = _group_stats(xg, attrs["epsilon"])
    y = ((xg - mu[:, :, None]) * inv[:, :, None]).reshape(x.shape)
    bs = _bshape(x, 1)
    if ins.get("Scale") is not None:
        y = y * ins["Scale"].reshape(bs)
    if ins.get("Bias") is not None:
        y = y + ins["Bias"].reshape(bs)
    return {"Y": y, "SavedMean": mu.reshape(-1), "SavedVariance": inv.reshape(-1)}


@instance_norm.grad
def _instance_norm_grad(ctx):
    x = ctx.x("X")
    n, c = x.shape[:2]
    bs = _bshape(x, 1)
    axes = tuple(i for i in range(x.ndim) if i != 1)
    dy = ctx.dout("Y")
    xg = x.reshape(n, c, -1)
    mu, inv = ctx.out("SavedMean").reshape(n, c), ctx.out("SavedVariance").reshape(n, c)
    xhat = (xg - mu[:, :, None]) * inv[:, :, None]
    res = {}
    scale = ctx.x("Scale")
    if ctx.needs("Scale") and scale is not None:
        res["Scale"] = (dy * xhat.reshape(x.shape)).sum(axis=axes).reshape(scale.shape)
    if ctx.needs("Bias") and ctx.x("Bias") is not None:
        res["Bias"] = dy.sum(axis=axes).reshape(ctx.x("Bias").shape)
    if ctx.needs("X"):
        g = (dy * scale.reshape(bs) if scale is not None else dy).reshape(n, c, -1)
        res["X"] = _grouped_input_grad(xhat, g, inv).reshape(x.shape)
    return res


@instance_norm.meta
def _instance_norm_meta(ins, attrs):
    (xs, xdt), = ins["X"]
    nc = _prod_or_unknown(xs[:2])
    return {"Y": (list(xs), xdt), "SavedMean": ([nc], xdt), "SavedVariance": ([nc], xdt)}


# ---------------------------------------------------------------------------- p_norm
@op("p_norm", "X", "Out", {"porder": ("float", 2.0), "axis": ("int", -1), "epsilon": ("float", 1e-12),
                           "keepdim": ("bool", False), "asvector": ("bool", False)})
def p_norm(ins, attrs):
    x = ins["X"]
    p = float(attrs["porder"])
    axis = None if attrs["asvector"] else attrs["axis"]
    keep = attrs["keepdim"]
    a = np.abs(x)
    if p == np.inf:
        out = a.max(axis=axis, keepdims=keep)
    elif p == -np.inf:
        out = a.min(axis=axis, keepdims=keep)
    elif p == 0:
        out = (x != 0).sum(axis=axis, keepdims=keep).astype(x.dtype)
    else:
        out = np.power(np.power(a, p).sum(axis=axis, keepdims=keep), 1.0 / p)
    return {"Out": np.asarray(out, dtype=x.dtype)}


@p_norm.grad
def _p_norm_grad(ctx):
    x, attrs = ctx.x("X"), ctx.attrs
    p = float(attrs["porder"])
    axis = None if attrs["asvector"] else attrs["axis"]
    out, g = ctx.out("Out"), ctx.dout("Out")
    if not attrs["keepdim"] and axis is not None:
        out, g = np.expand_dims(out, axis), np.expand_dims(g, axis)
    if p == 0:
        return {"X": np.zeros_like(x)}
    a = np.abs(x)
    if p in (np.inf, -np.inf):
        return {"X": (np.sign(x) * g * (a == out)).astype(x.dtype)}
    denom = np.power(np.maximum(out, attrs["epsilon"]), p - 1)
    return {"X": (np.sign(x) * np.power(a, p - 1) * g / denom).astype(x.dtype)}
