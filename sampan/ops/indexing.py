"""Indexing ops: slice, strided_slice, gather, gather_nd, scatter, index_select, where, where_index,
masked_select, take_along_axis, one_hot_v2 and set_value (``Tensor.__setitem__``).

``slice`` / ``strided_slice`` follow Paddle's clamping: negative starts/ends count from the end,
out-of-range values are clamped, and for a negative stride an end of -1 means "through index 0"
(how Paddle encodes ``x[::-1]``).
"""
from __future__ import annotations

import numpy as np

from .registry import op
from ..core.dtype import BY_NAME, BY_PROTO

_INT64 = BY_NAME["int64"]


def _vals(ins, tensor_slot, list_slot, attr):
    t = ins.get(tensor_slot)
    if t is not None:
        return [int(v) for v in np.asarray(t).reshape(-1)]
    lst = ins.get(list_slot)
    if lst:
        return [int(np.asarray(v).reshape(-1)[0]) for v in lst]
    return [int(v) for v in attr]


def _norm(a, nd):
    return a + nd if a < 0 else a


def _slice_index(shape, axes, starts, ends, strides=None):
    idx = [slice(None)] * len(shape)
    for i, ax in enumerate(axes):
        ax = _norm(ax, len(shape))
        n = shape[ax]
        st = strides[i] if strides is not None else 1
        s, e = starts[i], ends[i]
        if st == 0:
            raise ValueError("strided_slice: a stride of 0 is not allowed.")
        if st > 0:
            s = min(max(s + n if s < 0 else s, 0), n)
            e = min(max(e + n if e < 0 else e, 0), n)
            idx[ax] = slice(s, max(e, s), st)
        else:
            s = min(s + n if s < 0 else s, n - 1)
            if e == -1:  # Paddle's encoding of "through index 0"
                e = None
            else:
                e = e + n if e < 0 else e
                e = None if e < 0 else min(e, n - 1)
            idx[ax] = slice(0, 0) if s < 0 else slice(s, e, st)
    return tuple(idx)


def _decrease(out, decrease_axis):
    if not decrease_axis:
        return out
    nd = out.ndim
    dec = {_norm(a, nd) for a in decrease_axis}
    for a in dec:
        if out.shape[a] != 1:
            raise ValueError(f"decrease_axis {a} has size {out.shape[a]}, expected 1.")
    return out.reshape([d for i, d in enumerate(out.shape) if i not in dec])


_SLICE_ATTRS = {"axes": ("ints", []), "starts": ("ints", []), "ends": ("ints", []),
                "infer_flags": ("ints", []), "decrease_axis": ("ints", [])}


@op("slice", "Input StartsTensor? EndsTensor? StartsTensorList*? EndsTensorList*?", "Out", _SLICE_ATTRS,
    no_grad="StartsTensor EndsTensor StartsTensorList EndsTensorList")
def slice_op(ins, attrs):
    """Input[starts:ends] along ``axes``; dims in ``decrease_axis`` (size 1) are removed."""
    x = ins["Input"]
    starts = _vals(ins, "StartsTensor", "StartsTensorList", attrs["starts"])
    ends = _vals(ins, "EndsTensor", "EndsTensorList", attrs["ends"])
    out = x[_slice_index(x.shape, attrs["axes"], starts, ends)]
    return {"Out": _decrease(out, attrs["decrease_axis"])}


@slice_op.grad
def _slice_grad(ctx):
    x = ctx.x("Input")
    starts = _vals(ctx.ins, "StartsTensor", "StartsTensorList", ctx.attrs["starts"])
    ends = _vals(ctx.ins, "EndsTensor", "EndsTensorList", ctx.attrs["ends"])
    idx = _slice_index(x.shape, ctx.attrs["axes"], starts, ends)
    gx = np.zeros_like(x)
    gx[idx] = ctx.dout("Out").reshape(gx[idx].shape)
    return {"Input": gx}


_SSLICE_ATTRS = dict(_SLICE_ATTRS, strides=("ints", []))


def _sslice_index(ins, attrs, shape):
    starts = _vals(ins, "StartsTensor", "StartsTensorList", attrs["starts"])
    ends = _vals(ins, "EndsTensor", "EndsTensorList", attrs["ends"])
    strides = _vals(ins, "StridesTensor", "StridesTensorList", attrs["strides"])
    return _slice_index(shape, attrs["axes"], starts, ends, strides)


