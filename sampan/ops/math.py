"""Elementwise arithmetic, unary math, matrix products, ``scale``, ``cast``, ``clip``, ``sum``.

Kernels stay in the input dtype (no float64 upcasts: NumPy 2 keeps ``float32 * python_float``
in float32) and avoid copies on the hot path (``elementwise_add`` backward hands ``dOut``
through unchanged when no broadcasting happened).
"""
from __future__ import annotations

import math

import numpy as np

from .registry import op
from ._util import unbroadcast
from ..core.dtype import BY_PROTO, bfloat16_to_float32, float32_to_bfloat16

_EW_ATTRS = {"axis": ("int", -1)}


# ---------------------------------------------------------------------------- helpers
def _arr(r):
    """NumPy ufuncs on 0-D arrays return NumPy scalars; op outputs must be ndarrays."""
    return r if r.__class__ is np.ndarray else np.asarray(r)


def _align(x, y, axis):
    """Paddle's elementwise ``axis``: the lower-rank operand is aligned at ``axis`` of the other
    (``-1``: trailing alignment, i.e. NumPy broadcasting). Returns reshaped views."""
    if axis == -1 or x.ndim == y.ndim or x.ndim == 0 or y.ndim == 0:
        return x, y
    big, small = (x, y) if x.ndim > y.ndim else (y, x)
    ax = axis + big.ndim if axis < 0 else axis
    ss = list(small.shape)
    while ss and ss[-1] == 1 and len(ss) + ax > big.ndim:  # Paddle trims trailing 1s
        ss.pop()
    if ax + len(ss) > big.ndim:
        raise ValueError(f"axis={axis} does not fit: operands of shapes {list(x.shape)} and {list(y.shape)}")
    small = small.reshape([1] * ax + ss + [1] * (big.ndim - ax - len(ss)))
    return (x, small) if x.ndim > y.ndim else (small, y)


def _grads(ctx, gx, gy, xb, yb):
    """Reduce broadcast gradients back to the original operand shapes."""
    res = {}
    need = ctx.need
    if gx is not None and "X" in need:
        res["X"] = gx if gx.shape == xb.shape and xb is ctx.ins["X"] else \
            unbroadcast(gx, xb.shape).reshape(ctx.ins["X"].shape)
    if gy is not None and "Y" in need:
        res["Y"] = gy if gy.shape == yb.shape and yb is ctx.ins["Y"] else \
            unbroadcast(gy, yb.shape).reshape(ctx.ins["Y"].shape)
    return res


def _broadcast_meta(xs, ys, axis, op_name):
    """Broadcast two static shapes (-1 = unknown) the way ``_align`` + NumPy would."""
    xs, ys = list(xs or []), list(ys or [])
    if axis != -1 and xs and ys and len(xs) != len(ys):
        big, small = (xs, ys) if len(xs) > len(ys) else (ys, xs)
        ax = axis + len(big) if axis < 0 else axis
        while small and small[-1] == 1 and len(small) + ax > len(big):
            small = small[:-1]
        small = [1] * ax + small + [1] * (len(big) - ax - len(small))
        xs, ys = (big, small) if len(xs) > len(ys) else (small, big)
    n = max(len(xs), len(ys))
    xs, ys = [1] * (n - len(xs)) + xs, [1] * (n - len(ys)) + ys
    out = []
    for a, b in zip(xs, ys):
        if a == 1:
            out.append(b)
        elif b == 1 or a == b:
            out.append(a)
        elif a == -1 or b == -1:
            out.append(b if a == -1 else a)
        else:
            from ..core.dispatch import OpError
            raise OpError(f"{op_name}: shapes {xs} and {ys} cannot be broadcast (dims {a} and {b}).")
    return out


def _binary_meta(metas, attrs, op_name, out_dtype=None):
    (xs, xd), = metas["X"]
    (ys, yd), = metas["Y"]
    return {"Out": (_broadcast_meta(xs, ys, attrs.get("axis", -1), op_name), out_dtype or xd)}


def _binary(name, fn, doc):
    def kernel(ins, attrs):
        x, y = ins["X"], ins["Y"]
        if attrs["axis"] != -1:
            x, y = _align(x, y, attrs["axis"])
        r = fn(x, y)
        return {"Out": r if r.__class__ is np.ndarray else np.asarray(r)}
    kernel.__doc__ = doc
    kernel.__name__ = name
    od = op(name, "X Y", "Out", _EW_ATTRS)(kernel)
    od.meta(lambda metas, attrs: _binary_meta(metas, attrs, name))
    return od


