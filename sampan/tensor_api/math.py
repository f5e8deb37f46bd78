"""Elementwise math, reductions, matmul and friends (``paddle.add``, ``paddle.sum``, ``paddle.matmul``, ...).

Every function accepts eager Tensors and static Variables alike and goes through
``core.dispatch.run_op``. Python scalars follow Paddle's Tensor-operator rules: ``x + 1.0``,
``x - 1.0``, ``x * 2`` and ``x / 2`` lower to one ``scale`` op (what Paddle emits), other scalars
become a ``fill_constant`` of the Tensor's dtype, and a Python float met with an integer Tensor
first casts that Tensor to float32 (Paddle 2.6).
"""
from __future__ import annotations

import builtins
import numbers

import numpy as np

from ..core.dispatch import run_op
from ..core.tensor import Tensor, _MathMixin
from ..core.dtype import convert_dtype

__all__ = [
    "add", "subtract", "multiply", "divide", "pow", "maximum", "minimum", "fmax", "fmin", "floor_divide",
    "remainder", "mod", "floor_mod", "matmul", "scale", "neg", "add_n", "sum", "nansum", "max", "min", "amax",
    "amin", "prod", "all", "any", "logsumexp", "cumsum", "abs", "exp", "expm1", "log", "log2", "log10",
    "log1p", "sqrt", "rsqrt", "square", "sign", "floor", "ceil", "round", "reciprocal", "sin", "cos", "tan",
    "asin", "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "erf", "clip", "increment", "lerp", "addmm",
    "trunc", "frac", "stanh", "count_nonzero", "diff", "cast",
    "add_", "subtract_", "multiply_", "scale_", "clip_", "exp_", "sqrt_", "tanh_", "zero_", "fill_",
]

_SCALAR_TYPES = (numbers.Number, np.bool_)


# ---------------------------------------------------------------------------- operands
_PY_SCALARS = (int, float, builtins.bool)


def _is_scalar(v):
    if v.__class__ in _PY_SCALARS:
        return True
    return isinstance(v, _SCALAR_TYPES) and not isinstance(v, _MathMixin)


def _is_value(v):
    return isinstance(v, _MathMixin)


def _dtype_of(ref):
    dt = getattr(ref, "dtype", None)
    return dt if dt is not None else convert_dtype("float32")


def _full_like_dtype(value, dtype):
    """A 0-D constant (op ``fill_constant``) so that it also works inside static programs."""
    dt = convert_dtype(dtype)
    v = value.item() if hasattr(value, "item") else value
    if isinstance(v, builtins.bool) or dt.name == "bool":
        fv = 1.0 if v else 0.0
        sv = "1" if v else "0"
    elif dt.name in ("int8", "int16", "int32", "int64", "uint8"):
        fv, sv = float(int(v)), str(int(v))
    else:
        fv = float(v)
        sv = repr(fv) if np.isfinite(fv) else ("inf" if fv > 0 else "-inf" if fv < 0 else "nan")
    return run_op("fill_constant", {}, {"shape": [], "dtype": dt.proto, "value": fv, "str_value": sv})["Out"]


def _as_tensor_like(v, ref):
    """Python scalars / arrays used with a Tensor become Tensors of ``ref``'s dtype
    (Paddle keeps the Tensor's dtype for scalar operands)."""
    if _is_value(v):
        return v
    dt = _dtype_of(ref)
    if _is_scalar(v):
        if isinstance(v, float) and not dt.is_floating_point:
            dt = convert_dtype("float32")  # Paddle 2.6: a float operand makes integer math float32
        return _full_like_dtype(v, dt)
    arr = np.asarray(v)
    if arr.dtype.kind == "f" or dt.is_floating_point or arr.dtype.kind == "b" or arr.ndim == 0:
        arr = arr.astype(dt.np)
    from .creation import assign
    return assign(arr)  # an assign_value op: a constant that also lives in static programs


def _promote_for_float_scalar(x, s):
    """Paddle 2.6: a Python float with an integer/bool Tensor casts the Tensor to float32 first."""
    if isinstance(s, float) and x.dtype is not None and not x.dtype.is_floating_point:
        return cast(x, "float32")
    return x


