"""Neural-network ops without a better home: ``softmax``, ``log_softmax``, ``dropout``,
``lookup_table_v2``, ``pad3d``, ``prelu``, ``label_smooth`` (``pad`` and ``one_hot_v2`` live in
``shape`` and ``indexing``).

Paddle semantics reproduced:

* dropout drops an element when its uniform draw is below ``dropout_prob``; ``upscale_in_train``
  scales the kept ones by ``1/(1-p)`` in training and is the identity at test time,
  ``downgrade_in_infer`` keeps them unscaled in training and multiplies by ``1-p`` at test time.
  ``Mask`` (uint8) is produced in training only. Draws come from ``sampan.core.state.rng()``
  unless a ``Seed`` tensor or ``fix_seed``/``seed`` attributes pin them.
* lookup_table_v2 zeroes the rows whose id equals ``padding_idx`` (``-1``: none) and gives
  that row no gradient.
* pad3d ``paddings`` are ``[left, right, top, bottom, front, back]`` (W first); ``reflect``
  mirrors without repeating the edge, ``replicate`` repeats it, ``circular`` wraps.
"""
from __future__ import annotations

import numpy as np

from .registry import op
from ..core import state

__all__ = []


def _axis(axis, ndim, op_name):
    a = axis + ndim if axis < 0 else axis
    if not 0 <= a < max(ndim, 1):
        raise ValueError(f"{op_name}: axis {axis} is out of range for an input of rank {ndim}.")
    return a


def stable_softmax(x, axis):
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def stable_log_softmax(x, axis):
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


# ---------------------------------------------------------------------------- softmax
@op("softmax", "X", "Out", {"axis": ("int", -1)})
def softmax(ins, attrs):
    x = ins["X"]
    if x.ndim == 0:
        return {"Out": np.ones_like(x)}
    return {"Out": stable_softmax(x, _axis(attrs["axis"], x.ndim, "softmax"))}


@softmax.grad
def _softmax_grad(ctx):
    y, g = ctx.out("Out"), ctx.dout("Out")
    if y.ndim == 0:
        return {"X": np.zeros_like(y)}
    a = _axis(ctx.attrs["axis"], y.ndim, "softmax")
    return {"X": y * (g - (g * y).sum(axis=a, keepdims=True))}


@op("log_softmax", "X", "Out", {"axis": ("int", -1)})
def log_softmax(ins, attrs):
    x = ins["X"]
    if x.ndim == 0:
        return {"Out": np.zeros_like(x)}
    return {"Out": stable_log_softmax(x, _axis(attrs["axis"], x.ndim, "log_softmax"))}


@log_softmax.grad
def _log_softmax_grad(ctx):
    y, g = ctx.out("Out"), ctx.dout("Out")
    if y.ndim == 0:
        return {"X": np.zeros_like(y)}
    a = _axis(ctx.attrs["axis"], y.ndim, "log_softmax")
    return {"X": g - np.exp(y) * g.sum(axis=a, keepdims=True)}


# ---------------------------------------------------------------------------- dropout
_DROPOUT_IMPLS = ("downgrade_in_infer", "upscale_in_train")


def _dropout_rng(ins, attrs):
    if ins.get("Seed") is not None:
        return np.random.default_rng(int(np.asarray(ins["Seed"]).reshape(-1)[0]))
    if attrs.get("fix_seed") and attrs.get("seed", 0):
        return np.random.default_rng(int(attrs["seed"]))
    return state.rng()


@op("dropout", "X Seed?", "Out Mask~",
    {"dropout_prob": ("float", 0.5), "is_test": ("bool", False),
     "dropout_implementation": ("string", "downgrade_in_infer")},
    no_grad="Seed", random=True)