def _check_same_dtype_result(x, out):
    return out if out.dtype == x.dtype else out.astype(x.dtype)


# ---------------------------------------------------------------------------- elementwise binary
def _div(x, y):
    if x.dtype.kind in "iu" and y.dtype.kind in "iu":  # C++ integer division truncates
        q = np.floor_divide(x, y)
        return q + ((np.remainder(x, y) != 0) & ((x < 0) != (y < 0)))
    return x / y


elementwise_add = _binary("elementwise_add", np.add, "Out = X + Y (Paddle broadcasting with ``axis``).")
elementwise_sub = _binary("elementwise_sub", np.subtract, "Out = X - Y.")
elementwise_mul = _binary("elementwise_mul", np.multiply, "Out = X * Y.")
elementwise_div = _binary("elementwise_div", _div, "Out = X / Y (integers: truncating division, as C++).")
elementwise_pow = _binary("elementwise_pow", np.power, "Out = X ** Y.")
elementwise_max = _binary("elementwise_max", np.maximum, "Out = max(X, Y).")
elementwise_min = _binary("elementwise_min", np.minimum, "Out = min(X, Y).")
elementwise_floordiv = _binary("elementwise_floordiv", np.floor_divide, "Out = floor(X / Y).")
elementwise_mod = _binary("elementwise_mod", np.remainder, "Out = X mod Y (sign of Y, as Python).")


@elementwise_add.grad
def _elementwise_add_grad(ctx):
    g = ctx.dout("Out")
    x, y = ctx.x("X"), ctx.x("Y")
    if ctx.attrs["axis"] != -1:
        x, y = _align(x, y, ctx.attrs["axis"])
    return _grads(ctx, g, g, x, y)


@elementwise_sub.grad
def _elementwise_sub_grad(ctx):
    g = ctx.dout("Out")
    xb, yb = _align(ctx.x("X"), ctx.x("Y"), ctx.attrs["axis"])
    return _grads(ctx, g, -g if ctx.needs("Y") else None, xb, yb)


@elementwise_mul.grad
def _elementwise_mul_grad(ctx):
    g = ctx.dout("Out")
    xb, yb = _align(ctx.x("X"), ctx.x("Y"), ctx.attrs["axis"])
    return _grads(ctx, g * yb if ctx.needs("X") else None, g * xb if ctx.needs("Y") else None, xb, yb)


@elementwise_div.grad
def _elementwise_div_grad(ctx):
    g = ctx.dout("Out")
    xb, yb = _align(ctx.x("X"), ctx.x("Y"), ctx.attrs["axis"])
    gx = g / yb
    gy = -gx * ctx.out("Out") if ctx.needs("Y") else None
    return _grads(ctx, gx, gy, xb, yb)


@elementwise_pow.grad
def _elementwise_pow_grad(ctx):
    g = ctx.dout("Out")
    xb, yb = _align(ctx.x("X"), ctx.x("Y"), ctx.attrs["axis"])
    gx = g * yb * np.power(xb, yb - 1) if ctx.needs("X") else None
    gy = g * ctx.out("Out") * np.log(xb) if ctx.needs("Y") else None
    return _grads(ctx, gx, gy, xb, yb)


@elementwise_max.grad
def _elementwise_max_grad(ctx):
    # Paddle: dX = dOut * (X > Y), dY = dOut * (X <= Y)
    g = ctx.dout("Out")
    xb, yb = _align(ctx.x("X"), ctx.x("Y"), ctx.attrs["axis"])
    m = xb > yb
    return _grads(ctx, g * m, g * ~m, xb, yb)


@elementwise_min.grad
def _elementwise_min_grad(ctx):
    # Paddle: dX = dOut * (X < Y), dY = dOut * (X >= Y)
    g = ctx.dout("Out")
    xb, yb = _align(ctx.x("X"), ctx.x("Y"), ctx.attrs["axis"])
    m = xb < yb
    return _grads(ctx, g * m, g * ~m, xb, yb)


