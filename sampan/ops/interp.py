"""Interpolation ops: ``nearest_interp_v2``, ``bilinear_interp_v2``, ``linear_interp_v2``,
``trilinear_interp_v2``, ``bicubic_interp_v2``.

Every mode is separable, so each spatial axis gets a small ``(out, in)`` interpolation matrix;
the forward applies them one axis at a time (one matmul each; nearest uses a gather) and the
backward applies their transposes, which is the exact adjoint.

Paddle semantics reproduced (from its CPU kernels):

* output size: ``SizeTensor`` if given, else ``int(in * scale)`` from the ``Scale`` input or the
  ``scale`` attribute when positive, overridden by ``OutSize``; else ``out_d/out_h/out_w``.
* ``ratio = (in-1)/(out-1)`` with ``align_corners``, else ``1/scale`` when a scale was given,
  else ``in/out`` (0 when out == 1), computed in float32. Equal sizes copy the input.
* nearest: ``src = int(ratio*k + 0.5)`` with align_corners, else ``int(ratio*k)``.
* linear family: with ``align_mode == 0`` and no align_corners the source is the half-pixel
  ``max(ratio*(k+0.5) - 0.5, 0)``, else ``ratio*k``; neighbours ``i0 = int(src)``,
  ``i1 = min(i0+1, in-1)``.
* bicubic: Keys kernel with A = -0.75 on clamped neighbours.
"""
from __future__ import annotations

import numpy as np

from .registry import op

__all__ = []

_INTERP_ATTRS = {
    "data_layout": ("string", "NCHW"),
    "out_d": ("int", 0),
    "out_h": ("int", 0),
    "out_w": ("int", 0),
    "scale": ("floats", []),
    "interp_method": ("string", "bilinear"),
    "align_corners": ("bool", True),
    "align_mode": ("int", 1),
}

_NDIMS = {"linear": 1, "bilinear": 2, "nearest": None, "bicubic": 2, "trilinear": 3}


def _channel_last(layout):
    return layout in ("NHWC", "NWC", "NDHWC")


def _sizes_and_scales(op_name, ins, attrs, in_sp):
    """Output spatial sizes and the scales (-1 when none) that drive the ratio."""
    nd = len(in_sp)
    names = ["out_d", "out_h", "out_w"][3 - nd:]
    st = ins.get("SizeTensor")
    if st:
        sizes = [int(np.asarray(t).reshape(-1)[0]) for t in st]
        return sizes, [-1.0] * nd
    scales = [-1.0] * nd
    if ins.get("Scale") is not None:
        sv = [float(v) for v in np.asarray(ins["Scale"]).reshape(-1)]
    else:
        sv = [float(v) for v in attrs.get("scale") or []]
    if sv:
        scales = (sv * nd)[:nd] if len(sv) == 1 else sv[:nd]
        if len(scales) != nd or any(s <= 0 for s in scales):
            raise ValueError(f"{op_name}: scale must hold {nd} positive values, received {sv}.")
    sizes = [int(attrs[n]) for n in names]
    if all(s > 0 for s in scales):
        sizes = [int(np.float32(i) * np.float32(s)) for i, s in zip(in_sp, scales)]
    if ins.get("OutSize") is not None:
        sizes = [int(v) for v in np.asarray(ins["OutSize"]).reshape(-1)[:nd]]
    if any(s <= 0 for s in sizes):
        raise ValueError(f"{op_name}: the output size {sizes} must be positive (input spatial size {in_sp}, "
                         f"out_d/out_h/out_w={[attrs[n] for n in names]}, scale={sv}).")
    return sizes, scales


def _ratio(n_in, n_out, scale, align_corners):
    if n_out <= 1:
        return np.float32(0.0)
    if align_corners:
        return np.float32(n_in - 1) / np.float32(n_out - 1)
    if scale > 0:
        return np.float32(1.0 / scale)
    return np.float32(n_in) / np.float32(n_out)


def _nearest_index(n_in, n_out, ratio, align_corners):
    k = np.arange(n_out, dtype=np.float32)
    src = ratio * k + np.float32(0.5) if align_corners else ratio * k
    return np.minimum(src.astype(np.int64), n_in - 1)


def _linear_matrix(n_in, n_out, ratio, align_corners, align_mode):
    k = np.arange(n_out)
    half = align_mode == 0 and not align_corners
    if half:
        src = np.maximum(np.float64(ratio) * (k + 0.5) - 0.5, 0).astype(np.float32)
        i0 = np.maximum((np.float64(ratio) * (k + 0.5) - 0.5).astype(np.int64), 0)
        lam = src - i0.astype(np.float32)
    else:
        src = ratio * k.astype(np.float32)
        i0 = np.maximum(src.astype(np.int64), 0)
        lam = src - i0.astype(np.float32)
    i1 = np.minimum(i0 + 1, n_in - 1)
    a = np.zeros((n_out, n_in), dtype=np.float64)
    np.add.at(a, (k, i0), 1.0 - lam.astype(np.float64))
    np.add.at(a, (k, i1), lam.astype(np.float64))
    return a