def _operands(x, y):
    """Both operands as Tensors/Variables (scalars as constants of the other's dtype)."""
    if _is_scalar(y) and _is_value(x):
        x = _promote_for_float_scalar(x, y)
        return x, _full_like_dtype(y, x.dtype)
    if _is_scalar(x) and _is_value(y):
        y = _promote_for_float_scalar(y, x)
        return _full_like_dtype(x, y.dtype), y
    if not _is_value(x) and not _is_value(y):
        from .creation import to_tensor
        x = to_tensor(x)
    y = _as_tensor_like(y, x)
    x = _as_tensor_like(x, y)
    return x, y


def _ew(op_type, x, y, axis=-1):
    if not (isinstance(x, _MathMixin) and isinstance(y, _MathMixin)):
        x, y = _operands(x, y)
    return run_op(op_type, {"X": x, "Y": y}, None if axis == -1 else {"axis": axis})["Out"]


def _scale_op(x, s, b):
    return run_op("scale", {"X": x}, {"scale": float(s), "bias": float(b), "bias_after_scale": True})["Out"]


def _unary(op_type, x):
    return run_op(op_type, {"X": x})["Out"]


# ---------------------------------------------------------------------------- binary
def add(x, y, name=None):
    """``x + y`` with broadcasting (op ``elementwise_add``; ``x + scalar`` is a ``scale`` op).

    Example:
        >>> import sampan as paddle
        >>> paddle.add(paddle.to_tensor([1.0, 2.0]), paddle.to_tensor(3.0)).numpy()
        array([4., 5.], dtype=float32)
    """
    if isinstance(y, _MathMixin) and isinstance(x, _MathMixin):
        return run_op("elementwise_add", {"X": x, "Y": y})["Out"]
    if _is_scalar(y) and _is_value(x) and not isinstance(y, (builtins.bool, np.bool_)):
        return _scale_op(_promote_for_float_scalar(x, y), 1.0, y)
    if _is_scalar(x) and _is_value(y) and not isinstance(x, (builtins.bool, np.bool_)):
        return _scale_op(_promote_for_float_scalar(y, x), 1.0, x)
    return _ew("elementwise_add", x, y)


def subtract(x, y, name=None):
    """``x - y`` (op ``elementwise_sub``; ``x - scalar`` and ``scalar - x`` are ``scale`` ops)."""
    if isinstance(y, _MathMixin) and isinstance(x, _MathMixin):
        return run_op("elementwise_sub", {"X": x, "Y": y})["Out"]
    if _is_scalar(y) and _is_value(x) and not isinstance(y, (builtins.bool, np.bool_)):
        return _scale_op(_promote_for_float_scalar(x, y), 1.0, -y)
    if _is_scalar(x) and _is_value(y) and not isinstance(x, (builtins.bool, np.bool_)):
        return _scale_op(_promote_for_float_scalar(y, x), -1.0, x)
    return _ew("elementwise_sub", x, y)


def multiply(x, y, name=None):
    """``x * y`` (op ``elementwise_mul``; ``x * scalar`` is a ``scale`` op)."""
    if isinstance(y, _MathMixin) and isinstance(x, _MathMixin):
        return run_op("elementwise_mul", {"X": x, "Y": y})["Out"]
    if _is_scalar(y) and _is_value(x) and not isinstance(y, (builtins.bool, np.bool_)):
        return _scale_op(_promote_for_float_scalar(x, y), y, 0.0)
    if _is_scalar(x) and _is_value(y) and not isinstance(x, (builtins.bool, np.bool_)):
        return _scale_op(_promote_for_float_scalar(y, x), x, 0.0)
    return _ew("elementwise_mul", x, y)


def _to_float(x):
    if _is_value(x) and x.dtype is not None and not x.dtype.is_floating_point:
        return cast(x, "float32")
    return x


def divide(x, y, name=None):
    """``x / y`` (op ``elementwise_div``); integer Tensors are divided in float32, as Paddle's ``/``.
    ``x / scalar`` is a ``scale`` op by ``1 / scalar``."""
    if _is_scalar(y) and _is_value(x) and not isinstance(y, (builtins.bool, np.bool_)) and y != 0:
        return _scale_op(_to_float(x), 1.0 / y, 0.0)
    x, y = _operands(x, y)
    return run_op("elementwise_div", {"X": _to_float(x), "Y": _to_float(y)})["Out"]


def pow(x, y, name=None):
    """``x ** y``: op ``pow`` (attribute ``factor``) for a scalar exponent, else ``elementwise_pow``."""
    if _is_scalar(y) and _is_value(x):
        x = _promote_for_float_scalar(x, y)
        return run_op("pow", {"X": x}, {"factor": float(y)})["Out"]
    return _ew("elementwise_pow", x, y)