def dropout(ins, attrs):
    x, p, impl = ins["X"], float(attrs["dropout_prob"]), attrs["dropout_implementation"]
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: dropout_prob must be in [0, 1], received {p}.")
    if impl not in _DROPOUT_IMPLS:
        raise ValueError(f"dropout: dropout_implementation must be one of {_DROPOUT_IMPLS}, received {impl!r}.")
    if attrs["is_test"]:
        out = x.copy() if impl == "upscale_in_train" else x * np.asarray(1.0 - p, x.dtype)
        return {"Out": out, "Mask": None}
    keep = _dropout_rng(ins, attrs).random(x.shape, dtype=np.float32) >= p
    mask = keep.astype(np.uint8)
    if impl == "upscale_in_train":
        out = x * keep * np.asarray(1.0 / (1.0 - p), x.dtype) if p < 1.0 else np.zeros_like(x)
    else:
        out = x * keep
    return {"Out": out.astype(x.dtype, copy=False), "Mask": mask}


@dropout.grad
def _dropout_grad(ctx):
    g, p, impl = ctx.dout("Out"), float(ctx.attrs["dropout_prob"]), ctx.attrs["dropout_implementation"]
    if ctx.attrs["is_test"]:
        return {"X": g.copy() if impl == "upscale_in_train" else g * np.asarray(1.0 - p, g.dtype)}
    mask = ctx.out("Mask")
    if impl == "upscale_in_train":
        return {"X": g * mask * np.asarray(1.0 / (1.0 - p), g.dtype) if p < 1.0 else np.zeros_like(g)}
    return {"X": g * mask}


@dropout.meta
def _dropout_meta(ins, attrs):
    from ..core.dtype import BY_NAME
    (xs, xdt), = ins["X"]
    return {"Out": (list(xs), xdt), "Mask": None if attrs["is_test"] else (list(xs), BY_NAME["uint8"])}


# ---------------------------------------------------------------------------- lookup_table_v2
def _check_ids(op_name, ids, n_rows, what):
    if ids.dtype.kind not in "iu":
        raise ValueError(f"{op_name}: Ids must be an integer tensor (int32 or int64), received {ids.dtype} "
                         f"with shape {list(ids.shape)}.")
    if ids.size:
        bad = (ids < 0) | (ids >= n_rows)
        if bad.any():
            v = int(ids[bad].flat[0])
            raise ValueError(f"{op_name}: id {v} in Ids (shape {list(ids.shape)}) is out of range for {what}; "
                             f"ids must be in [0, {n_rows}).")


@op("lookup_table_v2", "Ids W", "Out", {"padding_idx": ("long", -1)}, no_grad="Ids")
def lookup_table_v2(ins, attrs):
    ids, w = ins["Ids"], ins["W"]
    if w.ndim != 2:
        raise ValueError(f"lookup_table_v2: W must be 2-D [num_embeddings, dim], received {list(w.shape)}.")
    _check_ids("lookup_table_v2", ids, w.shape[0], f"the embedding table W of {w.shape[0]} rows "
               f"(shape {list(w.shape)})")
    out = np.take(w, ids, axis=0)
    pad = int(attrs["padding_idx"])
    if pad != -1:
        out[ids == pad] = 0
    return {"Out": out}


@lookup_table_v2.grad
def _lookup_table_v2_grad(ctx):
    ids, w, g = ctx.x("Ids"), ctx.x("W"), ctx.dout("Out")
    flat = ids.reshape(-1).astype(np.int64)
    g2 = g.reshape(flat.size, w.shape[1])
    dw = np.zeros_like(w)
    if flat.size:
        order = np.argsort(flat, kind="stable")
        sid = flat[order]
        starts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
        dw[sid[starts]] = np.add.reduceat(g2[order], starts, axis=0)
    pad = int(ctx.attrs["padding_idx"])
    if pad != -1 and 0 <= pad < w.shape[0]:
        dw[pad] = 0
    return {"W": dw}


