"""Shape ops: reshape2, transpose2, flatten_contiguous_range, squeeze2, unsqueeze2, concat, split,
stack, unstack, expand_v2, expand_as_v2, tile, shape, size, flip, roll, pad.

``XShape`` outputs (``reshape2``, ``transpose2``, ``squeeze2``, ``unsqueeze2``, ``flatten_contiguous_range``)
are what Paddle writes: a zero-size tensor of shape ``[0] + X.shape`` that records the input
shape for the backward op. Eager outputs of reshape/transpose/squeeze are NumPy views.
"""
from __future__ import annotations

import numpy as np

from .registry import op
from ..core.dtype import BY_NAME

_INT64 = BY_NAME["int64"]
_INT32 = BY_NAME["int32"]


def _xshape(x):
    return np.empty((0,) + x.shape, dtype=x.dtype)


def _ints(v):
    """An int tensor (or list of 1-element tensors) as a Python list of ints."""
    if isinstance(v, (list, tuple)):
        return [int(np.asarray(a).reshape(-1)[0]) for a in v]
    return [int(a) for a in np.asarray(v).reshape(-1)]


def _tensor_or_attr(ins, tensor_slot, list_slot, attr):
    t = ins.get(tensor_slot) if tensor_slot else None
    if t is not None:
        return _ints(t)
    lst = ins.get(list_slot) if list_slot else None
    if lst:
        return _ints(lst)
    return list(attr)


def _norm(axis, nd):
    return axis + nd if axis < 0 else axis


def _meta_x(metas, slot="X"):
    (shape, dtype), = metas[slot]
    return list(shape or []), dtype


# ---------------------------------------------------------------------------- reshape2
def _infer_shape(shape, in_shape, op_name):
    out = [in_shape[i] if d == 0 else d for i, d in enumerate(shape)]
    if out.count(-1) > 1:
        raise ValueError(f"{op_name}: only one dimension may be -1, received shape {list(shape)}.")
    total = int(np.prod(in_shape))
    if -1 in out:
        known = int(np.prod([d for d in out if d != -1]))
        if known == 0 or total % known:
            raise ValueError(f"{op_name}: cannot reshape X of shape {list(in_shape)} ({total} elements) "
                             f"to {list(shape)}.")
        out[out.index(-1)] = total // known
    elif int(np.prod(out)) != total:
        raise ValueError(f"{op_name}: cannot reshape X of shape {list(in_shape)} ({total} elements) "
                         f"to {list(shape)} ({int(np.prod(out))} elements).")
    return out


@op("reshape2", "X Shape? ShapeTensor*?", "Out XShape~",
    {"shape": ("ints", []), "mkldnn_data_type": ("string", "float32"), "use_mkldnn": ("bool", False),
     "use_quantizer": ("bool", False)}, no_grad="Shape ShapeTensor")
def reshape2(ins, attrs):
    """Reshape X; in ``shape`` 0 copies the input dim and -1 is inferred. ``Shape`` (1-D int tensor)
    or ``ShapeTensor`` (list of 1-element tensors) override the attribute."""
    x = ins["X"]
    shape = _tensor_or_attr(ins, "Shape", "ShapeTensor", attrs["shape"])
    return {"Out": x.reshape(_infer_shape(shape, x.shape, "reshape2")), "XShape": _xshape(x)}


@reshape2.meta
def _reshape2_meta(metas, attrs):
    shape, dtype = _meta_x(metas)
    if metas.get("Shape"):
        (s, _), = metas["Shape"]
        out = [-1] * (s[0] if s and s[0] >= 0 else 1)
    elif metas.get("ShapeTensor"):
        out = [-1] * len(metas["ShapeTensor"])
    else:
        tgt = list(attrs["shape"])
        out = [shape[i] if d == 0 and i < len(shape) else d for i, d in enumerate(tgt)]
        if tgt.count(-1) == 1:
            copied = {i for i, d in enumerate(tgt) if d == 0 and i < len(shape)}
            rest_in = [d for i, d in enumerate(shape) if i not in copied]
            rest_out = [d for i, d in enumerate(tgt) if i not in copied and d != -1]
            if all(d >= 0 for d in rest_in) and int(np.prod(rest_out)) > 0:
                out[tgt.index(-1)] = int(np.prod(rest_in)) // int(np.prod(rest_out))
    return {"Out": (out, dtype), "XShape": ([0] + shape, dtype)}


