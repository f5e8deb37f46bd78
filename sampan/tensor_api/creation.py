"""Tensor creation (``paddle.to_tensor``, ``zeros``, ``ones``, ``full``, ``arange``, ``eye`` ...).

Everything except ``to_tensor`` is an op (``fill_constant``, ``fill_any_like``, ``range``, ...), so the
same calls build static programs.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..core.tensor import Tensor, _MathMixin
from ..core.dtype import convert_dtype
from ..core.dispatch import run_op
from ..core import state

__all__ = ["to_tensor", "zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "empty", "empty_like",
           "arange", "linspace", "eye", "assign", "clone", "tril", "triu", "meshgrid", "diag", "diagflat"]


def _infer_array(data, dtype):
    if isinstance(data, Tensor):
        arr = data.numpy()
        if dtype is None:
            dtype = data.dtype
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
            data = [d.numpy() if isinstance(d, Tensor) else d for d in data]
        try:
            arr = np.array(data)
        except ValueError as e:
            raise ValueError(f"to_tensor: the data must be rectangular (nested lists of equal lengths); "
                             f"received {type(data).__name__} that NumPy cannot stack: {e}") from None
    if dtype is None:
        if arr.dtype.kind == "f":
            dtype = state.default_dtype() if arr.dtype == np.float64 and not isinstance(data, np.ndarray) else arr.dtype
        elif arr.dtype.kind == "i":
            dtype = "int64" if not isinstance(data, np.ndarray) else arr.dtype
        elif arr.dtype.kind == "c" and not isinstance(data, np.ndarray):
            dtype = "complex64"
        elif arr.dtype.kind in "US":
            raise TypeError(f"to_tensor: strings are not supported. Received: {data!r}.")
        elif arr.dtype == object:
            raise TypeError(f"to_tensor: cannot convert {type(data).__name__} of mixed objects to a Tensor.")
        else:
            dtype = arr.dtype
    return arr, convert_dtype(dtype)


def to_tensor(data, dtype=None, place=None, stop_gradient=True):
    """Create a Tensor from a Python scalar, list, NumPy array or Tensor (always a copy).

    Python floats become the default dtype (float32), Python ints int64; NumPy arrays keep theirs.

    Example:
        >>> import sampan as paddle
        >>> paddle.to_tensor([1, 2]).dtype
        paddle.int64
    """
    arr, dt = _infer_array(data, dtype)
    if dt.name == "bfloat16":
        t = Tensor(arr.astype(np.float32), dtype="bfloat16", stop_gradient=stop_gradient)
    else:
        t = Tensor(np.array(arr, dtype=dt.np, copy=True), stop_gradient=stop_gradient)
    return t


# ---------------------------------------------------------------------------- op-based creation
def _is_value(v):
    return isinstance(v, _MathMixin)


def _shape_args(shape, fn):
    """``shape`` (list of ints, possibly holding 1-element Tensors, or a 1-D int Tensor) as op
    inputs and attributes."""
    if _is_value(shape):
        return {"ShapeTensor": shape}, {}
    if isinstance(shape, (int, np.integer)):
        shape = [shape]
    if not isinstance(shape, (list, tuple)):
        raise TypeError(f"{fn}: shape must be a list, tuple or Tensor. Received: {type(shape).__name__}.")
    if any(_is_value(d) for d in shape):
        return {"ShapeTensorList": [d if _is_value(d) else full([1], int(d), "int64") for d in shape]}, {}
    dims = [int(d) for d in shape]
    if any(d < -1 for d in dims):
        raise ValueError(f"{fn}: shape {dims} has negative dims.")
    return {}, {"shape": dims}


def _fill(shape, value, dtype, fn):
    dt = convert_dtype(dtype)
    ins, attrs = _shape_args(shape, fn)
    if _is_value(value):
        ins["ValueTensor"] = value
        attrs.update(dtype=dt.proto)
        return run_op("fill_constant", ins, attrs)["Out"]
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or dt.name == "bool":
        fv, sv = float(bool(value)), ("1" if value else "0")
    elif dt.name in ("int8", "int16", "int32", "int64", "uint8") and float(value).is_integer():
        fv, sv = float(int(value)), str(int(value))
    else:
        fv = float(value)
        sv = repr(fv) if np.isfinite(fv) else ("inf" if fv > 0 else "-inf" if fv < 0 else "nan")
    attrs.update(dtype=dt.proto, value=fv, str_value=sv)
    return run_op("fill_constant", ins, attrs)["Out"]


def full(shape, fill_value, dtype=None, name=None):
    """A Tensor of ``shape`` filled with ``fill_value`` (op ``fill_constant``; dtype default float32).

    Example:
        >>> import sampan as paddle
        >>> paddle.full([2], 7, dtype='int64').numpy()
        array([7, 7])
    """
    return _fill(shape, fill_value, dtype, "full")


def zeros(shape, dtype=None, name=None):
    """A Tensor of zeros (op ``fill_constant``; dtype default float32)."""
    return _fill(shape, 0.0, dtype, "zeros")


def ones(shape, dtype=None, name=None):
    """A Tensor of ones (op ``fill_constant``; dtype default float32)."""
    return _fill(shape, 1.0, dtype, "ones")


def empty(shape, dtype=None, name=None):
    """An uninitialised Tensor (op ``empty``; sampan zero-fills)."""
    ins, attrs = _shape_args(shape, "empty")
    attrs["dtype"] = convert_dtype(dtype).proto
    return run_op("empty", ins, attrs)["Out"]


def full_like(x, fill_value, dtype=None, name=None):
    """A Tensor shaped like ``x`` filled with ``fill_value`` (op ``fill_any_like``)."""
    return run_op("fill_any_like", {"X": x}, {"value": float(fill_value),
                                              "dtype": -1 if dtype is None else convert_dtype(dtype).proto})["Out"]


def zeros_like(x, dtype=None, name=None):
    return full_like(x, 0.0, dtype)


def ones_like(x, dtype=None, name=None):
    return full_like(x, 1.0, dtype)


def empty_like(x, dtype=None, name=None):
    return full_like(x, 0.0, dtype)


def _const(v, dtype):
    return v if _is_value(v) else full([], v, dtype)


def arange(start=0, end=None, step=1, dtype=None, name=None):
    """``[start, end)`` in steps of ``step`` (op ``range``); int64 unless an argument is a float.

    Example:
        >>> import sampan as paddle
        >>> paddle.arange(3).numpy()
        array([0, 1, 2])
    """
    if end is None:
        start, end = 0, start
    if dtype is None:
        vals = (start, end, step)
        if any(isinstance(v, float) for v in vals) or any(
                _is_value(v) and v.dtype is not None and v.dtype.is_floating_point for v in vals):
            dtype = state.default_dtype()
        else:
            dtype = "int64"
    dt = convert_dtype(dtype)
    s, e, st = (_const(v, dt) for v in (start, end, step))
    return run_op("range", {"Start": s, "End": e, "Step": st})["Out"]


def linspace(start, stop, num, dtype=None, name=None):
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive (op ``linspace``)."""
    dt = convert_dtype(dtype)
    cdt = dt if dt.is_floating_point else convert_dtype("float64")
    return run_op("linspace", {"Start": _const(start, cdt), "Stop": _const(stop, cdt),
                               "Num": _const(num, "int32")}, {"dtype": dt.proto})["Out"]


