"""Tensor creation (``paddle.to_tensor``, ``zeros``, ``ones``, ``full``, ``arange``, ``randn`` ...)."""
from __future__ import annotations

import numpy as np

from ..core.tensor import Tensor
from ..core.dtype import convert_dtype
from ..core import state

__all__ = ["to_tensor"]


def _infer_array(data, dtype):
    if isinstance(data, Tensor):
        arr = data.numpy()
        if dtype is None:
            dtype = data.dtype
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
            data = [d.numpy() if isinstance(d, Tensor) else d for d in data]
        arr = np.array(data)
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