# ---------------------------------------------------------------------------- matmul / mul / sum
@op("matmul_v2", "X Y", "Out", {"trans_x": ("bool", False), "trans_y": ("bool", False)})
def matmul_v2(ins, attrs):
    """Batched matrix product with NumPy broadcasting of batch dims; 1-D operands as vectors."""
    x, y = ins["X"], ins["Y"]
    if attrs["trans_x"] and x.ndim >= 2:
        x = np.swapaxes(x, -1, -2)
    if attrs["trans_y"] and y.ndim >= 2:
        y = np.swapaxes(y, -1, -2)
    if x.ndim == 0 or y.ndim == 0 or x.shape[-1] != y.shape[-2 if y.ndim >= 2 else -1]:
        raise ValueError(f"matmul_v2: the contracted dims differ: X {list(ins['X'].shape)} "
                         f"(trans_x={attrs['trans_x']}) vs Y {list(ins['Y'].shape)} (trans_y={attrs['trans_y']}).")
    if x.dtype != y.dtype:
        raise ValueError(f"matmul_v2: X and Y must have the same dtype, received X {x.dtype} "
                         f"{list(x.shape)} and Y {y.dtype} {list(y.shape)}; cast one of them first.")
    return {"Out": _arr(np.matmul(x, y))}


@matmul_v2.grad
def _matmul_v2_grad(ctx):
    x, y, g = ctx.x("X"), ctx.x("Y"), ctx.dout("Out")
    tx, ty = ctx.attrs["trans_x"], ctx.attrs["trans_y"]
    res = {}
    x2 = x if x.ndim > 1 else x[None, :]
    y2 = y if y.ndim > 1 else y[:, None]
    g2 = g
    if y.ndim == 1:
        g2 = g2[..., None]
    if x.ndim == 1:
        g2 = g2[..., None, :]
    sw = lambda a: np.swapaxes(a, -1, -2)  # noqa: E731
    if ctx.needs("X"):
        if tx:
            gx = (y2 if not ty else sw(y2)) @ sw(g2)
        else:
            gx = g2 @ (sw(y2) if not ty else y2)
        res["X"] = unbroadcast(gx, x2.shape).reshape(x.shape)
    if ctx.needs("Y"):
        if ty:
            gy = sw(g2) @ (x2 if not tx else sw(x2))
        else:
            gy = (sw(x2) if not tx else x2) @ g2
        res["Y"] = unbroadcast(gy, y2.shape).reshape(y.shape)
    return res


def _mul_2d(x, y, attrs):
    xn, yn = attrs["x_num_col_dims"], attrs["y_num_col_dims"]
    x2 = x.reshape(int(np.prod(x.shape[:xn])), -1) if x.ndim != 2 or xn != 1 else x
    y2 = y.reshape(int(np.prod(y.shape[:yn])), -1) if y.ndim != 2 or yn != 1 else y
    return x2, y2


@op("mul", "X Y", "Out", {"x_num_col_dims": ("int", 1), "y_num_col_dims": ("int", 1)})
def mul(ins, attrs):
    """Flatten X to 2-D at ``x_num_col_dims`` and Y at ``y_num_col_dims``, then multiply
    (``static.nn.fc``). Out shape: X.shape[:x_num_col_dims] + Y.shape[y_num_col_dims:]."""
    x, y = ins["X"], ins["Y"]
    x2, y2 = _mul_2d(x, y, attrs)
    if x2.shape[1] != y2.shape[0]:
        raise ValueError(f"mul: X {list(x.shape)} flattened at x_num_col_dims={attrs['x_num_col_dims']} to "
                         f"{list(x2.shape)} does not match Y {list(y.shape)} flattened at "
                         f"y_num_col_dims={attrs['y_num_col_dims']} to {list(y2.shape)}.")
    out = x2 @ y2
    return {"Out": out.reshape(list(x.shape[:attrs["x_num_col_dims"]]) + list(y.shape[attrs["y_num_col_dims"]:]))}


@mul.grad
def _mul_grad(ctx):
    x, y = ctx.x("X"), ctx.x("Y")
    x2, y2 = _mul_2d(x, y, ctx.attrs)
    g2 = ctx.dout("Out").reshape(x2.shape[0], y2.shape[1])
    res = {}
    if ctx.needs("X"):
        res["X"] = (g2 @ y2.T).reshape(x.shape)
    if ctx.needs("Y"):
        res["Y"] = (x2.T @ g2).reshape(y.shape)
    return res