def eye(num_rows, num_columns=None, dtype=None, name=None):
    """The identity matrix (op ``eye``)."""
    return run_op("eye", {}, {"num_rows": int(num_rows), "num_columns": -1 if num_columns is None else int(num_columns),
                              "dtype": convert_dtype(dtype).proto})["Out"]


_VALUE_ATTR = {"bool": "bool_values", "int32": "int32_values", "int64": "int64_values", "float32": "fp32_values",
               "float64": "fp64_values"}


def assign(x, output=None):
    """Copy ``x`` (a Tensor: op ``assign``; a NumPy array, list or number: op ``assign_value``).
    With ``output`` the result is written into that Tensor."""
    if _is_value(x):
        out = run_op("assign", {"X": x})["Out"]
    else:
        arr = np.asarray(x.numpy() if isinstance(x, Tensor) else x)
        if arr.dtype.kind == "f" and (arr.dtype != np.float64 or not isinstance(x, np.ndarray)):
            arr = arr.astype(np.float32)  # Python floats: float32, as Paddle
        elif arr.dtype.kind in "iu" and arr.dtype != np.int32:
            arr = arr.astype(np.int64)
        dt = convert_dtype(arr.dtype)
        key = _VALUE_ATTR.get(dt.name)
        if key is None:
            raise TypeError(f"assign: dtype {dt.name} is not supported (bool, int32, int64, float32, float64).")
        vals = arr.reshape(-1).tolist()
        if dt.name == "bool":
            vals = [int(v) for v in vals]
        out = run_op("assign_value", {}, {"shape": list(arr.shape), "dtype": dt.proto, key: vals})["Out"]
    if output is not None:
        output.set_value(out) if isinstance(output, Tensor) else None
        return output
    return out


