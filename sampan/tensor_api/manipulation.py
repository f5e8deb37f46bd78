"""Shape manipulation and indexing (``paddle.reshape``, ``concat``, ``split``, ``gather``, ``Tensor[...]``, ...).

``getitem`` lowers Python indexing to ops (``slice`` / ``strided_slice`` with ``decrease_axis``,
``gather`` / ``gather_nd`` / ``where_index`` for Tensor indices, ``unsqueeze2`` for ``None``) so
it works on static Variables and carries gradients. ``setitem`` (``Tensor.__setitem__``) is eager
only and uses ``set_value``.
"""
from __future__ import annotations

import builtins

import numpy as np

from ..core.dispatch import run_op
from ..core.tensor import Tensor, _MathMixin
from ..core.dtype import convert_dtype

__all__ = [
    "reshape", "reshape_", "transpose", "flatten", "flatten_", "squeeze", "squeeze_", "unsqueeze", "unsqueeze_",
    "concat", "split", "chunk", "stack", "unstack", "unbind", "expand", "expand_as", "broadcast_to",
    "broadcast_tensors", "broadcast_shape", "tile", "slice", "strided_slice", "gather", "gather_nd", "scatter",
    "flip", "reverse", "roll", "shape", "take_along_axis", "moveaxis", "repeat_interleave", "getitem",
    "setitem", "rot90",
]

MAX_INTEGER = 2**31 - 1


def _is_value(v):
    return isinstance(v, _MathMixin)


def _int_list(v, fn, what):
    if isinstance(v, (int, np.integer)):
        return [int(v)]
    if isinstance(v, (list, tuple)):
        return [int(a) for a in v]
    raise TypeError(f"{fn}: {what} must be an int or a list of ints. Received: {v!r}.")


def _tensor_list_or_attr(values, fn):
    """A list that may hold 1-element Tensors -> (tensor list or None, attr list with -1 placeholders)."""
    if _is_value(values):
        return values, None
    values = list(values) if isinstance(values, (list, tuple)) else [values]
    if any(_is_value(v) for v in values):
        from .creation import full
        return [v if _is_value(v) else full([1], int(v), "int64") for v in values], None
    return None, [int(v) for v in values]


# ---------------------------------------------------------------------------- reshape family
def reshape(x, shape, name=None):
    """Reshape ``x`` (op ``reshape2``): 0 copies the input dim, -1 is inferred; ``shape`` may be a
    Tensor or hold 1-element Tensors.

    Example:
        >>> import sampan as paddle
        >>> paddle.reshape(paddle.zeros([2, 3]), [0, -1, 1]).shape
        [2, 3, 1]
    """
    if _is_value(shape):
        return run_op("reshape2", {"X": x, "Shape": shape})["Out"]
    if isinstance(shape, (int, np.integer)):
        shape = [shape]
    if any(_is_value(d) for d in shape):
        lst, _ = _tensor_list_or_attr(shape, "reshape")
        return run_op("reshape2", {"X": x, "ShapeTensor": lst},
                      {"shape": [-1 if _is_value(d) else int(d) for d in shape]})["Out"]
    return run_op("reshape2", {"X": x}, {"shape": [int(d) for d in shape]})["Out"]


def transpose(x, perm, name=None):
    """Permute dims (op ``transpose2``)."""
    return run_op("transpose2", {"X": x}, {"axis": _int_list(perm, "transpose", "perm")})["Out"]


def moveaxis(x, source, destination, name=None):
    """Move dims ``source`` to positions ``destination``."""
    nd = len(x.shape)
    src = [s % nd for s in _int_list(source, "moveaxis", "source")]
    dst = [d % nd for d in _int_list(destination, "moveaxis", "destination")]
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


def flatten(x, start_axis=0, stop_axis=-1, name=None):
    """Merge dims ``start_axis..stop_axis`` (op ``flatten_contiguous_range``)."""
    return run_op("flatten_contiguous_range", {"X": x},
                  {"start_axis": int(start_axis), "stop_axis": int(stop_axis)})["Out"]