def maximum(x, y, name=None):
    """Elementwise maximum (op ``elementwise_max``)."""
    return _ew("elementwise_max", x, y)


def minimum(x, y, name=None):
    """Elementwise minimum (op ``elementwise_min``)."""
    return _ew("elementwise_min", x, y)


def fmax(x, y, name=None):
    """Elementwise maximum ignoring NaN: built from ``where``/``isnan`` and ``elementwise_max``."""
    from .logic import isnan
    from .search import where
    x, y = _operands(x, y)
    m = maximum(x, y)
    return where(isnan(x), y, where(isnan(y), x, m))


def fmin(x, y, name=None):
    """Elementwise minimum ignoring NaN."""
    from .logic import isnan
    from .search import where
    x, y = _operands(x, y)
    m = minimum(x, y)
    return where(isnan(x), y, where(isnan(y), x, m))


def floor_divide(x, y, name=None):
    """``x // y`` rounded toward -inf (op ``elementwise_floordiv``)."""
    return _ew("elementwise_floordiv", x, y)


def remainder(x, y, name=None):
    """``x % y`` with the sign of ``y`` (op ``elementwise_mod``)."""
    return _ew("elementwise_mod", x, y)


mod = remainder
floor_mod = remainder


def matmul(x, y, transpose_x=False, transpose_y=False, name=None):
    """Matrix product (op ``matmul_v2``), batched with broadcasting; 1-D operands are vectors.

    Example:
        >>> import sampan as paddle
        >>> paddle.matmul(paddle.ones([2, 3]), paddle.ones([3, 4])).shape
        [2, 4]
    """
    if transpose_x or transpose_y:
        return run_op("matmul_v2", {"X": x, "Y": y}, {"trans_x": transpose_x, "trans_y": transpose_y})["Out"]
    return run_op("matmul_v2", {"X": x, "Y": y})["Out"]


def scale(x, scale=1.0, bias=0.0, bias_after_scale=True, act=None, name=None):
    """``scale * x + bias`` (or ``scale * (x + bias)``); ``scale`` may be a 1-element Tensor."""
    ins = {"X": x}
    attrs = {"bias": float(bias), "bias_after_scale": bool(bias_after_scale)}
    if _is_value(scale):
        ins["ScaleTensor"] = scale
    else:
        attrs["scale"] = float(scale)
    out = run_op("scale", ins, attrs)["Out"]
    if act is not None:
        out = run_op(act, {"X": out})["Out"]
    return out


def neg(x, name=None):
    """``-x`` (a ``scale`` op with scale -1)."""
    return _scale_op(x, -1.0, 0.0)


def add_n(inputs, name=None):
    """Sum of a list of same-shaped Tensors (op ``sum``)."""
    if _is_value(inputs):
        inputs = [inputs]
    return run_op("sum", {"X": list(inputs)})["Out"]


def increment(x, value=1.0, name=None):
    """``x + value`` (a ``scale`` op)."""
    return _scale_op(x, 1.0, value)


def lerp(x, y, weight, name=None):
    """``x + weight * (y - x)``."""
    return add(x, multiply(weight, subtract(y, x)))


def addmm(input, x, y, beta=1.0, alpha=1.0, name=None):
    """``beta * input + alpha * (x @ y)``."""
    return add(scale(input, beta), scale(matmul(x, y), alpha))


# ---------------------------------------------------------------------------- reductions
def _reduce_attrs(x, axis, keepdim):
    if axis is None:
        dim, reduce_all = [], True
    else:
        if _is_value(axis):
            axis = [int(v) for v in np.asarray(axis.numpy()).reshape(-1)]
        dim = [int(axis)] if isinstance(axis, (int, np.integer)) else [int(a) for a in axis]
        nd = len(x.shape) if x.shape is not None else -1
        reduce_all = len(dim) == 0 or len(dim) == nd
    return {"dim": dim, "keep_dim": bool(keepdim), "reduce_all": reduce_all}


def _reduce(op_type, x, axis, keepdim, extra=None):
    attrs = _reduce_attrs(x, axis, keepdim)
    if extra:
        attrs.update(extra)
    return run_op(op_type, {"X": x}, attrs)["Out"]


def sum(x, axis=None, dtype=None, keepdim=False, name=None):
    """Sum over ``axis`` (all axes when None); bool/int32 inputs give int64 (op ``reduce_sum``).

    Example:
        >>> import sampan as paddle
        >>> paddle.sum(paddle.to_tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0).numpy()
        array([4., 6.], dtype=float32)
    """
    extra = None
    if dtype is not None:
        extra = {"in_dtype": x.dtype.proto, "out_dtype": convert_dtype(dtype).proto}
    return _reduce("reduce_sum", x, axis, keepdim, extra)


