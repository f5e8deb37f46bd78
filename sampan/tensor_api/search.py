"""Search and sort (``paddle.argmax``, ``topk``, ``where``, ``nonzero``, ``sort``, ``index_select``, ...)."""
from __future__ import annotations

from ..core.dispatch import run_op
from ..core.dtype import convert_dtype
from .math import _operands, _is_value

__all__ = ["argmax", "argmin", "topk", "where", "nonzero", "index_select", "masked_select", "sort", "argsort"]


def _arg(op_type, x, axis, keepdim, dtype):
    attrs = {"keepdims": bool(keepdim), "dtype": convert_dtype(dtype).proto}
    if axis is None:
        attrs.update(flatten=True, axis=0)
    else:
        attrs.update(flatten=False, axis=int(axis))
    return run_op(op_type, {"X": x}, attrs)["Out"]


def argmax(x, axis=None, keepdim=False, dtype="int64", name=None):
    """Index of the maximum along ``axis`` (of the flattened input when None; op ``arg_max``).

    Example:
        >>> import sampan as paddle
        >>> paddle.argmax(paddle.to_tensor([[1.0, 3.0], [5.0, 2.0]]), axis=1).numpy()
        array([1, 0])
    """
    return _arg("arg_max", x, axis, keepdim, dtype)


def argmin(x, axis=None, keepdim=False, dtype="int64", name=None):
    """Index of the minimum along ``axis`` (op ``arg_min``)."""
    return _arg("arg_min", x, axis, keepdim, dtype)


def topk(x, k, axis=None, largest=True, sorted=True, name=None):
    """The ``k`` largest (``largest``) or smallest values along ``axis`` and their indices (op ``top_k_v2``)."""
    ins = {"X": x}
    attrs = {"axis": -1 if axis is None else int(axis), "largest": bool(largest), "sorted": bool(sorted)}
    if _is_value(k):
        ins["K"] = k
    else:
        attrs["k"] = int(k)
    r = run_op("top_k_v2", ins, attrs)
    return r["Out"], r["Indices"]


def where(condition, x=None, y=None, name=None):
    """``x`` where ``condition`` else ``y`` (op ``where``); with only ``condition``, ``nonzero(as_tuple=True)``."""
    if x is None and y is None:
        return nonzero(condition, as_tuple=True)
    if not _is_value(x) and not _is_value(y):
        from .creation import to_tensor
        x = to_tensor(x)
    x, y = _operands(x, y)
    if list(x.shape) != list(y.shape) or list(condition.shape) != list(x.shape):
        from .manipulation import broadcast_tensors
        condition, x, y = broadcast_tensors([condition, x, y])
    return run_op("where", {"Condition": condition, "X": x, "Y": y})["Out"]


def nonzero(x, as_tuple=False):
    """Coordinates of the non-zero entries: int64 [N, rank] (op ``where_index``), or one 1-D Tensor per dim."""
    if x.dtype is None or x.dtype.name != "bool":
        from .logic import not_equal
        x = not_equal(x, 0)
    out = run_op("where_index", {"Condition": x})["Out"]
    if not as_tuple:
        return out
    from .manipulation import unstack
    nd = len(x.shape)
    if nd == 0:
        return (out,)
    return tuple(unstack(out, axis=1, num=nd))


def index_select(x, index, axis=0, name=None):
    """``x`` indexed by the 1-D ``index`` along ``axis`` (op ``index_select``)."""
    return run_op("index_select", {"X": x, "Index": index}, {"dim": int(axis)})["Out"]


def masked_select(x, mask, name=None):
    """The entries of ``x`` where ``mask`` is true, as a 1-D Tensor (op ``masked_select``)."""
    return run_op("masked_select", {"X": x, "Mask": mask})["Y"]


def sort(x, axis=-1, descending=False, stable=False, name=None):
    """Sorted values along ``axis`` (op ``argsort``)."""
    return run_op("argsort", {"X": x}, {"axis": int(axis), "descending": bool(descending)})["Out"]


def argsort(x, axis=-1, descending=False, stable=False, name=None):
    """Indices that sort ``x`` along ``axis`` (op ``argsort``)."""
    return run_op("argsort", {"X": x}, {"axis": int(axis), "descending": bool(descending)})["Indices"]