@op("strided_slice", "Input StartsTensor? EndsTensor? StridesTensor? StartsTensorList*? EndsTensorList*? "
    "StridesTensorList*?", "Out", _SSLICE_ATTRS,
    no_grad="StartsTensor EndsTensor StridesTensor StartsTensorList EndsTensorList StridesTensorList")
def strided_slice(ins, attrs):
    """Input[starts:ends:strides] along ``axes``; ``decrease_axis`` dims are removed."""
    x = ins["Input"]
    out = x[_sslice_index(ins, attrs, x.shape)]
    return {"Out": _decrease(out, attrs["decrease_axis"])}


@strided_slice.grad
def _strided_slice_grad(ctx):
    x = ctx.x("Input")
    idx = _sslice_index(ctx.ins, ctx.attrs, x.shape)
    gx = np.zeros_like(x)
    gx[idx] = ctx.dout("Out").reshape(gx[idx].shape)
    return {"Input": gx}


# ---------------------------------------------------------------------------- gather family
def _check_index(idx, n, op_name, x_shape, axis):
    if idx.dtype.kind not in "iu":
        raise ValueError(f"{op_name}: Index must be an integer tensor, received {idx.dtype}.")
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise ValueError(f"{op_name}: Index values must be in [{-n}, {n}) for X of shape {list(x_shape)} "
                         f"along axis {axis}; received min {idx.min()}, max {idx.max()}.")


def _gather_axis(ins, attrs):
    t = ins.get("Axis")
    return int(np.asarray(t).reshape(-1)[0]) if t is not None else int(attrs["axis"])


@op("gather", "X Index Axis?", "Out", {"axis": ("int", 0)}, no_grad="Index Axis")
def gather(ins, attrs):
    """Rows of X selected by the 1-D (or 0-D) ``Index`` along ``axis``."""
    x, idx = ins["X"], ins["Index"]
    ax = _norm(_gather_axis(ins, attrs), x.ndim)
    _check_index(idx, x.shape[ax], "gather", x.shape, ax)
    return {"Out": np.take(x, idx, axis=ax)}


@gather.grad
def _gather_grad(ctx):
    x, idx = ctx.x("X"), ctx.x("Index")
    ax = _norm(_gather_axis(ctx.ins, ctx.attrs), x.ndim)
    g = ctx.dout("Out")
    gx = np.zeros_like(x)
    if ax == 0:
        np.add.at(gx, idx, g)
    else:
        np.add.at(np.moveaxis(gx, ax, 0), idx, np.moveaxis(g, ax, 0) if idx.ndim else g)
    return {"X": gx}


@op("index_select", "X Index", "Out", {"dim": ("int", 0)}, no_grad="Index")
def index_select(ins, attrs):
    """X indexed by the 1-D ``Index`` along ``dim``."""
    x, idx = ins["X"], ins["Index"]
    ax = _norm(attrs["dim"], x.ndim)
    _check_index(idx, x.shape[ax], "index_select", x.shape, ax)
    return {"Out": np.take(x, idx, axis=ax)}


@index_select.grad
def _index_select_grad(ctx):
    x, idx = ctx.x("X"), ctx.x("Index")
    ax = _norm(ctx.attrs["dim"], x.ndim)
    gx = np.zeros_like(x)
    np.add.at(np.moveaxis(gx, ax, 0), idx, np.moveaxis(ctx.dout("Out"), ax, 0))
    return {"X": gx}


def _nd_index(x, idx, op_name):
    k = idx.shape[-1] if idx.ndim else 0
    if k > x.ndim:
        raise ValueError(f"{op_name}: Index last dim {k} exceeds the rank of X {list(x.shape)}.")
    for i in range(k):
        col = idx[..., i]
        if col.size and (col.min() < -x.shape[i] or col.max() >= x.shape[i]):
            raise ValueError(f"{op_name}: Index[..., {i}] out of range for X dim {i} of size {x.shape[i]}.")
    return tuple(idx[..., i] for i in range(k))


@op("gather_nd", "X Index", "Out", no_grad="Index")
def gather_nd(ins, attrs):
    """Out[i...] = X[Index[i..., 0], ..., Index[i..., k-1]] (trailing dims of X kept)."""
    x, idx = ins["X"], ins["Index"]
    t = _nd_index(x, idx, "gather_nd")
    if not t:
        return {"Out": np.broadcast_to(x, idx.shape[:-1] + x.shape).copy()}
    return {"Out": np.asarray(x[t])}