def squeeze(x, axis=None, name=None):
    """Remove size-1 dims (all when ``axis`` is None; op ``squeeze2``)."""
    axes = [] if axis is None else _int_list(axis, "squeeze", "axis")
    return run_op("squeeze2", {"X": x}, {"axes": axes})["Out"]


def unsqueeze(x, axis, name=None):
    """Insert size-1 dims at ``axis`` (op ``unsqueeze2``); ``axis`` may be a Tensor."""
    if _is_value(axis):
        return run_op("unsqueeze2", {"X": x, "AxesTensor": axis})["Out"]
    if isinstance(axis, (list, tuple)) and any(_is_value(a) for a in axis):
        lst, _ = _tensor_list_or_attr(axis, "unsqueeze")
        return run_op("unsqueeze2", {"X": x, "AxesTensorList": lst})["Out"]
    return run_op("unsqueeze2", {"X": x}, {"axes": _int_list(axis, "unsqueeze", "axis")})["Out"]


def _alias(x):
    """A new Python object standing for ``x``'s current value and graph position (for in-place ops)."""
    if not isinstance(x, Tensor):
        return x
    t = Tensor._wrap(x._data, x._node, x._slot, x._idx, x.stop_gradient)
    t._dtype = x._dtype
    return t


def _rebind(x, out, fn):
    """Make ``x`` take the value and graph position of ``out`` (Paddle's in-place ops)."""
    if not isinstance(x, Tensor):
        return out
    if x._node is None and not x.stop_gradient and out._node is not None:
        raise RuntimeError(f"{fn}: Leaf Tensor {x.name} that doesn't stop gradient can't use inplace strategy "
                           "(it would overwrite the value its gradient is taken at). Use the out-of-place "
                           "function or detach() first.")
    x._data, x._node, x._slot, x._idx = out._data, out._node, out._slot, out._idx
    if out._node is not None:
        x.stop_gradient = False
    return x


def reshape_(x, shape, name=None):
    return _rebind(x, reshape(_alias(x), shape), "reshape_")


def flatten_(x, start_axis=0, stop_axis=-1, name=None):
    return _rebind(x, flatten(_alias(x), start_axis, stop_axis), "flatten_")


def squeeze_(x, axis=None, name=None):
    return _rebind(x, squeeze(_alias(x), axis), "squeeze_")


def unsqueeze_(x, axis, name=None):
    return _rebind(x, unsqueeze(_alias(x), axis), "unsqueeze_")


# ---------------------------------------------------------------------------- join / split
def concat(x, axis=0, name=None):
    """Join Tensors along ``axis`` (op ``concat``; ``axis`` may be a Tensor)."""
    xs = list(x)
    if _is_value(axis):
        return run_op("concat", {"X": xs, "AxisTensor": axis})["Out"]
    return run_op("concat", {"X": xs}, {"axis": int(axis)})["Out"]


def split(x, num_or_sections, axis=0, name=None):
    """Split along ``axis`` into ``num`` equal parts or parts of the given sizes (one may be -1; op ``split``).

    Example:
        >>> import sampan as paddle
        >>> [t.shape for t in paddle.split(paddle.zeros([2, 6]), [1, -1], axis=1)]
        [[2, 1], [2, 5]]
    """
    ins = {"X": x}
    attrs = {}
    if _is_value(axis):
        ins["AxisTensor"] = axis
    else:
        attrs["axis"] = int(axis)
    if isinstance(num_or_sections, (int, np.integer)):
        attrs["num"] = int(num_or_sections)
    else:
        secs = list(num_or_sections)
        if any(_is_value(s) for s in secs):
            ins["SectionsTensorList"], _ = _tensor_list_or_attr(secs, "split")
            attrs["sections"] = [-1] * len(secs)
        else:
            attrs["sections"] = [int(s) for s in secs]
    return run_op("split", ins, attrs)["Out"]