@reshape2.grad
def _reshape2_grad(ctx):
    return {"X": ctx.dout("Out").reshape(ctx.x("X").shape)}


# ---------------------------------------------------------------------------- transpose2
@op("transpose2", "X", "Out XShape~", {"axis": ("ints", [])})
def transpose2(ins, attrs):
    """Permute the dims of X by ``axis``."""
    x = ins["X"]
    perm = list(attrs["axis"])
    if sorted(_norm(a, x.ndim) for a in perm) != list(range(x.ndim)):
        raise ValueError(f"transpose2: axis {perm} is not a permutation of the {x.ndim} dims of X {list(x.shape)}.")
    return {"Out": np.transpose(x, perm), "XShape": _xshape(x)}


@transpose2.grad
def _transpose2_grad(ctx):
    perm = [_norm(a, ctx.x("X").ndim) for a in ctx.attrs["axis"]]
    return {"X": np.transpose(ctx.dout("Out"), np.argsort(perm))}


# ---------------------------------------------------------------------------- flatten / squeeze / unsqueeze
@op("flatten_contiguous_range", "X", "Out XShape~", {"start_axis": ("int", 1), "stop_axis": ("int", 1)})
def flatten_contiguous_range(ins, attrs):
    """Merge dims ``start_axis..stop_axis`` of X into one."""
    x = ins["X"]
    if x.ndim == 0:
        return {"Out": x.reshape(1), "XShape": _xshape(x)}
    s, e = _norm(attrs["start_axis"], x.ndim), _norm(attrs["stop_axis"], x.ndim)
    if not 0 <= s <= e < x.ndim:
        raise ValueError(f"flatten_contiguous_range: start_axis={attrs['start_axis']}, stop_axis="
                         f"{attrs['stop_axis']} invalid for X of shape {list(x.shape)}.")
    shape = list(x.shape[:s]) + [int(np.prod(x.shape[s:e + 1]))] + list(x.shape[e + 1:])
    return {"Out": x.reshape(shape), "XShape": _xshape(x)}


@flatten_contiguous_range.meta
def _flatten_meta(metas, attrs):
    shape, dtype = _meta_x(metas)
    if not shape:
        return {"Out": ([1], dtype), "XShape": ([0], dtype)}
    s, e = _norm(attrs["start_axis"], len(shape)), _norm(attrs["stop_axis"], len(shape))
    mid = shape[s:e + 1]
    merged = int(np.prod(mid)) if all(d >= 0 for d in mid) else -1
    return {"Out": (shape[:s] + [merged] + shape[e + 1:], dtype), "XShape": ([0] + shape, dtype)}


@flatten_contiguous_range.grad
def _flatten_grad(ctx):
    return {"X": ctx.dout("Out").reshape(ctx.x("X").shape)}


def _squeeze_shape(shape, axes):
    nd = len(shape)
    if not axes:
        return [d for d in shape if d != 1]
    drop = {_norm(a, nd) for a in axes}
    return [d for i, d in enumerate(shape) if not (i in drop and d == 1)]


@op("squeeze2", "X", "Out XShape~", {"axes": ("ints", [])})
def squeeze2(ins, attrs):
    """Remove size-1 dims listed in ``axes`` (all size-1 dims when empty; other dims are kept)."""
    x = ins["X"]
    return {"Out": x.reshape(_squeeze_shape(x.shape, attrs["axes"])), "XShape": _xshape(x)}