def _cubic_weights(t, a=-0.75):
    def c1(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def c2(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return [c2(t + 1.0), c1(t), c1(1.0 - t), c2(2.0 - t)]


def _cubic_matrix(n_in, n_out, ratio, align_corners):
    k = np.arange(n_out)
    src = (ratio * k.astype(np.float32)) if align_corners else (ratio * (k + np.float32(0.5)) - np.float32(0.5))
    src = src.astype(np.float32)
    base = np.floor(src).astype(np.int64)
    t = (src - base).astype(np.float64)
    a = np.zeros((n_out, n_in), dtype=np.float64)
    for ii, w in enumerate(_cubic_weights(t)):
        np.add.at(a, (k, np.clip(base - 1 + ii, 0, n_in - 1)), w)
    return a


def _plan(op_name, method, ins, attrs):
    """Per spatial axis (channel-first numbering): ('take', index) or ('mat', matrix)."""
    x = ins["X"]
    nd = x.ndim - 2
    want = _NDIMS[method]
    if nd < 1 or (want is not None and nd != want) or (method == "nearest" and nd not in (2, 3)):
        raise ValueError(f"{op_name}: X of rank {x.ndim} (shape {list(x.shape)}) is not supported by "
                         f"interp_method {method!r}.")
    last = _channel_last(attrs["data_layout"])
    in_sp = list(x.shape[1:-1]) if last else list(x.shape[2:])
    sizes, scales = _sizes_and_scales(op_name, ins, attrs, in_sp)
    ac = bool(attrs["align_corners"])
    plan = []
    for n_in, n_out, s in zip(in_sp, sizes, scales):
        r = _ratio(n_in, n_out, s, ac)
        if method == "nearest":
            plan.append(("take", _nearest_index(n_in, n_out, r, ac)))
        elif method == "bicubic":
            plan.append(("mat", _cubic_matrix(n_in, n_out, r, ac)))
        else:
            plan.append(("mat", _linear_matrix(n_in, n_out, r, ac, int(attrs["align_mode"]))))
    return plan, in_sp, sizes, last


def _apply_axis(x, axis, m):
    y = np.moveaxis(x, axis, -1)
    shp = y.shape
    out = (y.reshape(-1, shp[-1]) @ m.T).reshape(shp[:-1] + (m.shape[0],))
    return np.moveaxis(out, -1, axis)


def _interp_forward(op_name, method, ins, attrs):
    x = ins["X"]
    plan, in_sp, sizes, last = _plan(op_name, method, ins, attrs)
    if in_sp == sizes:
        return {"Out": x.copy()}
    off = 1 if last else 2
    y = x
    for i, (kind, v) in enumerate(plan):
        ax = off + i
        y = np.take(y, v, axis=ax) if kind == "take" else _apply_axis(y, ax, v.astype(x.dtype))
    return {"Out": np.ascontiguousarray(y, dtype=x.dtype)}


def _interp_backward(op_name, method, ctx):
    x = ctx.x("X")
    plan, in_sp, sizes, last = _plan(op_name, method, ctx.ins, ctx.attrs)
    g = ctx.dout("Out")
    if in_sp == sizes:
        return {"X": g.copy()}
    off = 1 if last else 2
    for i, (kind, v) in enumerate(plan):
        ax = off + i
        if kind == "take":
            m = np.zeros((len(v), in_sp[i]), dtype=x.dtype)
            m[np.arange(len(v)), v] = 1
        else:
            m = v.astype(x.dtype)
        g = _apply_axis(g, ax, m.T)
    return {"X": np.ascontiguousarray(g, dtype=x.dtype)}


def _interp_meta(op_name, method):
    def meta(ins, attrs):
        (xs, xdt), = ins["X"]
        nd = len(xs) - 2
        last = _channel_last(attrs["data_layout"])
        in_sp = list(xs[1:-1]) if last else list(xs[2:])
        if ins.get("SizeTensor") or ins.get("OutSize") or ins.get("Scale"):
            sizes = [-1] * nd
        else:
            names = ["out_d", "out_h", "out_w"][3 - nd:] if nd <= 3 else []
            sv = [float(v) for v in attrs.get("scale") or []]
            if sv:
                sv = (sv * nd)[:nd] if len(sv) == 1 else sv[:nd]
                sizes = [int(np.float32(i) * np.float32(s)) if i >= 0 else -1 for i, s in zip(in_sp, sv)]
            else:
                sizes = [int(attrs[n]) for n in names]
        shape = [xs[0]] + sizes + [xs[-1]] if last else [xs[0], xs[1]] + sizes
        return {"Out": (shape, xdt)}
    return meta


def _register(method):
    name = f"{method}_interp_v2"
    @op(name, "X OutSize? SizeTensor*? Scale?", "Out", dict(_INTERP_ATTRS), no_grad="OutSize SizeTensor Scale")
    def fwd(ins, a):
        return _interp_forward(name, method, ins, a)

    @fwd.grad
    def _bwd(ctx):
        return _interp_backward(name, method, ctx)

    fwd.meta(_interp_meta(name, method))
    return fwd


nearest_interp_v2 = _register("nearest")
bilinear_interp_v2 = _register("bilinear")
linear_interp_v2 = _register("linear")
trilinear_interp_v2 = _register("trilinear")
bicubic_interp_v2 = _register("bicubic")