@op("sum", "X*", "Out")
def sum_op(ins, attrs):
    """Out = X[0] + X[1] + ... (``paddle.add_n``)."""
    xs = ins["X"]
    if not xs:
        raise ValueError("sum: X is an empty list.")
    out = xs[0].copy() if len(xs) == 1 else _arr(xs[0] + xs[1])
    for a in xs[2:]:
        out += a  # out is a fresh array here
    return {"Out": out}


@sum_op.grad
def _sum_grad(ctx):
    g = ctx.dout("Out")
    return {"X": [g for _ in ctx.x("X")]}


# ---------------------------------------------------------------------------- scale / cast / clip / pow
@op("scale", "X ScaleTensor?", "Out",
    {"scale": ("float", 1.0), "bias": ("float", 0.0), "bias_after_scale": ("bool", True)}, no_grad="ScaleTensor")
def scale(ins, attrs):
    """Out = scale * X + bias (``bias_after_scale``) or scale * (X + bias). ScaleTensor overrides ``scale``."""
    x = ins["X"]
    st = ins.get("ScaleTensor")
    s = float(np.asarray(st).reshape(-1)[0]) if st is not None else attrs["scale"]
    b = attrs["bias"]
    if b == 0.0:
        out = x * s if s != 1.0 else x.copy()
    elif attrs["bias_after_scale"]:
        out = x * s + b if s != 1.0 else x + b
    else:
        out = (x + b) * s
    return {"Out": _arr(_check_same_dtype_result(x, out))}


@scale.grad
def _scale_grad(ctx):
    st = ctx.x("ScaleTensor")
    s = float(np.asarray(st).reshape(-1)[0]) if st is not None else ctx.attrs["scale"]
    g = ctx.dout("Out")
    return {"X": g * s if s != 1.0 else g}


@op("cast", "X", "Out", {"in_dtype": ("int", 5), "out_dtype": ("int", 5), "use_mkldnn": ("bool", False)})
def cast(ins, attrs):
    """Convert X to ``out_dtype`` (a VarType code). bfloat16 (22) is stored as uint16 bit patterns."""
    x = ins["X"]
    in_code, out_code = attrs["in_dtype"], attrs["out_dtype"]
    if in_code == 22 and x.dtype == np.uint16:
        x = bfloat16_to_float32(x)
    if out_code == 22:
        return {"Out": float32_to_bfloat16(x.astype(np.float32))}
    dt = BY_PROTO[out_code].np
    return {"Out": x.astype(dt)}


@cast.meta
def _cast_meta(metas, attrs):
    (shape, _), = metas["X"]
    return {"Out": (list(shape or []), BY_PROTO[attrs["out_dtype"]])}


@cast.grad
def _cast_grad(ctx):
    x = ctx.x("X")
    g = ctx.dout("Out")
    if ctx.attrs["out_dtype"] == 22 and g.dtype == np.uint16:
        g = bfloat16_to_float32(g)
    if ctx.attrs["in_dtype"] == 22 and x.dtype == np.uint16:
        return {"X": float32_to_bfloat16(g.astype(np.float32))}
    if x.dtype.kind not in "fc":
        return {}
    return {"X": g.astype(x.dtype, copy=False)}


def _scalar_input(v, default):
    if v is None:
        return default
    return np.asarray(v).reshape(-1)[0].item()


@op("clip", "X Min? Max?", "Out", {"min": ("float", 0.0), "max": ("float", 0.0)}, no_grad="Min Max")
def clip(ins, attrs):
    """Out = min(max(X, min), max); the Min / Max tensors override the attributes."""
    x = ins["X"]
    lo = _scalar_input(ins.get("Min"), attrs["min"])
    hi = _scalar_input(ins.get("Max"), attrs["max"])
    if x.dtype.kind in "iu":
        info = np.iinfo(x.dtype)
        lo, hi = max(math.ceil(lo), info.min), min(math.floor(hi), info.max)
    return {"Out": _arr(np.clip(x, x.dtype.type(lo), x.dtype.type(hi)))}


@clip.grad
def _clip_grad(ctx):
    x = ctx.x("X")
    lo = _scalar_input(ctx.x("Min"), ctx.attrs["min"])
    hi = _scalar_input(ctx.x("Max"), ctx.attrs["max"])
    return {"X": ctx.dout("Out") * ((x > lo) & (x < hi))}