def chunk(x, chunks, axis=0, name=None):
    """Split into ``chunks`` equal parts along ``axis``."""
    return split(x, int(chunks), axis)


def stack(x, axis=0, name=None):
    """Stack same-shaped Tensors along a new ``axis`` (op ``stack``)."""
    return run_op("stack", {"X": list(x)}, {"axis": int(axis)})["Y"]


def unstack(x, axis=0, num=None, name=None):
    """The slices of ``x`` along ``axis`` (op ``unstack``)."""
    nd = len(x.shape)
    n = x.shape[axis % nd] if num is None else num
    return run_op("unstack", {"X": x}, {"axis": int(axis), "num": int(n)})["Y"]


def unbind(input, axis=0):
    """Same as ``unstack``."""
    return unstack(input, axis)


# ---------------------------------------------------------------------------- broadcast / tile
def expand(x, shape, name=None):
    """Broadcast to ``shape`` (-1 keeps a dim; op ``expand_v2``)."""
    if _is_value(shape):
        return run_op("expand_v2", {"X": x, "Shape": shape})["Out"]
    if isinstance(shape, (int, np.integer)):
        shape = [shape]
    if any(_is_value(d) for d in shape):
        lst, _ = _tensor_list_or_attr(shape, "expand")
        return run_op("expand_v2", {"X": x, "expand_shapes_tensor": lst},
                      {"shape": [-1 if _is_value(d) else int(d) for d in shape]})["Out"]
    return run_op("expand_v2", {"X": x}, {"shape": [int(d) for d in shape]})["Out"]


broadcast_to = expand


def expand_as(x, y, name=None):
    """Broadcast ``x`` to the shape of ``y`` (op ``expand_as_v2``)."""
    return run_op("expand_as_v2", {"X": x, "Y": y}, {"target_shape": list(y.shape)})["Out"]


def broadcast_shape(x_shape, y_shape):
    """The broadcast of two shapes (lists of ints)."""
    return list(np.broadcast_shapes(tuple(x_shape), tuple(y_shape)))


def broadcast_tensors(input, name=None):
    """Broadcast every Tensor of ``input`` to their common shape."""
    shape = list(input[0].shape)
    for t in input[1:]:
        shape = broadcast_shape(shape, t.shape)
    return [t if list(t.shape) == shape else expand(t, shape) for t in input]


def tile(x, repeat_times, name=None):
    """Repeat ``x`` along each dim (op ``tile``)."""
    if _is_value(repeat_times):
        return run_op("tile", {"X": x, "RepeatTimes": repeat_times})["Out"]
    if any(_is_value(r) for r in repeat_times):
        lst, _ = _tensor_list_or_attr(repeat_times, "tile")
        return run_op("tile", {"X": x, "repeat_times_tensor": lst},
                      {"repeat_times": [-1 if _is_value(r) else int(r) for r in repeat_times]})["Out"]
    return run_op("tile", {"X": x}, {"repeat_times": _int_list(repeat_times, "tile", "repeat_times")})["Out"]


def repeat_interleave(x, repeats, axis=None, name=None):
    """Repeat each element ``repeats`` times along ``axis`` (flattened when None); built on ``gather``."""
    from .creation import assign
    if axis is None:
        x, axis = flatten(x), 0
    n = x.shape[axis]
    reps = repeats.numpy() if isinstance(repeats, Tensor) else repeats
    idx = np.repeat(np.arange(n), reps)
    return gather(x, assign(idx.astype(np.int64)), axis)