@squeeze2.grad
def _squeeze2_grad(ctx):
    return {"X": ctx.dout("Out").reshape(ctx.x("X").shape)}


def _unsqueeze_shape(shape, axes):
    """Paddle's rule: axes are inserted one after another, negative ones counted on the current rank."""
    out_rank = len(shape) + len(axes)
    cur_rank = len(shape)
    marks = [0] * (out_rank + 1)
    for a in axes:
        cur = a + cur_rank + 1 if a < 0 else a
        if not 0 <= cur <= cur_rank:
            raise ValueError(f"unsqueeze2: axis {a} out of range for rank {cur_rank}.")
        for i in range(cur_rank, cur - 1, -1):
            if marks[i] == 1:
                marks[i + 1], marks[i] = 1, 0
        marks[cur] = 1
        cur_rank += 1
    it = iter(shape)
    return [1 if marks[i] else next(it) for i in range(out_rank)]


@op("unsqueeze2", "X AxesTensor? AxesTensorList*?", "Out XShape~", {"axes": ("ints", [])},
    no_grad="AxesTensor AxesTensorList")
def unsqueeze2(ins, attrs):
    """Insert size-1 dims at ``axes`` (AxesTensor / AxesTensorList override the attribute)."""
    x = ins["X"]
    axes = _tensor_or_attr(ins, "AxesTensor", "AxesTensorList", attrs["axes"])
    return {"Out": x.reshape(_unsqueeze_shape(list(x.shape), axes)), "XShape": _xshape(x)}


@unsqueeze2.meta
def _unsqueeze2_meta(metas, attrs):
    shape, dtype = _meta_x(metas)
    if metas.get("AxesTensor") or metas.get("AxesTensorList"):
        n = len(metas["AxesTensorList"]) if metas.get("AxesTensorList") else max(metas["AxesTensor"][0][0][0], 1)
        out = [-1] * (len(shape) + n)
    else:
        out = _unsqueeze_shape(shape, list(attrs["axes"]))
    return {"Out": (out, dtype), "XShape": ([0] + shape, dtype)}


@unsqueeze2.grad
def _unsqueeze2_grad(ctx):
    return {"X": ctx.dout("Out").reshape(ctx.x("X").shape)}


# ---------------------------------------------------------------------------- concat / split / stack
def _axis_from(ins, slot, attr):
    t = ins.get(slot)
    return int(np.asarray(t).reshape(-1)[0]) if t is not None else int(attr)


@op("concat", "X* AxisTensor?", "Out", {"axis": ("int", 0)}, no_grad="AxisTensor")
def concat(ins, attrs):
    """Join the X tensors along ``axis``."""
    xs = ins["X"]
    if not xs:
        raise ValueError("concat: X is an empty list.")
    axis = _axis_from(ins, "AxisTensor", attrs["axis"])
    nd = xs[0].ndim
    if xs[0].ndim == 0:
        raise ValueError("concat: 0-D tensors cannot be concatenated; use stack.")
    ax = _norm(axis, nd)
    for i, a in enumerate(xs):
        if a.ndim != nd or a.shape[:ax] + a.shape[ax + 1:] != xs[0].shape[:ax] + xs[0].shape[ax + 1:]:
            raise ValueError(f"concat: X[{i}] of shape {list(a.shape)} does not match X[0] of shape "
                             f"{list(xs[0].shape)} outside axis {axis}.")
    return {"Out": np.concatenate(xs, axis=ax)}


@concat.grad
def _concat_grad(ctx):
    xs = ctx.x("X")
    ax = _norm(_axis_from(ctx.ins, "AxisTensor", ctx.attrs["axis"]), xs[0].ndim)
    cuts = np.cumsum([a.shape[ax] for a in xs])[:-1]
    return {"X": np.split(ctx.dout("Out"), cuts, axis=ax)}