# ---------------------------------------------------------------------------- pad3d
def _pad_index(n, p0, p1, mode):
    """For each output position along one axis: the input index it reads (-1: the constant)."""
    src = np.arange(n + p0 + p1) - p0
    if mode == "constant":
        return np.where((src >= 0) & (src < n), src, -1)
    if mode == "reflect":
        period = 2 * (n - 1) if n > 1 else 1
        s = np.mod(src, period)
        return np.where(s >= n, period - s, s)
    if mode == "replicate":
        return np.clip(src, 0, n - 1)
    return np.mod(src, n)  # circular


def _pad3d_pairs(ins, attrs, x):
    p = ins.get("Paddings")
    pads = [int(v) for v in (np.asarray(p).reshape(-1) if p is not None else attrs["paddings"])]
    if len(pads) != 6:
        raise ValueError(f"pad3d: paddings must have 6 values [left, right, top, bottom, front, back], "
                         f"received {pads}.")
    if x.ndim != 5:
        raise ValueError(f"pad3d: X must be 5-D ({attrs['data_format']}), received shape {list(x.shape)}.")
    axes = (1, 2, 3) if attrs["data_format"] == "NDHWC" else (2, 3, 4)
    return dict(zip(axes, [(pads[4], pads[5]), (pads[2], pads[3]), (pads[0], pads[1])]))


_NP_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@op("pad3d", "X Paddings?", "Out",
    {"paddings": ("ints", [0, 0, 0, 0, 0, 0]), "mode": ("string", "constant"), "value": ("float", 0.0),
     "data_format": ("string", "NCDHW")}, no_grad="Paddings")
def pad3d(ins, attrs):
    x, mode = ins["X"], attrs["mode"]
    if mode not in _NP_PAD_MODES:
        raise ValueError(f"pad3d: mode must be one of {sorted(_NP_PAD_MODES)}, received {mode!r}.")
    pairs = _pad3d_pairs(ins, attrs, x)
    if any(a < 0 or b < 0 for a, b in pairs.values()):
        raise ValueError(f"pad3d: negative paddings are not supported, received {attrs['paddings']}.")
    if mode == "reflect":
        for ax, (a, b) in pairs.items():
            if max(a, b) >= x.shape[ax]:
                raise ValueError(f"pad3d: reflect padding {max(a, b)} must be smaller than the padded dimension "
                                 f"{x.shape[ax]} of X {list(x.shape)}.")
    if mode == "circular":
        for ax, (a, b) in pairs.items():
            if max(a, b) > x.shape[ax]:
                raise ValueError(f"pad3d: circular padding {max(a, b)} must not exceed dimension "
                                 f"{x.shape[ax]} of X {list(x.shape)}.")
    width = [pairs.get(i, (0, 0)) for i in range(5)]
    kw = {"constant_values": attrs["value"]} if mode == "constant" else {}
    return {"Out": np.pad(x, width, mode=_NP_PAD_MODES[mode], **kw)}


@pad3d.meta
def _pad3d_meta(ins, attrs):
    (xs, xdt), = ins["X"]
    out = list(xs)
    if ins.get("Paddings"):
        axes = (1, 2, 3) if attrs["data_format"] == "NDHWC" else (2, 3, 4)
        for a in axes:
            out[a] = -1
        return {"Out": (out, xdt)}
    p = [int(v) for v in attrs["paddings"]]
    axes = (1, 2, 3) if attrs["data_format"] == "NDHWC" else (2, 3, 4)
    for a, (lo, hi) in zip(axes, [(p[4], p[5]), (p[2], p[3]), (p[0], p[1])]):
        out[a] = xs[a] + lo + hi if xs[a] >= 0 else -1
    return {"Out": (out, xdt)}


def _unpad_axis(g, axis, idx, n):
    """Sum gradient entries along ``axis`` back onto the input positions in ``idx``."""
    gm = np.moveaxis(g, axis, 0)
    out = np.zeros((n,) + gm.shape[1:], dtype=g.dtype)
    valid = idx >= 0
    np.add.at(out, idx[valid], gm[valid])
    return np.moveaxis(out, 0, axis)


