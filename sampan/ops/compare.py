"""Comparison and logical ops (bool outputs, no gradients): greater_than, ..., equal, not_equal,
logical_and/or/xor/not, bitwise_*, isnan_v2/isinf_v2/isfinite_v2, equal_all, allclose, isclose."""
from __future__ import annotations

import numpy as np

from .registry import op
from .math import _align, _binary_meta
from ..core.dtype import BY_NAME

_CMP_ATTRS = {"axis": ("int", -1), "force_cpu": ("bool", False)}


def _compare(name, fn):
    def kernel(ins, attrs):
        x, y = _align(ins["X"], ins["Y"], attrs["axis"])
        return {"Out": np.asarray(fn(x, y))}
    kernel.__doc__ = f"Out = {fn.__name__}(X, Y) elementwise (bool)."
    od = op(name, "X Y", "Out", _CMP_ATTRS)(kernel)
    od.meta(lambda metas, attrs: _binary_meta(metas, attrs, name, BY_NAME["bool"]))
    return od


greater_than = _compare("greater_than", np.greater)
greater_equal = _compare("greater_equal", np.greater_equal)
less_than = _compare("less_than", np.less)
less_equal = _compare("less_equal", np.less_equal)
equal = _compare("equal", np.equal)
not_equal = _compare("not_equal", np.not_equal)


def _logical(name, fn, arity=2):
    if arity == 2:
        def kernel(ins, attrs):
            return {"Out": np.asarray(fn(ins["X"], ins["Y"]))}
        slots = "X Y"
    else:
        def kernel(ins, attrs):
            return {"Out": np.asarray(fn(ins["X"]))}
        slots = "X"
    kernel.__doc__ = f"Out = {fn.__name__} of the inputs, elementwise."
    return op(name, slots, "Out")(kernel)


logical_and = _logical("logical_and", np.logical_and)
logical_or = _logical("logical_or", np.logical_or)
logical_xor = _logical("logical_xor", np.logical_xor)
logical_not = _logical("logical_not", np.logical_not, 1)
bitwise_and = _logical("bitwise_and", np.bitwise_and)
bitwise_or = _logical("bitwise_or", np.bitwise_or)
bitwise_xor = _logical("bitwise_xor", np.bitwise_xor)
bitwise_not = _logical("bitwise_not", np.invert, 1)
isnan_v2 = _logical("isnan_v2", np.isnan, 1)
isinf_v2 = _logical("isinf_v2", np.isinf, 1)
isfinite_v2 = _logical("isfinite_v2", np.isfinite, 1)


@op("equal_all", "X Y", "Out")
def equal_all(ins, attrs):
    """True (0-D) when X and Y have the same shape and values."""
    x, y = ins["X"], ins["Y"]
    return {"Out": np.asarray(x.shape == y.shape and bool(np.all(x == y)))}


def _tol(ins, slot, attr):
    t = ins.get(slot)
    return float(np.asarray(t).reshape(-1)[0]) if t is not None else float(attr)


_CLOSE_ATTRS = {"rtol": ("string", "1e-05"), "atol": ("string", "1e-08"), "equal_nan": ("bool", False)}


@op("allclose", "Input Other Rtol? Atol?", "Out", _CLOSE_ATTRS)
def allclose(ins, attrs):
    """True (0-D) when |Input - Other| <= atol + rtol * |Other| everywhere."""
    return {"Out": np.asarray(np.allclose(ins["Input"], ins["Other"], rtol=_tol(ins, "Rtol", attrs["rtol"]),
                                          atol=_tol(ins, "Atol", attrs["atol"]), equal_nan=attrs["equal_nan"]))}


@op("isclose", "Input Other Rtol? Atol?", "Out", _CLOSE_ATTRS)
def isclose(ins, attrs):
    """Elementwise |Input - Other| <= atol + rtol * |Other|."""
    return {"Out": np.isclose(ins["Input"], ins["Other"], rtol=_tol(ins, "Rtol", attrs["rtol"]),
                              atol=_tol(ins, "Atol", attrs["atol"]), equal_nan=attrs["equal_nan"])}