@op("pow", "X FactorTensor?", "Out", {"factor": ("float", 1.0)}, no_grad="FactorTensor")
def pow_op(ins, attrs):
    """Out = X ** factor (FactorTensor overrides ``factor``)."""
    x = ins["X"]
    f = _scalar_input(ins.get("FactorTensor"), attrs["factor"])
    if f == 2.0:
        out = x * x
    elif f == 1.0:
        out = x.copy()
    else:
        out = np.power(x, x.dtype.type(f) if x.dtype.kind == "f" else f)
    return {"Out": _arr(_check_same_dtype_result(x, out))}


@pow_op.grad
def _pow_grad(ctx):
    x = ctx.x("X")
    f = _scalar_input(ctx.x("FactorTensor"), ctx.attrs["factor"])
    g = ctx.dout("Out")
    if f == 2.0:
        return {"X": g * x * 2}
    return {"X": g * (f * np.power(x, x.dtype.type(f - 1)))}


# ---------------------------------------------------------------------------- unary math
def _erf_series(a, n_terms):
    """erf(a) for a >= 0 from the everywhere-positive series
    erf(a) = 2/sqrt(pi) exp(-a^2) sum_n 2^n a^(2n+1) / (2n+1)!!  (no cancellation)."""
    dt = a.dtype.type
    x2 = a * a
    term = a.copy()
    s = a.copy()
    for n in range(1, n_terms):
        term *= x2 * dt(2.0 / (2 * n + 1))
        s += term
    return dt(2.0 / math.sqrt(math.pi)) * np.exp(-x2) * s


def _erf(x):
    """erf for float arrays without SciPy (float64: within a few ulps; float32: a few float32 ulps).

    |x| <= 3 uses 60 (float64) / 36 (float32) series terms; the few entries beyond 3 use 130 terms
    with |x| capped at 6, where erf is 1 to double precision.
    """
    x = np.asarray(x)
    dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    f64 = dt == np.float64
    a = np.abs(x).astype(dt, copy=False)
    r = _erf_series(np.minimum(a, dt.type(3.0)), 60 if f64 else 36)
    big = a > 3.0
    if big.any():
        r[big] = _erf_series(np.minimum(a[big], dt.type(6.0)), 130 if f64 else 90)
    return np.copysign(r, x).astype(dt, copy=False)


def _unary(name, fwd, grad=None, doc=""):
    def kernel(ins, attrs):
        return {"Out": _arr(fwd(ins["X"]))}
    kernel.__doc__ = doc or f"Out = {name}(X)."
    kernel.__name__ = name
    od = op(name, "X", "Out")(kernel)
    if grad is not None:
        od.grad(lambda ctx: {"X": grad(ctx.x("X"), ctx.out("Out"), ctx.dout("Out"))})
    return od


def _zeros_grad(x, out, g):
    return np.zeros_like(x)


def _round_half_away(x):
    # Paddle's round: half away from zero (std::round), unlike NumPy's half to even
    return np.copysign(np.floor(np.abs(x) + x.dtype.type(0.5)), x) if x.dtype.kind == "f" else x.copy()


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

sqrt = _unary("sqrt", np.sqrt, lambda x, o, g: g * (0.5 / o))
rsqrt = _unary("rsqrt", lambda x: 1 / np.sqrt(x), lambda x, o, g: g * (-0.5 * o * o * o))
exp = _unary("exp", np.exp, lambda x, o, g: g * o)
expm1 = _unary("expm1", np.expm1, lambda x, o, g: g * (o + 1))
log = _unary("log", np.log, lambda x, o, g: g / x)
log2 = _unary("log2", np.log2, lambda x, o, g: g / (x * x.dtype.type(math.log(2))))
log10 = _unary("log10", np.log10, lambda x, o, g: g / (x * x.dtype.type(math.log(10))))
log1p = _unary("log1p", np.log1p, lambda x, o, g: g / (x + 1))
abs_op = _unary("abs", np.abs, lambda x, o, g: g * np.sign(x))
square = _unary("square", np.square, lambda x, o, g: g * x * 2)
sign = _unary("sign", np.sign, _zeros_grad)
floor = _unary("floor", np.floor, _zeros_grad)
ceil = _unary("ceil", np.ceil, _zeros_grad)
round_op = _unary("round", _round_half_away, _zeros_grad, "Out = round(X), halves away from zero.")
reciprocal = _unary("reciprocal", lambda x: 1 / x, lambda x, o, g: -g * o * o)
sin = _unary("sin", np.sin, lambda x, o, g: g * np.cos(x))
cos = _unary("cos", np.cos, lambda x, o, g: -g * np.sin(x))
tan = _unary("tan", np.tan, lambda x, o, g: g * (1 + o * o))
asin = _unary("asin", np.arcsin, lambda x, o, g: g / np.sqrt(1 - x * x))
acos = _unary("acos", np.arccos, lambda x, o, g: -g / np.sqrt(1 - x * x))
atan = _unary("atan", np.arctan, lambda x, o, g: g / (1 + x * x))
sinh = _unary("sinh", np.sinh, lambda x, o, g: g * np.cosh(x))
cosh = _unary("cosh", np.cosh, lambda x, o, g: g * np.sinh(x))
erf = _unary("erf", _erf, lambda x, o, g: g * (x.dtype.type(_TWO_OVER_SQRT_PI) * np.exp(-x * x)),
             "Out = erf(X).")