@gather_nd.grad
def _gather_nd_grad(ctx):
    x, idx = ctx.x("X"), ctx.x("Index")
    g = ctx.dout("Out")
    t = _nd_index(x, idx, "gather_nd")
    if not t:
        return {"X": g.reshape((-1,) + x.shape).sum(0)}
    gx = np.zeros_like(x)
    np.add.at(gx, t, g)
    return {"X": gx}


@op("scatter", "X Ids Updates", "Out", {"overwrite": ("bool", True)}, no_grad="Ids")
def scatter(ins, attrs):
    """Out = X with rows ``Ids`` replaced by (``overwrite``) or summed from ``Updates``."""
    x, ids, upd = ins["X"], ins["Ids"].reshape(-1), ins["Updates"]
    _check_index(ids, x.shape[0], "scatter", x.shape, 0)
    out = x.copy()
    if attrs["overwrite"]:
        out[ids] = upd
    else:
        out[ids] = 0
        np.add.at(out, ids, upd)
    return {"Out": out}


@scatter.grad
def _scatter_grad(ctx):
    ids = ctx.x("Ids").reshape(-1)
    g = ctx.dout("Out")
    res = {}
    if ctx.needs("X"):
        gx = g.copy()
        gx[ids] = 0
        res["X"] = gx
    if ctx.needs("Updates"):
        res["Updates"] = g[ids]
    return res


@op("take_along_axis", "Input Index", "Result", {"Axis": ("int", 0)}, no_grad="Index")
def take_along_axis(ins, attrs):
    """Result = Input picked by ``Index`` along ``Axis`` (as numpy.take_along_axis)."""
    return {"Result": np.take_along_axis(ins["Input"], ins["Index"], axis=attrs["Axis"])}


@take_along_axis.grad
def _take_along_axis_grad(ctx):
    x = ctx.x("Input")
    gx = np.zeros_like(x)
    ax = _norm(ctx.attrs["Axis"], x.ndim)
    idx = ctx.x("Index")
    full = np.indices(idx.shape, sparse=True)
    full = list(full)
    full[ax] = idx
    np.add.at(gx, tuple(full), ctx.dout("Result"))
    return {"Input": gx}


# ---------------------------------------------------------------------------- where / masks
@op("where", "Condition X Y", "Out", no_grad="Condition")
def where(ins, attrs):
    """Out = X where Condition else Y (broadcasting)."""
    return {"Out": np.asarray(np.where(ins["Condition"], ins["X"], ins["Y"]))}


@where.grad
def _where_grad(ctx):
    from ._util import unbroadcast
    c, g = ctx.x("Condition"), ctx.dout("Out")
    res = {}
    if ctx.needs("X"):
        res["X"] = unbroadcast(np.where(c, g, 0), ctx.x("X").shape)
    if ctx.needs("Y"):
        res["Y"] = unbroadcast(np.where(c, 0, g), ctx.x("Y").shape)
    return res


@op("where_index", "Condition", "Out")
def where_index(ins, attrs):
    """Coordinates of the true entries of Condition: int64 [N, rank] (``paddle.nonzero``)."""
    c = np.asarray(ins["Condition"])
    return {"Out": np.argwhere(c).astype(np.int64)}


@where_index.meta
def _where_index_meta(metas, attrs):
    (shape, _), = metas["Condition"]
    return {"Out": ([-1, len(shape or [])], _INT64)}


@op("masked_select", "X Mask", "Y", no_grad="Mask")
def masked_select(ins, attrs):
    """The entries of X where Mask (broadcast to X) is true, as a 1-D tensor."""
    x, m = ins["X"], ins["Mask"]
    m = np.broadcast_to(m, np.broadcast_shapes(x.shape, m.shape))
    return {"Y": np.broadcast_to(x, m.shape)[m]}


@masked_select.meta
def _masked_select_meta(metas, attrs):
    (_, dtype), = metas["X"]
    return {"Y": ([-1], dtype)}


@masked_select.grad
def _masked_select_grad(ctx):
    from ._util import unbroadcast
    x, m = ctx.x("X"), ctx.x("Mask")
    shape = np.broadcast_shapes(x.shape, m.shape)
    g = np.zeros(shape, dtype=x.dtype)
    g[np.broadcast_to(m, shape)] = ctx.dout("Y")
    return {"X": unbroadcast(g, x.shape)}


@op("one_hot_v2", "X depth_tensor?", "Out", {"depth": ("int", -1), "dtype": ("int", 5),
                                             "allow_out_of_range": ("bool", False)}, no_grad="X depth_tensor")