# ---------------------------------------------------------------------------- slicing
def _slice_ins(slot_prefix, vals, ins, infer_flags):
    if _is_value(vals):
        ins[slot_prefix + "Tensor"] = vals
        infer_flags[:] = [-1] * len(infer_flags)
        return [-1] * len(infer_flags)
    vals = list(vals)
    if any(_is_value(v) for v in vals):
        ins[slot_prefix + "TensorList"], _ = _tensor_list_or_attr(vals, "slice")
        for i, v in enumerate(vals):
            if _is_value(v):
                infer_flags[i] = -1
        return [-1 if _is_value(v) else int(v) for v in vals]
    return [int(v) for v in vals]


def slice(input, axes, starts, ends):
    """``input[starts:ends]`` along ``axes`` (op ``slice``); starts/ends may hold Tensors."""
    axes = _int_list(axes, "slice", "axes")
    ins = {"Input": input}
    flags = [1] * len(axes)
    st = _slice_ins("Starts", starts, ins, flags)
    en = _slice_ins("Ends", ends, ins, flags)
    return run_op("slice", ins, {"axes": axes, "starts": st, "ends": en, "infer_flags": flags,
                                 "decrease_axis": []})["Out"]


def strided_slice(x, axes, starts, ends, strides, name=None):
    """``x[starts:ends:strides]`` along ``axes`` (op ``strided_slice``)."""
    axes = _int_list(axes, "strided_slice", "axes")
    ins = {"Input": x}
    flags = [1] * len(axes)
    st = _slice_ins("Starts", starts, ins, flags)
    en = _slice_ins("Ends", ends, ins, flags)
    sd = _slice_ins("Strides", strides, ins, flags)
    return run_op("strided_slice", ins, {"axes": axes, "starts": st, "ends": en, "strides": sd,
                                         "infer_flags": flags, "decrease_axis": []})["Out"]


# ---------------------------------------------------------------------------- gather / scatter
def gather(x, index, axis=None, name=None):
    """Rows of ``x`` at ``index`` along ``axis`` (op ``gather``)."""
    if _is_value(axis):
        return run_op("gather", {"X": x, "Index": index, "Axis": axis})["Out"]
    return run_op("gather", {"X": x, "Index": index}, {"axis": 0 if axis is None else int(axis)})["Out"]


def gather_nd(x, index, name=None):
    """``x`` at the coordinates in the last dim of ``index`` (op ``gather_nd``)."""
    return run_op("gather_nd", {"X": x, "Index": index})["Out"]


def scatter(x, index, updates, overwrite=True, name=None):
    """``x`` with rows ``index`` replaced by (or, without ``overwrite``, summed from) ``updates``."""
    return run_op("scatter", {"X": x, "Ids": index, "Updates": updates}, {"overwrite": bool(overwrite)})["Out"]


def take_along_axis(arr, indices, axis, broadcast=True):
    """``arr`` picked by ``indices`` along ``axis`` (op ``take_along_axis``)."""
    if broadcast and list(indices.shape) != list(arr.shape):
        shape = list(arr.shape)
        shape[axis] = indices.shape[axis]
        if list(indices.shape) != shape:
            indices = expand(indices, shape)
    return run_op("take_along_axis", {"Input": arr, "Index": indices}, {"Axis": int(axis)})["Result"]


def flip(x, axis, name=None):
    """Reverse along ``axis`` (op ``flip``)."""
    return run_op("flip", {"X": x}, {"axis": _int_list(axis, "flip", "axis")})["Out"]


reverse = flip


