"""Activation ops (relu, gelu, sigmoid, tanh, hard_swish, ...), forward and backward.

Attribute sets follow what Paddle 2.6.2 writes: ``relu6`` and ``swish`` carry no attributes
there (threshold 6 and beta 1 are fixed), but kernels honour ``threshold`` / ``beta`` when an
older program supplies them.
"""
from __future__ import annotations

import math

import numpy as np

from .registry import op
from .math import _erf, _arr

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _sigmoid(x):
    # exp of a large positive argument overflows to inf -> 1/(1+inf) = 0: the right limit
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


@op("relu", "X", "Out")
def relu(ins, attrs):
    """Out = max(X, 0)."""
    return {"Out": _arr(np.maximum(ins["X"], 0))}


@relu.grad
def _relu_grad(ctx):
    g = ctx.dout("Out")
    return {"X": g * (ctx.out("Out") > 0)}


@op("relu6", "X", "Out")
def relu6(ins, attrs):
    """Out = min(max(X, 0), 6)."""
    return {"Out": _arr(np.clip(ins["X"], 0, attrs.get("threshold", 6.0)))}


@relu6.grad
def _relu6_grad(ctx):
    x = ctx.x("X")
    return {"X": ctx.dout("Out") * ((x > 0) & (x < ctx.attrs.get("threshold", 6.0)))}


@op("leaky_relu", "X", "Out", {"alpha": ("float", 0.02)})
def leaky_relu(ins, attrs):
    """Out = X if X > 0 else alpha * X."""
    x = ins["X"]
    return {"Out": _arr(np.where(x > 0, x, x * attrs["alpha"]))}


@leaky_relu.grad
def _leaky_relu_grad(ctx):
    g = ctx.dout("Out")
    return {"X": np.where(ctx.x("X") > 0, g, g * ctx.attrs["alpha"])}


@op("gelu", "X", "Out", {"approximate": ("bool", False)})
def gelu(ins, attrs):
    """Out = X * Phi(X) (exact, with erf) or its tanh approximation (``approximate``)."""
    x = ins["X"]
    if attrs["approximate"]:
        t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
        return {"Out": _arr(0.5 * x * (1.0 + t))}
    return {"Out": _arr(0.5 * x * (1.0 + _erf(x * _INV_SQRT_2)))}


@gelu.grad
def _gelu_grad(ctx):
    x, g = ctx.x("X"), ctx.dout("Out")
    if ctx.attrs["approximate"]:
        x2 = x * x
        t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x2 * x))
        d = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * (_SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x2))
        return {"X": g * d}
    d = 0.5 * (1.0 + _erf(x * _INV_SQRT_2)) + x * (_INV_SQRT_2PI * np.exp(-0.5 * x * x))
    return {"X": g * d}


@op("sigmoid", "X", "Out")
def sigmoid(ins, attrs):
    """Out = 1 / (1 + exp(-X))."""
    return {"Out": _arr(_sigmoid(ins["X"]))}


@sigmoid.grad
def _sigmoid_grad(ctx):
    o = ctx.out("Out")
    return {"X": ctx.dout("Out") * o * (1.0 - o)}


@op("logsigmoid", "X", "Out")
def logsigmoid(ins, attrs):
    """Out = log(sigmoid(X)) = -softplus(-X), computed stably."""
    x = ins["X"]
    return {"Out": _arr(np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))))}


@logsigmoid.grad
def _logsigmoid_grad(ctx):
    return {"X": ctx.dout("Out") * _sigmoid(-ctx.x("X"))}


@op("tanh", "X", "Out")
def tanh(ins, attrs):
    """Out = tanh(X)."""
    return {"Out": _arr(np.tanh(ins["X"]))}


@tanh.grad
def _tanh_grad(ctx):
    o = ctx.out("Out")
    return {"X": ctx.dout("Out") * (1.0 - o * o)}


@op("hard_swish", "X", "Out", {"threshold": ("float", 6.0), "scale": ("float", 6.0), "offset": ("float", 3.0)})
def hard_swish(ins, attrs):
    """Out = X * min(max(X + offset, 0), threshold) / scale."""
    x = ins["X"]
    return {"Out": _arr(x * np.clip(x + attrs["offset"], 0, attrs["threshold"]) / attrs["scale"])}


@hard_swish.grad
def _hard_swish_grad(ctx):
    x, g, a = ctx.x("X"), ctx.dout("Out"), ctx.attrs
    t = x + a["offset"]
    d = np.where(t <= 0, 0.0, np.where(t < a["threshold"], (2 * x + a["offset"]) / a["scale"], 1.0))
    return {"X": g * d.astype(x.dtype, copy=False)}


@op("hard_sigmoid", "X", "Out", {"slope": ("float", 0.2), "offset": ("float", 0.5)})
def hard_sigmoid(ins, attrs):
    """Out = clip(slope * X + offset, 0, 1)."""
    x = ins["X"]
    return {"Out": _arr(np.clip(x * attrs["slope"] + attrs["offset"], 0, 1))}


@hard_sigmoid.grad
def _hard_sigmoid_grad(ctx):
    o = ctx.out("Out")
    return {"X": ctx.dout("Out") * ((o > 0) & (o < 1)) * ctx.attrs["slope"]}