def _sections(n, num, sections, op_name, shape):
    if num and num > 0:
        if n % num:
            raise ValueError(f"{op_name}: dim {n} of X {list(shape)} is not divisible by num={num}.")
        return [n // num] * num
    secs = list(sections)
    if secs.count(-1) > 1:
        raise ValueError(f"{op_name}: only one section may be -1, received {secs}.")
    if -1 in secs:
        secs[secs.index(-1)] = n - (sum(secs) + 1)
    if sum(secs) != n or any(s < 0 for s in secs):
        raise ValueError(f"{op_name}: sections {list(sections)} do not add up to dim {n} of X {list(shape)}.")
    return secs


@op("split", "X AxisTensor? SectionsTensorList*?", "Out*",
    {"axis": ("int", 0), "num": ("int", 0), "sections": ("ints", []), "mkldnn_data_type": ("string", "float32"),
     "use_mkldnn": ("bool", False)}, no_grad="AxisTensor SectionsTensorList")
def split(ins, attrs):
    """Split X along ``axis`` into ``num`` equal parts or parts of sizes ``sections`` (one may be -1)."""
    x = ins["X"]
    ax = _norm(_axis_from(ins, "AxisTensor", attrs["axis"]), x.ndim)
    secs = attrs["sections"]
    if ins.get("SectionsTensorList"):
        secs = _ints(ins["SectionsTensorList"])
    secs = _sections(x.shape[ax], attrs["num"], secs, "split", x.shape)
    return {"Out": np.split(x, np.cumsum(secs)[:-1], axis=ax)}


@split.meta
def _split_meta(metas, attrs):
    shape, dtype = _meta_x(metas)
    ax = _norm(attrs["axis"], len(shape)) if not metas.get("AxisTensor") else None
    if attrs["num"] and attrs["num"] > 0:
        n = attrs["num"]
        dim = shape[ax] // n if ax is not None and shape[ax] >= 0 else -1
        sizes = [dim] * n
    else:
        secs = list(attrs["sections"]) if not metas.get("SectionsTensorList") else \
            [-1] * len(metas["SectionsTensorList"])
        if -1 in secs and ax is not None and shape[ax] >= 0 and secs.count(-1) == 1:
            secs[secs.index(-1)] = shape[ax] - (sum(secs) + 1)
        sizes = secs
    outs = []
    for d in sizes:
        s = list(shape)
        if ax is not None:
            s[ax] = d
        else:
            s = [-1] * len(shape)
        outs.append((s, dtype))
    return {"Out": outs}


@split.grad
def _split_grad(ctx):
    return {"X": np.concatenate(ctx.dout("Out"), axis=_norm(_axis_from(ctx.ins, "AxisTensor", ctx.attrs["axis"]),
                                                             ctx.x("X").ndim))}


@op("stack", "X*", "Y", {"axis": ("int", 0)})
def stack(ins, attrs):
    """Stack same-shaped X tensors along a new ``axis``."""
    xs = ins["X"]
    for i, a in enumerate(xs):
        if a.shape != xs[0].shape:
            raise ValueError(f"stack: X[{i}] has shape {list(a.shape)} but X[0] has {list(xs[0].shape)}.")
    return {"Y": np.stack(xs, axis=attrs["axis"])}


@stack.grad
def _stack_grad(ctx):
    g = ctx.dout("Y")
    ax = _norm(ctx.attrs["axis"], g.ndim)
    return {"X": [np.take(g, i, axis=ax) for i in range(g.shape[ax])]}


@op("unstack", "X", "Y*", {"axis": ("int", 0), "num": ("int", 0)})
def unstack(ins, attrs):
    """Split X along ``axis`` into its slices (the axis removed)."""
    x = ins["X"]
    ax = _norm(attrs["axis"], x.ndim)
    return {"Y": [np.take(x, i, axis=ax) for i in range(x.shape[ax])]}


@unstack.meta
def _unstack_meta(metas, attrs):
    shape, dtype = _meta_x(metas)
    ax = _norm(attrs["axis"], len(shape))
    n = shape[ax] if shape[ax] >= 0 else attrs["num"]
    if n <= 0:
        raise ValueError(f"unstack: the size of axis {attrs['axis']} of X {shape} is unknown; pass num.")
    return {"Y": [(shape[:ax] + shape[ax + 1:], dtype)] * n}


@unstack.grad
def _unstack_grad(ctx):
    return {"X": np.stack(ctx.dout("Y"), axis=_norm(ctx.attrs["axis"], ctx.x("X").ndim))}


# ---------------------------------------------------------------------------- expand / tile
def _expand_shape(x_shape, shape, op_name):
    nd = len(shape)
    if nd < len(x_shape):
        raise ValueError(f"{op_name}: target shape {list(shape)} has fewer dims than X {list(x_shape)}.")
    xs = [1] * (nd - len(x_shape)) + list(x_shape)
    out = []
    for i, (a, b) in enumerate(zip(xs, shape)):
        if b == -1:
            if i < nd - len(x_shape):
                raise ValueError(f"{op_name}: -1 is not allowed for the new leading dim {i} of {list(shape)}.")
            out.append(a)
        elif a == 1 or a == b:
            out.append(b)
        else:
            raise ValueError(f"{op_name}: X {list(x_shape)} cannot be expanded to {list(shape)} (dim {i}: {a} vs {b}).")
    return out


@op("expand_v2", "X Shape? expand_shapes_tensor*?", "Out", {"shape": ("ints", [])},
    no_grad="Shape expand_shapes_tensor")
def expand_v2(ins, attrs):
    """Broadcast X to ``shape`` (-1 keeps the input dim)."""
    x = ins["X"]
    shape = _tensor_or_attr(ins, "Shape", "expand_shapes_tensor", attrs["shape"])
    return {"Out": np.broadcast_to(x, _expand_shape(x.shape, shape, "expand_v2")).copy()}


@expand_v2.meta
def _expand_v2_meta(metas, attrs):
    shape, dtype = _meta_x(metas)
    if metas.get("Shape") or metas.get("expand_shapes_tensor"):
        n = len(metas["expand_shapes_tensor"]) if metas.get("expand_shapes_tensor") else metas["Shape"][0][0][0]
        return {"Out": ([-1] * max(n, len(shape)), dtype)}
    tgt = list(attrs["shape"])
    xs = [1] * (len(tgt) - len(shape)) + shape
    return {"Out": ([a if b == -1 else b for a, b in zip(xs, tgt)], dtype)}


def _unexpand(g, x_shape):
    nd = g.ndim - len(x_shape)
    if nd:
        g = g.sum(axis=tuple(range(nd)))
    axes = tuple(i for i, d in enumerate(x_shape) if d == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(x_shape)


@expand_v2.grad
def _expand_v2_grad(ctx):
    return {"X": _unexpand(ctx.dout("Out"), ctx.x("X").shape)}


@op("expand_as_v2", "X Y?", "Out", {"target_shape": ("ints", [])}, no_grad="Y")
def expand_as_v2(ins, attrs):
    """Broadcast X to the shape of Y (or ``target_shape``)."""
    x, y = ins["X"], ins.get("Y")
    shape = list(y.shape) if y is not None else list(attrs["target_shape"])
    return {"Out": np.broadcast_to(x, _expand_shape(x.shape, shape, "expand_as_v2")).copy()}


@expand_as_v2.grad
def _expand_as_v2_grad(ctx):
    return {"X": _unexpand(ctx.dout("Out"), ctx.x("X").shape)}


@op("tile", "X RepeatTimes? repeat_times_tensor*?", "Out", {"repeat_times": ("ints", [])},
    no_grad="RepeatTimes repeat_times_tensor")
def tile(ins, attrs):
    """Repeat X ``repeat_times[i]`` times along each dim."""
    x = ins["X"]
    reps = _tensor_or_attr(ins, "RepeatTimes", "repeat_times_tensor", attrs["repeat_times"])
    return {"Out": np.tile(x, reps)}


@tile.grad
def _tile_grad(ctx):
    x = ctx.x("X")
    reps = _tensor_or_attr(ctx.ins, "RepeatTimes", "repeat_times_tensor", ctx.attrs["repeat_times"])
    nd = max(len(reps), x.ndim)
    reps = [1] * (nd - len(reps)) + list(reps)
    xs = [1] * (nd - x.ndim) + list(x.shape)
    g = ctx.dout("Out").reshape([v for r, s in zip(reps, xs) for v in (r, s)])
    return {"X": g.sum(axis=tuple(range(0, 2 * nd, 2))).reshape(x.shape)}


# ---------------------------------------------------------------------------- shape / size
@op("shape", "Input", "Out")
def shape(ins, attrs):
    """The shape of Input as a 1-D int32 tensor."""
    return {"Out": np.asarray(ins["Input"].shape, dtype=np.int32).reshape(-1)}


@shape.meta
def _shape_meta(metas, attrs):
    s, _ = _meta_x(metas, "Input")
    return {"Out": ([len(s)], _INT32)}


@op("size", "Input", "Out")
def size(ins, attrs):
    """The number of elements of Input (0-D int64)."""
    return {"Out": np.asarray(ins["Input"].size, dtype=np.int64)}


@size.meta
def _size_meta(metas, attrs):
    return {"Out": ([], _INT64)}


# ---------------------------------------------------------------------------- flip / roll / pad
@op("flip", "X", "Out", {"axis": ("ints", [])})
def flip(ins, attrs):
    """Reverse X along ``axis``."""
    x = ins["X"]
    return {"Out": np.flip(x, [_norm(a, x.ndim) for a in attrs["axis"]]).copy()}


@flip.grad
def _flip_grad(ctx):
    g = ctx.dout("Out")
    return {"X": np.flip(g, [_norm(a, g.ndim) for a in ctx.attrs["axis"]]).copy()}


def _roll_args(ins, attrs):
    shifts = _ints(ins["ShiftsTensor"]) if ins.get("ShiftsTensor") is not None else list(attrs["shifts"])
    return shifts, list(attrs["axis"])


@op("roll", "X ShiftsTensor?", "Out", {"shifts": ("longs", []), "axis": ("longs", [])}, no_grad="ShiftsTensor")
def roll(ins, attrs):
    """Roll X by ``shifts`` along ``axis`` (flattened when ``axis`` is empty)."""
    x = ins["X"]
    shifts, axis = _roll_args(ins, attrs)
    if not axis:
        return {"Out": np.roll(x.reshape(-1), shifts[0]).reshape(x.shape)}
    return {"Out": np.roll(x, shifts, axis)}


@roll.grad
def _roll_grad(ctx):
    g = ctx.dout("Out")
    shifts, axis = _roll_args(ctx.ins, ctx.attrs)
    if not axis:
        return {"X": np.roll(g.reshape(-1), -shifts[0]).reshape(g.shape)}
    return {"X": np.roll(g, [-s for s in shifts], axis)}


@op("pad", "X", "Out", {"paddings": ("ints", []), "pad_value": ("float", 0.0)})
def pad(ins, attrs):
    """Constant padding: ``paddings`` = [before_0, after_0, before_1, after_1, ...]."""
    x = ins["X"]
    p = list(attrs["paddings"])
    if len(p) != 2 * x.ndim:
        raise ValueError(f"pad: paddings {p} must have 2 * rank = {2 * x.ndim} entries for X {list(x.shape)}.")
    return {"Out": np.pad(x, [(p[2 * i], p[2 * i + 1]) for i in range(x.ndim)],
                          constant_values=attrs["pad_value"])}


@pad.grad
def _pad_grad(ctx):
    x, p = ctx.x("X"), ctx.attrs["paddings"]
    idx = tuple(slice(p[2 * i], p[2 * i] + x.shape[i]) for i in range(x.ndim))
    return {"X": ctx.dout("Out")[idx]}