def one_hot_v2(ins, attrs):
    """One-hot encoding of the int tensor X with ``depth`` classes (appended as the last dim)."""
    x = ins["X"]
    d = ins.get("depth_tensor")
    depth = int(np.asarray(d).reshape(-1)[0]) if d is not None else int(attrs["depth"])
    bad = (x < 0) | (x >= depth)
    if bad.any() and not attrs["allow_out_of_range"]:
        raise ValueError(f"one_hot_v2: X values must be in [0, {depth}); received min {x.min()}, max {x.max()}.")
    out = np.zeros(x.shape + (depth,), dtype=BY_PROTO[attrs["dtype"]].np)
    xi = np.where(bad, 0, x)
    np.put_along_axis(out, xi[..., None], 1, axis=-1)
    if bad.any():
        out[bad] = 0
    return {"Out": out}


@one_hot_v2.meta
def _one_hot_v2_meta(metas, attrs):
    (shape, _), = metas["X"]
    depth = -1 if metas.get("depth_tensor") else attrs["depth"]
    return {"Out": (list(shape) + [depth], BY_PROTO[attrs["dtype"]])}


# ---------------------------------------------------------------------------- set_value
_SET_VALUE_ATTRS = {
    "axes": ("longs", []), "starts": ("longs", []), "ends": ("longs", []), "steps": ("longs", []),
    "decrease_axes": ("longs", []), "none_axes": ("longs", []), "dtype": ("int", 5), "shape": ("longs", []),
    "bool_values": ("ints", []), "fp32_values": ("floats", []), "int32_values": ("ints", []),
    "int64_values": ("longs", []), "fp64_values": ("float64s", []),
}


def _set_value_src(ins, attrs, dtype):
    v = ins.get("ValueTensor")
    if v is not None:
        return v
    for key in ("fp32_values", "fp64_values", "int32_values", "int64_values", "bool_values"):
        vals = attrs.get(key)
        if vals:
            return np.asarray(vals).astype(dtype).reshape(attrs["shape"] or [-1])
    return np.zeros([], dtype=dtype)


def _set_value_index(ins, attrs, shape):
    starts = _vals(ins, "StartsTensorList", "StartsTensorList", attrs["starts"])
    ends = _vals(ins, "EndsTensorList", "EndsTensorList", attrs["ends"])
    steps = _vals(ins, "StepsTensorList", "StepsTensorList", attrs["steps"]) or [1] * len(starts)
    return _slice_index(shape, attrs["axes"], starts, ends, steps)


def _set_value_region(ins, attrs, shape):
    """The index of the assigned region; decreased axes become ints so NumPy drops them."""
    idx = list(_set_value_index(ins, attrs, shape))
    for a in attrs["decrease_axes"]:
        a = _norm(a, len(shape))
        sl = idx[a]
        if sl.stop is not None and sl.stop - sl.start == 1:
            idx[a] = sl.start
    return tuple(idx)


@op("set_value", "Input ValueTensor? StartsTensorList*? EndsTensorList*? StepsTensorList*?", "Out",
    _SET_VALUE_ATTRS, no_grad="StartsTensorList EndsTensorList StepsTensorList")
def set_value(ins, attrs):
    """Out = Input with Input[starts:ends:steps] (along ``axes``) set to ValueTensor or the attr values
    (broadcast to the region, whose ``decrease_axes`` are dropped)."""
    x = ins["Input"]
    idx = _set_value_region(ins, attrs, x.shape)
    out = x.copy()
    v = np.asarray(_set_value_src(ins, attrs, x.dtype))
    region_shape = out[idx].shape
    if v.size == int(np.prod(region_shape)) and v.shape != region_shape and v.ndim != len(region_shape):
        v = v.reshape(region_shape)
    out[idx] = v
    return {"Out": out}


@set_value.grad
def _set_value_grad(ctx):
    from ._util import unbroadcast
    x = ctx.x("Input")
    idx = _set_value_region(ctx.ins, ctx.attrs, x.shape)
    g = ctx.dout("Out")
    res = {}
    if ctx.needs("Input"):
        gx = g.copy()
        gx[idx] = 0
        res["Input"] = gx
    v = ctx.x("ValueTensor")
    if ctx.needs("ValueTensor") and v is not None:
        gv = np.asarray(g[idx])
        if gv.shape != v.shape:
            same = gv.size == v.size and gv.ndim != v.ndim  # the forward reshaped V to the region
            gv = gv.reshape(v.shape) if same or gv.ndim < v.ndim else unbroadcast(gv, v.shape)
        res["ValueTensor"] = gv
    return res