@op("swish", "X", "Out")
def swish(ins, attrs):
    """Out = X * sigmoid(beta * X) (beta = 1 in Paddle 2.6)."""
    x = ins["X"]
    return {"Out": _arr(x * _sigmoid(x * attrs.get("beta", 1.0)))}


@swish.grad
def _swish_grad(ctx):
    x, g = ctx.x("X"), ctx.dout("Out")
    b = ctx.attrs.get("beta", 1.0)
    s = _sigmoid(x * b)
    return {"X": g * (s + b * x * s * (1.0 - s))}


@op("silu", "X", "Out")
def silu(ins, attrs):
    """Out = X * sigmoid(X)."""
    x = ins["X"]
    return {"Out": _arr(x * _sigmoid(x))}


@silu.grad
def _silu_grad(ctx):
    x, g = ctx.x("X"), ctx.dout("Out")
    s = _sigmoid(x)
    return {"X": g * (s * (1.0 + x * (1.0 - s)))}


def _softplus(x, beta, threshold):
    bx = x * beta
    return np.where(bx > threshold, x, (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / beta)


@op("softplus", "X", "Out", {"beta": ("float", 1.0), "threshold": ("float", 20.0)})
def softplus(ins, attrs):
    """Out = log(1 + exp(beta X)) / beta, or X where beta X > threshold."""
    return {"Out": _arr(_softplus(ins["X"], attrs["beta"], attrs["threshold"]))}


@softplus.grad
def _softplus_grad(ctx):
    x, a = ctx.x("X"), ctx.attrs
    bx = x * a["beta"]
    return {"X": ctx.dout("Out") * np.where(bx > a["threshold"], 1.0, _sigmoid(bx)).astype(x.dtype, copy=False)}


@op("elu", "X", "Out", {"alpha": ("float", 1.0)})
def elu(ins, attrs):
    """Out = X if X > 0 else alpha * (exp(X) - 1)."""
    x = ins["X"]
    return {"Out": _arr(np.where(x > 0, x, attrs["alpha"] * np.expm1(np.minimum(x, 0))))}


@elu.grad
def _elu_grad(ctx):
    x, o, g = ctx.x("X"), ctx.out("Out"), ctx.dout("Out")
    return {"X": np.where(x > 0, g, g * (o + ctx.attrs["alpha"]))}


@op("selu", "X", "Out", {"scale": ("float", 1.0507009873554805), "alpha": ("float", 1.6732632423543772)})
def selu(ins, attrs):
    """Out = scale * (X if X > 0 else alpha * (exp(X) - 1))."""
    x, a = ins["X"], attrs
    return {"Out": _arr(a["scale"] * np.where(x > 0, x, a["alpha"] * np.expm1(np.minimum(x, 0))))}


@selu.grad
def _selu_grad(ctx):
    x, g, a = ctx.x("X"), ctx.dout("Out"), ctx.attrs
    return {"X": g * np.where(x > 0, a["scale"], a["scale"] * a["alpha"] * np.exp(np.minimum(x, 0)))}


@op("mish", "X", "Out", {"threshold": ("float", 20.0)})
def mish(ins, attrs):
    """Out = X * tanh(softplus(X))."""
    x = ins["X"]
    return {"Out": _arr(x * np.tanh(_softplus(x, 1.0, attrs["threshold"])))}


@mish.grad
def _mish_grad(ctx):
    x, g = ctx.x("X"), ctx.dout("Out")
    sp = _softplus(x, 1.0, ctx.attrs["threshold"])
    t = np.tanh(sp)
    dsp = np.where(x > ctx.attrs["threshold"], 1.0, _sigmoid(x))
    return {"X": g * (t + x * (1.0 - t * t) * dsp)}


@op("softsign", "X", "Out")
def softsign(ins, attrs):
    """Out = X / (1 + |X|)."""
    x = ins["X"]
    return {"Out": _arr(x / (1 + np.abs(x)))}


@softsign.grad
def _softsign_grad(ctx):
    d = 1 + np.abs(ctx.x("X"))
    return {"X": ctx.dout("Out") / (d * d)}


@op("tanh_shrink", "X", "Out")
def tanh_shrink(ins, attrs):
    """Out = X - tanh(X)."""
    x = ins["X"]
    return {"Out": _arr(x - np.tanh(x))}


@tanh_shrink.grad
def _tanh_shrink_grad(ctx):
    t = np.tanh(ctx.x("X"))
    return {"X": ctx.dout("Out") * (t * t)}


@op("brelu", "X", "Out", {"t_min": ("float", 0.0), "t_max": ("float", 24.0)})
def brelu(ins, attrs):
    """Out = clip(X, t_min, t_max) (``hardtanh``)."""
    return {"Out": _arr(np.clip(ins["X"], attrs["t_min"], attrs["t_max"]))}


@brelu.grad
def _brelu_grad(ctx):
    x = ctx.x("X")
    return {"X": ctx.dout("Out") * ((x > ctx.attrs["t_min"]) & (x < ctx.attrs["t_max"]))}
