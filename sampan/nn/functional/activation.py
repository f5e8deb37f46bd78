"""Activation functions (``paddle.nn.functional.relu`` ...). The kernels live in
``sampan.ops.activation`` (relu, gelu, ...) and ``sampan.ops.nn_ops`` (softmax, log_softmax, prelu);
these functions only build Paddle's op, slots and attributes."""
from __future__ import annotations

from ...core.dispatch import run_op

__all__ = [
    "relu", "relu6", "leaky_relu", "gelu", "sigmoid", "tanh", "softmax", "log_softmax", "hardswish",
    "hardsigmoid", "swish", "silu", "prelu", "elu", "selu", "softplus", "softsign", "mish", "tanhshrink",
    "hardtanh", "log_sigmoid", "glu",
]


def _act(op_type, x, attrs=None):
    return run_op(op_type, {"X": x}, attrs)["Out"]


def relu(x, name=None):
    """max(x, 0) (op ``relu``).

    Example:
        >>> import sampan as paddle
        >>> import sampan.nn.functional as F
        >>> F.relu(paddle.to_tensor([-1.0, 2.0])).numpy()
        array([0., 2.], dtype=float32)
    """
    return _act("relu", x)


def relu6(x, name=None):
    """min(max(x, 0), 6) (op ``relu6``)."""
    return _act("relu6", x)


def leaky_relu(x, negative_slope=0.01, name=None):
    """x if x > 0 else negative_slope * x (op ``leaky_relu``, attribute ``alpha``)."""
    return _act("leaky_relu", x, {"alpha": float(negative_slope)})


def gelu(x, approximate=False, name=None):
    """Gaussian error linear unit, exact (erf) or tanh-approximated (op ``gelu``)."""
    return _act("gelu", x, {"approximate": bool(approximate)})


def sigmoid(x, name=None):
    """1 / (1 + exp(-x)) (op ``sigmoid``)."""
    return _act("sigmoid", x)


def tanh(x, name=None):
    """Hyperbolic tangent (op ``tanh``)."""
    return _act("tanh", x)


def _maybe_cast(x, dtype):
    if dtype is None:
        return x
    from ...tensor_api.math import cast
    return cast(x, dtype)


def softmax(x, axis=-1, dtype=None, name=None):
    """exp(x) / sum(exp(x)) along ``axis``, computed stably (op ``softmax``).

    Example:
        >>> import sampan as paddle
        >>> import sampan.nn.functional as F
        >>> F.softmax(paddle.to_tensor([0.0, 0.0])).numpy()
        array([0.5, 0.5], dtype=float32)
    """
    return run_op("softmax", {"X": _maybe_cast(x, dtype)}, {"axis": int(axis)})["Out"]


def log_softmax(x, axis=-1, dtype=None, name=None):
    """log(softmax(x)) along ``axis``, computed stably (op ``log_softmax``)."""
    return run_op("log_softmax", {"X": _maybe_cast(x, dtype)}, {"axis": int(axis)})["Out"]


def hardswish(x, name=None):
    """x * relu6(x + 3) / 6 (op ``hard_swish``)."""
    return _act("hard_swish", x, {"threshold": 6.0, "scale": 6.0, "offset": 3.0})


def hardsigmoid(x, slope=0.1666667, offset=0.5, name=None):
    """clip(slope * x + offset, 0, 1) (op ``hard_sigmoid``)."""
    return _act("hard_sigmoid", x, {"slope": float(slope), "offset": float(offset)})


def swish(x, name=None):
    """x * sigmoid(x) (op ``swish``)."""
    return _act("swish", x)


def silu(x, name=None):
    """x * sigmoid(x) (op ``silu``)."""
    return _act("silu", x)


def prelu(x, weight, data_format="NCHW", name=None):
    """x if x > 0 else weight * x with one weight (``weight.shape == [1]``) or one per channel
    (op ``prelu``, mode ``all`` or ``channel``)."""
    if data_format not in ("NC", "NCL", "NCHW", "NCDHW", "NLC", "NHWC", "NDHWC"):
        raise ValueError(f"prelu: data_format must be one of NC, NCL, NCHW, NCDHW, NLC, NHWC, NDHWC. "
                         f"Received: {data_format!r}.")
    fmt = "NCHW" if data_format[1] == "C" else "NHWC"
    mode = "all"
    if int(weight.shape[0]) > 1:
        if len(x.shape) < 2:
            raise ValueError(f"prelu: x must have at least 2 dims when weight has {weight.shape[0]} values. "
                             f"Received x of shape {list(x.shape)}.")
        c = x.shape[-1] if fmt == "NHWC" else x.shape[1]
        if c >= 0 and c != weight.shape[0]:
            raise ValueError(f"prelu: weight has {weight.shape[0]} values but x {list(x.shape)} ({data_format}) "
                             f"has {c} channels.")
        mode = "channel"
    return run_op("prelu", {"X": x, "Alpha": weight}, {"mode": mode, "data_format": fmt})["Out"]


def elu(x, alpha=1.0, name=None):
    """x if x > 0 else alpha * (exp(x) - 1) (op ``elu``)."""
    return _act("elu", x, {"alpha": float(alpha)})


def selu(x, scale=1.0507009873554804934193349852946, alpha=1.6732632423543772848170429916717, name=None):
    """scale * (x if x > 0 else alpha * (exp(x) - 1)) (op ``selu``)."""
    return _act("selu", x, {"scale": float(scale), "alpha": float(alpha)})


def softplus(x, beta=1, threshold=20, name=None):
    """log(1 + exp(beta * x)) / beta, linear above ``threshold`` (op ``softplus``)."""
    return _act("softplus", x, {"beta": float(beta), "threshold": float(threshold)})


def softsign(x, name=None):
    """x / (1 + |x|) (op ``softsign``)."""
    return _act("softsign", x)


def mish(x, name=None):
    """x * tanh(softplus(x)) (op ``mish``)."""
    return _act("mish", x, {"threshold": 20.0})


def tanhshrink(x, name=None):
    """x - tanh(x) (op ``tanh_shrink``)."""
    return _act("tanh_shrink", x)


def hardtanh(x, min=-1.0, max=1.0, name=None):  # noqa: A002 (Paddle's argument names)
    """clip(x, min, max) (op ``brelu``)."""
    return _act("brelu", x, {"t_min": float(min), "t_max": float(max)})


def log_sigmoid(x, name=None):
    """log(sigmoid(x)) (op ``logsigmoid``)."""
    return _act("logsigmoid", x)


def glu(x, axis=-1, name=None):
    """Gated linear unit: ``a * sigmoid(b)`` for the two halves of ``x`` along ``axis``."""
    from ...tensor_api.manipulation import split
    from ...tensor_api.math import multiply
    a, b = split(x, 2, axis=axis)
    return multiply(a, sigmoid(b))