def rot90(x, k=1, axes=(0, 1), name=None):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``."""
    k %= 4
    a, b = axes
    if k == 0:
        return run_op("assign", {"X": x})["Out"]
    if k == 2:
        return flip(x, [a, b])
    perm = list(range(len(x.shape)))
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(flip(x, [b]), perm) if k == 1 else flip(transpose(x, perm), [b])


def roll(x, shifts, axis=None, name=None):
    """Roll elements by ``shifts`` along ``axis`` (op ``roll``; flattened when ``axis`` is None)."""
    if _is_value(shifts):
        return run_op("roll", {"X": x, "ShiftsTensor": shifts},
                      {"axis": [] if axis is None else _int_list(axis, "roll", "axis")})["Out"]
    return run_op("roll", {"X": x}, {"shifts": _int_list(shifts, "roll", "shifts"),
                                     "axis": [] if axis is None else _int_list(axis, "roll", "axis")})["Out"]


def shape(input):
    """The shape as a 1-D int32 Tensor (op ``shape``); works on static Variables with unknown dims."""
    return run_op("shape", {"Input": input})["Out"]


def _pad_constant(x, paddings, value=0.0):
    """Constant padding with ``paddings`` = [before_0, after_0, ...] for the leading dims (op ``pad``)."""
    p = list(paddings) + [0] * (2 * len(x.shape) - len(paddings))
    return run_op("pad", {"X": x}, {"paddings": [int(v) for v in p], "pad_value": float(value)})["Out"]


# ---------------------------------------------------------------------------- __getitem__
def _index_value(item):
    """Lists / arrays / NumPy ints in an index -> Python ints or Tensors."""
    if isinstance(item, (np.integer,)):
        return int(item)
    if isinstance(item, (list, np.ndarray)):
        from .creation import assign
        arr = np.asarray(item)
        if arr.dtype == object or arr.dtype.kind not in "biu":
            raise IndexError(f"Tensor index: cannot use {item!r} as an index (int or bool values expected).")
        return assign(arr if arr.dtype == np.bool_ else arr.astype(np.int64))
    if isinstance(item, range):
        return _index_value(list(item))
    return item


def _is_bool_tensor(v):
    return _is_value(v) and v.dtype is not None and v.dtype.name == "bool"


def _consumed(item):
    if item is None or item is Ellipsis:
        return 0
    if _is_bool_tensor(item):
        return builtins.max(len(item.shape), 1)
    return 1


def _normalize_index(x, idx):
    if not isinstance(idx, tuple):
        idx = (idx,)
    items = [_index_value(i) for i in idx]
    for i in items:
        if isinstance(i, builtins.bool):
            raise IndexError("Tensor index: a Python bool is not supported as an index; use a bool Tensor.")
        if not (i is None or i is Ellipsis or isinstance(i, (int, builtins.slice)) or _is_value(i)):
            raise IndexError(f"Tensor index: valid indices are int, slice, None, Ellipsis, list, ndarray and "
                             f"Tensor. Received: {i!r}.")
    n_ell = builtins.sum(1 for i in items if i is Ellipsis)
    if n_ell > 1:
        raise IndexError("Tensor index: an index can only have a single Ellipsis ('...').")
    nd = len(x.shape)
    used = builtins.sum(_consumed(i) for i in items)
    if used > nd:
        raise IndexError(f"Tensor index: too many indices ({used}) for a tensor of rank {nd} (shape {x.shape}).")
    if n_ell:
        k = items.index(Ellipsis)
        items = items[:k] + [builtins.slice(None)] * (nd - used) + items[k + 1:]
    return items


def getitem(x, idx):
    """``x[idx]`` lowered to ops (see the module docstring). Used by ``Tensor.__getitem__``."""
    if idx.__class__ is int:  # fast path: x[i]
        n = x.shape[0] if x.shape else None
        if n is None:
            raise IndexError(f"Tensor index: cannot index a 0-D tensor with {idx}.")
        if n >= 0 and not -n <= idx < n:
            raise IndexError(f"Tensor index {idx} is out of bounds for axis 0 with size {n}.")
        return run_op("slice", {"Input": x}, {"axes": [0], "starts": [idx], "ends": [idx + 1 if idx != -1 else
                                                                                    MAX_INTEGER],
                                               "infer_flags": [1], "decrease_axis": [0]})["Out"]
    items = _normalize_index(x, idx)
    shp = list(x.shape)
    axes, starts, ends, steps, decrease = [], [], [], [], []
    advanced = []          # (position in the sliced tensor, index tensor)
    new_dims = []          # (position in the result counting kept dims, for unsqueeze)
    dim = 0                # dim of x
    pos = 0                # dim of the sliced tensor
    out_pos = 0            # dim of the final result
    for it in items:
        if it is None:
            new_dims.append(out_pos)
            out_pos += 1
        elif isinstance(it, int):
            n = shp[dim]
            if n is not None and n >= 0 and not -n <= it < n:
                raise IndexError(f"Tensor index {it} is out of bounds for axis {dim} with size {n}.")
            axes.append(dim)
            starts.append(it)
            ends.append(it + 1 if it != -1 else MAX_INTEGER)
            steps.append(1)
            decrease.append(dim)
            dim += 1
        elif isinstance(it, builtins.slice):
            if not (it.start is None and it.stop is None and it.step is None):
                step = 1 if it.step is None else int(it.step)
                if step == 0:
                    raise ValueError("Tensor index: slice step cannot be zero.")
                axes.append(dim)
                starts.append(int(it.start) if it.start is not None else (0 if step > 0 else MAX_INTEGER))
                ends.append(int(it.stop) if it.stop is not None else (MAX_INTEGER if step > 0 else -1))
                steps.append(step)
            dim += 1
            pos += 1
            out_pos += 1
        else:
            k = _consumed(it)
            advanced.append((pos, it))
            dim += k
            pos += k
            out_pos += 1 if _is_bool_tensor(it) else (len(it.shape) if len(advanced) == 1 else 0)
    out = x
    if axes:
        strided = builtins.any(s != 1 for s in steps)
        attrs = {"axes": axes, "starts": starts, "ends": ends, "infer_flags": [1] * len(axes),
                 "decrease_axis": decrease}
        if strided:
            attrs["strides"] = steps
        out = run_op("strided_slice" if strided else "slice", {"Input": out}, attrs)["Out"]
    if advanced:
        out = _advanced(out, advanced, len(decrease))
    if new_dims:
        out = unsqueeze(out, new_dims)
    if out is x:  # x[:] / x[...]: a new Tensor in the graph, as Paddle
        out = run_op("assign", {"X": x})["Out"]
    return out


def _advanced(x, advanced, n_decreased):
    """Apply Tensor indices (int or bool) found at consecutive positions of ``x``."""
    positions = [p for p, _ in advanced]
    first = positions[0]
    nd = len(x.shape)
    if len(advanced) == 1 and not _is_bool_tensor(advanced[0][1]):
        p, idx = advanced[0]
        if len(idx.shape) == 1:
            return gather(x, idx, p)
        flat = reshape(idx, [-1])
        g = gather(x, flat, p)
        shp = list(x.shape)
        new = shp[:p] + list(idx.shape) + shp[p + 1:]
        return reshape(g, [0] * p + [d if d is not None and d >= 0 else -1 for d in new[p:]])
    # general case: coordinates [N, k] (or broadcast int indices) into leading dims, via gather_nd
    if _is_bool_tensor(advanced[0][1]) and len(advanced) == 1:
        mask = advanced[0][1]
        k = builtins.max(len(mask.shape), 1)
        coords = run_op("where_index", {"Condition": mask})["Out"]
    else:
        if builtins.any(_is_bool_tensor(t) for _, t in advanced):
            raise IndexError("Tensor index: a bool Tensor index cannot be combined with other Tensor indices.")
        idxs = broadcast_tensors([t for _, t in advanced])
        k = len(idxs)
        if positions != list(range(first, first + k)):
            raise IndexError("Tensor index: Tensor indices must be adjacent (separated Tensor indices are "
                             "not supported).")
        coords = stack([cast_int64(t) for t in idxs], axis=-1)
    if first:
        perm = list(range(first, first + k)) + list(range(first)) + list(range(first + k, nd))
        x = transpose(x, perm)
    out = gather_nd(x, coords)
    if first:
        m = len(coords.shape) - 1          # dims of the index result
        perm = list(range(m, m + first)) + list(range(m)) + list(range(m + first, len(out.shape)))
        out = transpose(out, perm)
    return out


def cast_int64(t):
    if t.dtype is not None and t.dtype.name == "int64":
        return t
    return run_op("cast", {"X": t}, {"in_dtype": t.dtype.proto, "out_dtype": 3})["Out"]


# ---------------------------------------------------------------------------- __setitem__ (eager)
def setitem(x, idx, value):
    """``x[idx] = value`` in place (eager Tensors; op ``set_value``; bool-mask and 1-D int-Tensor
    indices use ``where`` / ``scatter``). The assignment is recorded for autograd."""
    from .math import _as_tensor_like
    if not isinstance(x, Tensor):
        raise TypeError("Tensor.__setitem__: item assignment is only supported on eager Tensors; in static "
                        "graphs compute the new value with paddle.where or paddle.scatter instead.")
    items = _normalize_index(x, idx)
    val = _as_tensor_like(value, x)
    if val.dtype != x.dtype:
        val = run_op("cast", {"X": val}, {"in_dtype": val.dtype.proto, "out_dtype": x.dtype.proto})["Out"]
    tensors = [i for i in items if _is_value(i)]
    if tensors:
        out = _setitem_advanced(x, items, tensors, val)
    else:
        if builtins.any(i is None for i in items):
            items = [i for i in items if i is not None]
        axes, starts, ends, steps, dec = [], [], [], [], []
        for dim, it in enumerate(items):
            if isinstance(it, int):
                n = x.shape[dim]
                if not -n <= it < n:
                    raise IndexError(f"Tensor index {it} is out of bounds for axis {dim} with size {n}.")
                axes.append(dim)
                starts.append(it)
                ends.append(it + 1 if it != -1 else MAX_INTEGER)
                steps.append(1)
                dec.append(dim)
            elif not (it.start is None and it.stop is None and it.step is None):
                step = 1 if it.step is None else int(it.step)
                axes.append(dim)
                starts.append(int(it.start) if it.start is not None else (0 if step > 0 else MAX_INTEGER))
                ends.append(int(it.stop) if it.stop is not None else (MAX_INTEGER if step > 0 else -1))
                steps.append(step)
        out = run_op("set_value", {"Input": _alias(x), "ValueTensor": val},
                     {"axes": axes, "starts": starts, "ends": ends, "steps": steps, "decrease_axes": dec,
                      "dtype": x.dtype.proto})["Out"]
    _rebind(x, out, "Tensor.__setitem__")


def _setitem_advanced(x, items, tensors, val):
    from .search import where
    if len(tensors) == 1 and _is_bool_tensor(tensors[0]) and items[0] is tensors[0]:
        mask = tensors[0]
        if len(mask.shape) < len(x.shape):
            mask = reshape(mask, list(mask.shape) + [1] * (len(x.shape) - len(mask.shape)))
        if len(val.shape) == 1 and val.shape[0] not in (1,) and len(x.shape) == len(mask.shape):
            raise IndexError("Tensor.__setitem__ with a bool mask supports a scalar or broadcastable value.")
        return where(mask, val, _alias(x))
    if len(tensors) == 1 and items[0] is tensors[0] and len(tensors[0].shape) == 1 and builtins.all(
            isinstance(i, builtins.slice) and i == builtins.slice(None) for i in items[1:]):
        idx = tensors[0]
        shp = [idx.shape[0]] + list(x.shape[1:])
        upd = val if list(val.shape) == shp else expand(val, shp)
        return scatter(_alias(x), idx, upd, overwrite=True)
    raise IndexError("Tensor.__setitem__: Tensor indices are supported as a leading bool mask or a leading 1-D "
                     "int index; use paddle.where / paddle.scatter for other patterns.")


_ = convert_dtype