def nansum(x, axis=None, dtype=None, keepdim=False, name=None):
    """Sum treating NaN as zero."""
    from .logic import isnan
    from .search import where
    return sum(where(isnan(x), _full_like_dtype(0, x.dtype), x), axis, dtype, keepdim)


def max(x, axis=None, keepdim=False, name=None):
    """Maximum over ``axis`` (op ``reduce_max``)."""
    return _reduce("reduce_max", x, axis, keepdim)


def min(x, axis=None, keepdim=False, name=None):
    """Minimum over ``axis`` (op ``reduce_min``)."""
    return _reduce("reduce_min", x, axis, keepdim)


amax = max
amin = min


def prod(x, axis=None, keepdim=False, dtype=None, name=None):
    """Product over ``axis`` (op ``reduce_prod``)."""
    if dtype is not None:
        x = cast(x, dtype)
    return _reduce("reduce_prod", x, axis, keepdim)


def all(x, axis=None, keepdim=False, name=None):
    """Logical AND over ``axis`` (op ``reduce_all``)."""
    return _reduce("reduce_all", x, axis, keepdim)


def any(x, axis=None, keepdim=False, name=None):
    """Logical OR over ``axis`` (op ``reduce_any``)."""
    return _reduce("reduce_any", x, axis, keepdim)


def logsumexp(x, axis=None, keepdim=False, name=None):
    """``log(sum(exp(x)))`` over ``axis``, numerically stable (op ``logsumexp``)."""
    a = _reduce_attrs(x, axis, keepdim)
    return run_op("logsumexp", {"X": x}, {"axis": a["dim"], "keepdim": a["keep_dim"],
                                          "reduce_all": a["reduce_all"]})["Out"]


def count_nonzero(x, axis=None, keepdim=False, name=None):
    """Number of non-zero entries over ``axis`` (int64)."""
    from .logic import not_equal
    return sum(cast(not_equal(x, _full_like_dtype(0, x.dtype)), "int64"), axis, None, keepdim)


def cumsum(x, axis=None, dtype=None, name=None):
    """Cumulative sum along ``axis`` (of the flattened input when None; op ``cumsum``)."""
    if dtype is not None:
        x = cast(x, dtype)
    if axis is None:
        return run_op("cumsum", {"X": x}, {"flatten": True})["Out"]
    return run_op("cumsum", {"X": x}, {"axis": int(axis)})["Out"]


def diff(x, n=1, axis=-1, prepend=None, append=None, name=None):
    """``n``-th forward difference along ``axis``."""
    from .manipulation import concat, slice as slice_
    if prepend is not None or append is not None:
        parts = [p for p in (prepend, x, append) if p is not None]
        x = concat([_as_tensor_like(p, x) for p in parts], axis)
    for _ in range(n):
        ax = axis + len(x.shape) if axis < 0 else axis
        x = subtract(slice_(x, [ax], [1], [2**31 - 1]), slice_(x, [ax], [0], [-1]))
    return x


# ---------------------------------------------------------------------------- unary
def abs(x, name=None):
    """``|x|`` (op ``abs``)."""
    return _unary("abs", x)


def exp(x, name=None):
    """``e ** x`` (op ``exp``)."""
    return _unary("exp", x)


def expm1(x, name=None):
    """``e ** x - 1`` (op ``expm1``)."""
    return _unary("expm1", x)


def log(x, name=None):
    """Natural logarithm (op ``log``)."""
    return _unary("log", x)


def log2(x, name=None):
    return _unary("log2", x)


def log10(x, name=None):
    return _unary("log10", x)


def log1p(x, name=None):
    """``log(1 + x)`` (op ``log1p``)."""
    return _unary("log1p", x)


def sqrt(x, name=None):
    """Square root (op ``sqrt``)."""
    return _unary("sqrt", x)


def rsqrt(x, name=None):
    """``1 / sqrt(x)`` (op ``rsqrt``)."""
    return _unary("rsqrt", x)


def square(x, name=None):
    """``x * x`` (op ``square``)."""
    return _unary("square", x)


def sign(x, name=None):
    """-1, 0 or 1 (op ``sign``)."""
    return _unary("sign", x)


def floor(x, name=None):
    return _unary("floor", x)