@op("assign", "X", "Out")
def assign(ins, attrs):
    """Out = a copy of X."""
    return {"Out": ins["X"].copy()}


@assign.grad
def _assign_grad(ctx):
    return {"X": ctx.dout("Out")}


@op("cumsum", "X", "Out", {"axis": ("int", -1), "flatten": ("bool", False), "exclusive": ("bool", False),
                           "reverse": ("bool", False)})
def cumsum(ins, attrs):
    """Cumulative sum along ``axis`` (``flatten``: of the flattened X; ``exclusive``, ``reverse``)."""
    x = ins["X"]
    if attrs["flatten"]:
        x, axis = x.reshape(-1), 0
    else:
        axis = attrs["axis"]
    return {"Out": _cumsum(x, axis, attrs["exclusive"], attrs["reverse"])}


def _cumsum(x, axis, exclusive, reverse):
    if reverse:
        x = np.flip(x, axis)
    out = np.cumsum(x, axis=axis, dtype=x.dtype if x.dtype.kind == "f" else None)
    if exclusive:
        out = out - x
    if reverse:
        out = np.flip(out, axis).copy()
    return out


@cumsum.grad
def _cumsum_grad(ctx):
    x = ctx.x("X")
    g = ctx.dout("Out")
    a = ctx.attrs
    if a["flatten"]:
        return {"X": _cumsum(g.reshape(-1), 0, a["exclusive"], not a["reverse"]).reshape(x.shape)}
    return {"X": _cumsum(g, a["axis"], a["exclusive"], not a["reverse"])}


# ---------------------------------------------------------------------------- linear (fused, eager only)
@op("linear", "X W Bias?", "Out")
def linear(ins, attrs):
    """``X @ W + Bias`` in one kernel: eager ``nn.Linear`` is one tape entry instead of two.
    In static programs it is written as Paddle's ``matmul_v2`` + ``elementwise_add``."""
    x, w, b = ins["X"], ins["W"], ins["Bias"]
    if x.shape[-1] != w.shape[0]:
        raise ValueError(f"linear: X {list(x.shape)} and W {list(w.shape)}: the last dim of X must equal "
                         f"the first dim of W.")
    if x.dtype != w.dtype:
        raise ValueError(f"linear: the input has dtype {x.dtype} but the weight {list(w.shape)} is {w.dtype}; "
                         "cast the input (x.astype(...)) first.")
    out = x @ w
    if b is not None:
        out += b
    return {"Out": out}


@linear.grad
def _linear_grad(ctx):
    x, w, g = ctx.x("X"), ctx.x("W"), ctx.dout("Out")
    res = {}
    if ctx.needs("X"):
        res["X"] = g @ w.T
    g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
    if ctx.needs("W"):
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        res["W"] = x2.T @ g2
    if ctx.needs("Bias"):
        res["Bias"] = np.add.reduce(g2, axis=0)    # = g2.sum(axis=0), without the Python wrapper
    return res


@linear.static
def _linear_static(inputs, attrs):
    from ..core.dispatch import run_op
    out = run_op("matmul_v2", {"X": inputs["X"], "Y": inputs["W"]}, {"trans_x": False, "trans_y": False})["Out"]
    if inputs.get("Bias") is not None:
        out = run_op("elementwise_add", {"X": out, "Y": inputs["Bias"]}, {"axis": -1})["Out"]
    return {"Out": out}