@pad3d.grad
def _pad3d_grad(ctx):
    x, g = ctx.x("X"), ctx.dout("Out")
    pairs = _pad3d_pairs(ctx.ins, ctx.attrs, x)
    mode = ctx.attrs["mode"]
    for ax, (a, b) in pairs.items():
        n = x.shape[ax]
        if mode == "constant":
            g = np.take(g, np.arange(a, a + n), axis=ax)
        else:
            g = _unpad_axis(g, ax, _pad_index(n, a, b, mode), n)
    return {"X": np.ascontiguousarray(g)}


# ---------------------------------------------------------------------------- prelu
def _prelu_alpha(x, alpha, attrs):
    mode = attrs["mode"]
    if mode == "all":
        if alpha.size != 1:
            raise ValueError(f"prelu: mode 'all' needs one Alpha value, received Alpha {list(alpha.shape)}.")
        return alpha.reshape([1] * x.ndim)
    if mode == "channel":
        ax = x.ndim - 1 if attrs["data_format"] in ("NHWC", "NLC", "NDHWC") else 1
        if x.ndim < 2 or alpha.size != x.shape[ax]:
            raise ValueError(f"prelu: mode 'channel' needs Alpha with {x.shape[ax] if x.ndim > 1 else '?'} "
                             f"values for X {list(x.shape)}, received Alpha {list(alpha.shape)}.")
        s = [1] * x.ndim
        s[ax] = x.shape[ax]
        return alpha.reshape(s)
    if mode == "element":
        if alpha.size != int(np.prod(x.shape[1:])):
            raise ValueError(f"prelu: mode 'element' needs Alpha with prod(X.shape[1:]) values for X "
                             f"{list(x.shape)}, received Alpha {list(alpha.shape)}.")
        return alpha.reshape((1,) + x.shape[1:])
    raise ValueError(f"prelu: mode must be 'all', 'channel' or 'element', received {mode!r}.")


@op("prelu", "X Alpha", "Out", {"mode": ("string", "all"), "data_format": ("string", "NCHW")})
def prelu(ins, attrs):
    x = ins["X"]
    a = _prelu_alpha(x, ins["Alpha"], attrs)
    return {"Out": np.where(x > 0, x, a * x).astype(x.dtype, copy=False)}


@prelu.grad
def _prelu_grad(ctx):
    x, alpha, g = ctx.x("X"), ctx.x("Alpha"), ctx.dout("Out")
    a = _prelu_alpha(x, alpha, ctx.attrs)
    res = {}
    if ctx.needs("X"):
        res["X"] = np.where(x > 0, g, a * g).astype(x.dtype, copy=False)
    if ctx.needs("Alpha"):
        ga = np.where(x > 0, 0, g * x)
        axes = tuple(i for i in range(x.ndim) if a.shape[i] == 1 and x.shape[i] != 1)
        res["Alpha"] = ga.sum(axis=axes, keepdims=True).reshape(alpha.shape)
    return res


@prelu.meta
def _prelu_meta(ins, attrs):
    (xs, xdt), = ins["X"]
    return {"Out": (list(xs), xdt)}


# ---------------------------------------------------------------------------- label_smooth
@op("label_smooth", "X PriorDist?", "Out", {"epsilon": ("float", 0.0)}, no_grad="PriorDist")
def label_smooth(ins, attrs):
    x, eps = ins["X"], float(attrs["epsilon"])
    prior = ins.get("PriorDist")
    if prior is not None:
        return {"Out": ((1.0 - eps) * x + eps * prior.reshape(1, -1)).astype(x.dtype)}
    return {"Out": ((1.0 - eps) * x + eps / x.shape[-1]).astype(x.dtype)}


@label_smooth.grad
def _label_smooth_grad(ctx):
    return {"X": ctx.dout("Out") * np.asarray(1.0 - float(ctx.attrs["epsilon"]), ctx.dout("Out").dtype)}