def clone(x, name=None):
    """A copy of ``x`` that stays in the autograd graph (op ``assign``)."""
    return run_op("assign", {"X": x})["Out"]


def tril(x, diagonal=0, name=None):
    """Lower triangle of the last two dims (op ``tril_triu``)."""
    return run_op("tril_triu", {"X": x}, {"diagonal": int(diagonal), "lower": True})["Out"]


def triu(x, diagonal=0, name=None):
    """Upper triangle of the last two dims (op ``tril_triu``)."""
    return run_op("tril_triu", {"X": x}, {"diagonal": int(diagonal), "lower": False})["Out"]


def meshgrid(*args, **kwargs):
    """Coordinate grids from 1-D Tensors (``indexing='ij'``), built with reshape and expand."""
    from .manipulation import reshape, expand
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = tuple(args[0])
    n = len(args)
    shape = [a.shape[0] for a in args]
    return [expand(reshape(a, [-1 if j == i else 1 for j in range(n)]), shape) for i, a in enumerate(args)]


def diag(x, offset=0, padding_value=0, name=None):
    """A diagonal matrix from a 1-D Tensor, or the ``offset`` diagonal of a 2-D one (built from ops)."""
    from .math import multiply, sum as sum_
    from .manipulation import unsqueeze, slice as slice_, _pad_constant
    k = int(offset)
    if len(x.shape) == 1:
        n = x.shape[0] + abs(k)
        mask = cast_to(assign(np.eye(n, n, k=k).astype(np.float32)), x.dtype)
        v = _pad_constant(x, [0, abs(k)], 0.0) if k else x
        out = multiply(mask, unsqueeze(v, 1) if k >= 0 else unsqueeze(v, 0))
        if padding_value:
            from .search import where
            out = where(assign(np.eye(n, n, k=k).astype(bool)), out, full([n, n], padding_value, x.dtype))
        return out
    rows, cols = x.shape
    d = sum_(multiply(x, cast_to(assign(np.eye(rows, cols, k=k).astype(np.float32)), x.dtype)),
             axis=1 if k >= 0 else 0)
    length = max(min(rows, cols - k) if k >= 0 else min(rows + k, cols), 0)
    return slice_(d, [0], [0], [length])


def cast_to(t, dtype):
    from .math import cast
    return t if t.dtype == convert_dtype(dtype) else cast(t, dtype)


def diagflat(x, offset=0, name=None):
    from .manipulation import flatten
    return diag(flatten(x), offset)


_ = numbers