def ceil(x, name=None):
    return _unary("ceil", x)


def round(x, decimals=0, name=None):
    """Round half away from zero (op ``round``)."""
    if decimals:
        f = 10.0 ** decimals
        return scale(_unary("round", scale(x, f)), 1.0 / f)
    return _unary("round", x)


def trunc(x, name=None):
    """Round toward zero."""
    return multiply(sign(x), floor(abs(x)))


def frac(x, name=None):
    """``x - trunc(x)``."""
    return subtract(x, trunc(x))


def reciprocal(x, name=None):
    return _unary("reciprocal", x)


def sin(x, name=None):
    return _unary("sin", x)


def cos(x, name=None):
    return _unary("cos", x)


def tan(x, name=None):
    return _unary("tan", x)


def asin(x, name=None):
    return _unary("asin", x)


def acos(x, name=None):
    return _unary("acos", x)


def atan(x, name=None):
    return _unary("atan", x)


def sinh(x, name=None):
    return _unary("sinh", x)


def cosh(x, name=None):
    return _unary("cosh", x)


def tanh(x, name=None):
    """Hyperbolic tangent (op ``tanh``); works on static Variables too (``jit.save`` of a function)."""
    return _unary("tanh", x)


def sigmoid(x, name=None):
    """``1 / (1 + exp(-x))`` (op ``sigmoid``)."""
    return _unary("sigmoid", x)


def stanh(x, scale_a=0.67, scale_b=1.7159, name=None):
    """``scale_b * tanh(scale_a * x)``."""
    return scale(tanh(scale(x, scale_a)), scale_b)


def erf(x, name=None):
    """The error function (op ``erf``)."""
    return _unary("erf", x)


def clip(x, min=None, max=None, name=None):
    """Clamp to ``[min, max]`` (op ``clip``); bounds may be Python numbers or 1-element Tensors."""
    fmin_, fmax_ = float(np.finfo(np.float32).min), float(np.finfo(np.float32).max)
    ins = {"X": x}
    attrs = {}
    if _is_value(min):
        ins["Min"] = min
        attrs["min"] = fmin_
    else:
        attrs["min"] = fmin_ if min is None else float(min)
    if _is_value(max):
        ins["Max"] = max
        attrs["max"] = fmax_
    else:
        attrs["max"] = fmax_ if max is None else float(max)
    return run_op("clip", ins, attrs)["Out"]


def cast(x, dtype):
    """Convert to ``dtype`` (op ``cast``). Also ``Tensor.astype``."""
    dt = convert_dtype(dtype)
    out = run_op("cast", {"X": x}, {"in_dtype": x.dtype.proto, "out_dtype": dt.proto})["Out"]
    if dt.name == "bfloat16" and isinstance(out, Tensor):
        out._dtype = dt  # an eager bfloat16 Tensor stores uint16 bit patterns
    return out


# ---------------------------------------------------------------------------- in-place variants
def _inplace(fn, name):
    def f(x, *args, **kwargs):
        from .manipulation import _alias, _rebind
        return _rebind(x, fn(_alias(x), *args, **kwargs), name)
    f.__name__ = name
    f.__doc__ = f"In-place ``{fn.__name__}``: ``x`` takes the result (and its place in the autograd graph)."
    return f


add_ = _inplace(add, "add_")
subtract_ = _inplace(subtract, "subtract_")
multiply_ = _inplace(multiply, "multiply_")
scale_ = _inplace(scale, "scale_")
clip_ = _inplace(clip, "clip_")
exp_ = _inplace(exp, "exp_")
sqrt_ = _inplace(sqrt, "sqrt_")
tanh_ = _inplace(tanh, "tanh_")


def zero_(x, name=None):
    """Set every element of ``x`` to 0 in place."""
    from .creation import zeros_like
    from .manipulation import _rebind
    return _rebind(x, zeros_like(x), "zero_")


def fill_(x, value, name=None):
    """Set every element of ``x`` to ``value`` in place."""
    from .creation import full_like
    from .manipulation import _rebind
    return _rebind(x, full_like(x, value), "fill_")


# comparison / logic functions used by Tensor operators (defined in logic.py)
from .logic import (  # noqa: E402
    equal, not_equal, greater_than, greater_equal, less_than, less_equal, logical_and, logical_or,
    logical_not, logical_xor,
)

_ = (equal, not_equal, greater_than, greater_equal, less_than, less_equal, logical_and, logical_or,
     logical_not, logical_xor)
