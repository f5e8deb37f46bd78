"""Comparisons and logic (``paddle.equal``, ``paddle.logical_and``, ``paddle.isnan``, ``paddle.allclose``, ...).
Results are bool Tensors; none of these have gradients."""
from __future__ import annotations

from ..core.dispatch import run_op
from ..core.tensor import Tensor
from .math import _operands, _is_value

__all__ = [
    "equal", "not_equal", "greater_than", "greater_equal", "less_than", "less_equal", "logical_and",
    "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "isnan", "isinf", "isfinite", "equal_all", "allclose", "isclose", "is_tensor", "is_empty",
]


def _cmp(op_type, x, y):
    x, y = _operands(x, y)
    return run_op(op_type, {"X": x, "Y": y})["Out"]


def equal(x, y, name=None):
    """``x == y`` elementwise (op ``equal``).

    Example:
        >>> import sampan as paddle
        >>> paddle.equal(paddle.to_tensor([1, 2]), 2).numpy()
        array([False,  True])
    """
    if y is None or x is None:  # ``t == None`` is a Python identity question, not elementwise
        return False
    return _cmp("equal", x, y)


def not_equal(x, y, name=None):
    """``x != y`` elementwise (op ``not_equal``)."""
    if y is None or x is None:
        return True
    return _cmp("not_equal", x, y)


def greater_than(x, y, name=None):
    """``x > y`` (op ``greater_than``)."""
    return _cmp("greater_than", x, y)


def greater_equal(x, y, name=None):
    """``x >= y`` (op ``greater_equal``)."""
    return _cmp("greater_equal", x, y)


def less_than(x, y, name=None):
    """``x < y`` (op ``less_than``)."""
    return _cmp("less_than", x, y)


def less_equal(x, y, name=None):
    """``x <= y`` (op ``less_equal``)."""
    return _cmp("less_equal", x, y)


def _logic2(op_type, x, y):
    x, y = _operands(x, y)
    return run_op(op_type, {"X": x, "Y": y})["Out"]


def logical_and(x, y, out=None, name=None):
    return _logic2("logical_and", x, y)


def logical_or(x, y, out=None, name=None):
    return _logic2("logical_or", x, y)


def logical_xor(x, y, out=None, name=None):
    return _logic2("logical_xor", x, y)


def logical_not(x, out=None, name=None):
    return run_op("logical_not", {"X": x})["Out"]


def bitwise_and(x, y, out=None, name=None):
    return _logic2("bitwise_and", x, y)


def bitwise_or(x, y, out=None, name=None):
    return _logic2("bitwise_or", x, y)


def bitwise_xor(x, y, out=None, name=None):
    return _logic2("bitwise_xor", x, y)


def bitwise_not(x, out=None, name=None):
    return run_op("bitwise_not", {"X": x})["Out"]


def isnan(x, name=None):
    """Elementwise NaN test (op ``isnan_v2``)."""
    return run_op("isnan_v2", {"X": x})["Out"]


def isinf(x, name=None):
    """Elementwise +-inf test (op ``isinf_v2``)."""
    return run_op("isinf_v2", {"X": x})["Out"]


def isfinite(x, name=None):
    """Elementwise finiteness test (op ``isfinite_v2``)."""
    return run_op("isfinite_v2", {"X": x})["Out"]


def equal_all(x, y, name=None):
    """True (0-D bool) when ``x`` and ``y`` have equal shapes and values (op ``equal_all``)."""
    return run_op("equal_all", {"X": x, "Y": y})["Out"]


def _close(op_type, x, y, rtol, atol, equal_nan):
    attrs = {"equal_nan": bool(equal_nan)}
    ins = {"Input": x, "Other": y}
    if _is_value(rtol):
        ins["Rtol"] = rtol
    else:
        attrs["rtol"] = str(float(rtol))
    if _is_value(atol):
        ins["Atol"] = atol
    else:
        attrs["atol"] = str(float(atol))
    return run_op(op_type, ins, attrs)["Out"]


def allclose(x, y, rtol=1e-05, atol=1e-08, equal_nan=False, name=None):
    """True (0-D bool) when ``|x - y| <= atol + rtol * |y|`` everywhere (op ``allclose``)."""
    return _close("allclose", x, y, rtol, atol, equal_nan)


def isclose(x, y, rtol=1e-05, atol=1e-08, equal_nan=False, name=None):
    """Elementwise ``|x - y| <= atol + rtol * |y|`` (op ``isclose``)."""
    return _close("isclose", x, y, rtol, atol, equal_nan)


def is_tensor(x):
    """True for a sampan Tensor."""
    return isinstance(x, Tensor)


def is_empty(x, name=None):
    """True (0-D bool) when ``x`` has no elements."""
    from .stat import numel
    return equal(numel(x), 0)
