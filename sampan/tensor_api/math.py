"""Elementwise math, matmul and friends (``paddle.add``, ``paddle.matmul``, ...)."""
from __future__ import annotations

import numpy as np

from ..core.dispatch import run_op
from ..core.tensor import Tensor
from ..core.dtype import convert_dtype

__all__ = ["add", "matmul"]


def _as_tensor_like(v, ref):
    """Python scalars / arrays used with a Tensor become Tensors of ``ref``'s dtype
    (Paddle keeps the Tensor's dtype for scalar operands)."""
    if isinstance(v, Tensor) or hasattr(v, "block"):
        return v
    dt = ref.dtype if ref.dtype is not None else convert_dtype("float32")
    arr = np.asarray(v)
    if arr.dtype.kind == "f" or dt.is_floating_point or arr.dtype.kind == "b" or arr.ndim == 0:
        arr = arr.astype(dt.np)
    return Tensor._wrap(arr)


def add(x, y, name=None):
    """``x + y`` with broadcasting (op ``elementwise_add``)."""
    y = _as_tensor_like(y, x)
    x = _as_tensor_like(x, y)
    return run_op("elementwise_add", {"X": x, "Y": y}, {"axis": -1})["Out"]


def matmul(x, y, transpose_x=False, transpose_y=False, name=None):
    """Matrix product (op ``matmul_v2``)."""
    return run_op("matmul_v2", {"X": x, "Y": y}, {"trans_x": transpose_x, "trans_y": transpose_y})["Out"]
