"""Creation ops: fill_constant, fill_any_like, assign_value, uniform_random, gaussian_random, randint,
randperm, range, linspace, eye, empty, tril_triu.

``dtype`` attributes are VarType codes. Random ops draw from ``sampan.core.state.rng()`` (seeded by
``paddle.seed``) unless their ``seed`` attribute is non-zero, which gives a private generator so
that the op is reproducible on its own, as in Paddle.
"""
from __future__ import annotations

import numpy as np

from .registry import op
from ..core import state
from ..core.dtype import BY_PROTO, float32_to_bfloat16

_FP32 = 5


def _np_dtype(code):
    return BY_PROTO[int(code)].np


def _finish(arr, code):
    """Store as the dtype ``code`` says (bfloat16 as uint16 bit patterns)."""
    if int(code) == 22:
        return float32_to_bfloat16(np.asarray(arr, dtype=np.float32))
    return arr


def _shape(ins, attrs):
    t = ins.get("ShapeTensor")
    if t is not None:
        return [int(v) for v in np.asarray(t).reshape(-1)]
    lst = ins.get("ShapeTensorList")
    if lst:
        return [int(np.asarray(v).reshape(-1)[0]) for v in lst]
    return [int(v) for v in attrs["shape"]]


def _shape_meta(metas, attrs):
    if metas.get("ShapeTensor"):
        (s, _), = metas["ShapeTensor"]
        return [-1] * (s[0] if s and s[0] >= 0 else 1)
    if metas.get("ShapeTensorList"):
        return [-1] * len(metas["ShapeTensorList"])
    return [int(v) for v in attrs["shape"]]


def _rng(attrs):
    seed = int(attrs.get("seed", 0) or 0)
    return np.random.default_rng(seed) if seed else state.rng()


_SHAPE_SLOTS = "ShapeTensor? ShapeTensorList*?"


@op("fill_constant", "ValueTensor? " + _SHAPE_SLOTS, "Out",
    {"dtype": ("int", _FP32), "shape": ("longs", []), "value": ("float", 0.0), "str_value": ("string", ""),
     "force_cpu": ("bool", False), "place_type": ("int", -1)})
def fill_constant(ins, attrs):
    """A tensor of ``shape`` filled with ``value`` (``str_value`` wins when set, keeping int64 exact;
    ``ValueTensor`` wins over both)."""
    code = attrs["dtype"]
    dt = _np_dtype(code) if code != 22 else np.float32
    vt = ins.get("ValueTensor")
    if vt is not None:
        v = np.asarray(vt).reshape(-1)[0]
    elif attrs.get("str_value"):
        s = attrs["str_value"]
        v = int(s) if dt.kind in "iu" and s.lstrip("-").isdigit() else float(s)
        if dt == np.bool_:
            v = s not in ("0", "false", "False", "0.0", "")
    else:
        v = attrs["value"]
    return {"Out": _finish(np.full(_shape(ins, attrs), v, dtype=dt), code)}


@fill_constant.meta
def _fill_constant_meta(metas, attrs):
    return {"Out": (_shape_meta(metas, attrs), BY_PROTO[attrs["dtype"]])}


@op("fill_any_like", "X", "Out", {"value": ("float", 0.0), "dtype": ("int", -1)}, no_grad="X")
def fill_any_like(ins, attrs):
    """A tensor shaped like X filled with ``value`` (``dtype`` -1: X's dtype)."""
    x = ins["X"]
    code = attrs["dtype"]
    dt = x.dtype if code in (-1, None) else (_np_dtype(code) if code != 22 else np.float32)
    return {"Out": _finish(np.full(x.shape, attrs["value"], dtype=dt), code if code not in (-1, None) else -1)}


@fill_any_like.meta
def _fill_any_like_meta(metas, attrs):
    (shape, dtype), = metas["X"]
    return {"Out": (list(shape), dtype if attrs["dtype"] in (-1, None) else BY_PROTO[attrs["dtype"]])}


@op("empty", _SHAPE_SLOTS, "Out", {"shape": ("longs", []), "dtype": ("int", _FP32)})
def empty(ins, attrs):
    """An uninitialised tensor (sampan gives zeros: deterministic and as cheap)."""
    code = attrs["dtype"]
    return {"Out": np.zeros(_shape(ins, attrs), dtype=_np_dtype(code))}


@empty.meta
def _empty_meta(metas, attrs):
    return {"Out": (_shape_meta(metas, attrs), BY_PROTO[attrs["dtype"]])}


_VALUE_KEYS = {0: "bool_values", 2: "int32_values", 3: "int64_values", 5: "fp32_values", 6: "fp64_values"}


@op("assign_value", "", "Out", {"shape": ("ints", []), "dtype": ("int", _FP32), "bool_values": ("ints", []),
                                "fp32_values": ("floats", []), "int32_values": ("ints", []),
                                "int64_values": ("longs", []), "fp64_values": ("float64s", [])})
def assign_value(ins, attrs):
    """A constant tensor whose values are stored in the attribute named after its dtype."""
    code = attrs["dtype"]
    key = _VALUE_KEYS.get(code)
    if key is None:
        raise ValueError(f"assign_value: dtype code {code} is not supported (bool, int32, int64, float32, "
                         "float64).")
    vals = attrs.get(key) or []
    return {"Out": np.asarray(vals, dtype=_np_dtype(code)).reshape(attrs["shape"])}


@assign_value.meta
def _assign_value_meta(metas, attrs):
    return {"Out": (list(attrs["shape"]), BY_PROTO[attrs["dtype"]])}


# ---------------------------------------------------------------------------- random
@op("uniform_random", _SHAPE_SLOTS, "Out",
    {"shape": ("longs", []), "dtype": ("int", _FP32), "min": ("float", -1.0), "max": ("float", 1.0),
     "seed": ("int", 0), "diag_num": ("int", 0), "diag_step": ("int", 0), "diag_val": ("float", 1.0)},
    random=True)
def uniform_random(ins, attrs):
    """Uniform samples in [min, max); ``diag_*`` set ``diag_num`` entries spaced ``diag_step`` to ``diag_val``."""
    code = attrs["dtype"]
    dt = _np_dtype(code) if code != 22 else np.float32
    shape = _shape(ins, attrs)
    out = _rng(attrs).uniform(attrs["min"], attrs["max"], size=shape)
    out = out.astype(dt if dt.kind == "f" else np.float32, copy=False)
    if attrs["diag_num"] > 0:
        flat = out.reshape(-1)
        flat[[i * (attrs["diag_step"] + 1) for i in range(attrs["diag_num"])]] = attrs["diag_val"]
    return {"Out": _finish(out, code)}


@uniform_random.meta
def _uniform_random_meta(metas, attrs):
    return {"Out": (_shape_meta(metas, attrs), BY_PROTO[attrs["dtype"]])}


@op("gaussian_random", _SHAPE_SLOTS, "Out",
    {"shape": ("longs", []), "mean": ("float", 0.0), "std": ("float", 1.0), "seed": ("int", 0),
     "dtype": ("int", _FP32)}, random=True)
def gaussian_random(ins, attrs):
    """Normal samples with ``mean`` and ``std``."""
    code = attrs["dtype"]
    dt = _np_dtype(code) if code != 22 else np.float32
    out = _rng(attrs).standard_normal(size=_shape(ins, attrs), dtype=np.float64 if dt == np.float64 else np.float32)
    if attrs["std"] != 1.0:
        out *= attrs["std"]
    if attrs["mean"] != 0.0:
        out += attrs["mean"]
    return {"Out": _finish(out.astype(dt, copy=False), code)}


@gaussian_random.meta
def _gaussian_random_meta(metas, attrs):
    return {"Out": (_shape_meta(metas, attrs), BY_PROTO[attrs["dtype"]])}


@op("randint", _SHAPE_SLOTS, "Out", {"low": ("int", 0), "high": ("int", 0), "shape": ("longs", []),
                                     "seed": ("int", 0), "dtype": ("int", 3)}, random=True)
def randint(ins, attrs):
    """Uniform integers in [low, high)."""
    if attrs["high"] <= attrs["low"]:
        raise ValueError(f"randint: high ({attrs['high']}) must be greater than low ({attrs['low']}).")
    out = _rng(attrs).integers(attrs["low"], attrs["high"], size=_shape(ins, attrs))
    return {"Out": out.astype(_np_dtype(attrs["dtype"]))}


@randint.meta
def _randint_meta(metas, attrs):
    return {"Out": (_shape_meta(metas, attrs), BY_PROTO[attrs["dtype"]])}


@op("randperm", "", "Out", {"n": ("int", 0), "dtype": ("int", 3), "seed": ("int", 0)}, random=True)
def randperm(ins, attrs):
    """A random permutation of 0 .. n-1."""
    return {"Out": _rng(attrs).permutation(int(attrs["n"])).astype(_np_dtype(attrs["dtype"]))}


@randperm.meta
def _randperm_meta(metas, attrs):
    return {"Out": ([int(attrs["n"])], BY_PROTO[attrs["dtype"]])}


@op("bernoulli", "X", "Out", random=True)
def bernoulli(ins, attrs):
    """1 with probability X, else 0 (X's dtype)."""
    x = ins["X"]
    return {"Out": (state.rng().random(x.shape) < x).astype(x.dtype)}


# ---------------------------------------------------------------------------- ranges
def _scalar(a):
    return np.asarray(a).reshape(-1)[0]


@op("range", "Start End Step", "Out")
def range_op(ins, attrs):
    """[Start, End) in steps of Step (the dtype of Start)."""
    s, e, st = _scalar(ins["Start"]), _scalar(ins["End"]), _scalar(ins["Step"])
    if st == 0:
        raise ValueError("range: Step must not be 0.")
    return {"Out": np.arange(s, e, st, dtype=np.asarray(ins["Start"]).dtype)}


@range_op.meta
def _range_meta(metas, attrs):
    (_, dtype), = metas["Start"]
    return {"Out": ([-1], dtype)}


@op("linspace", "Start Stop Num", "Out", {"dtype": ("int", _FP32)})
def linspace(ins, attrs):
    """Num evenly spaced values from Start to Stop inclusive."""
    n = int(_scalar(ins["Num"]))
    out = np.linspace(float(_scalar(ins["Start"])), float(_scalar(ins["Stop"])), n)
    return {"Out": out.astype(_np_dtype(attrs["dtype"]))}


@linspace.meta
def _linspace_meta(metas, attrs):
    return {"Out": ([-1], BY_PROTO[attrs["dtype"]])}


@op("eye", "", "Out", {"num_rows": ("long", 0), "num_columns": ("long", -1), "dtype": ("int", _FP32)})
def eye(ins, attrs):
    """Identity matrix of ``num_rows`` x ``num_columns`` (-1: square)."""
    r = int(attrs["num_rows"])
    c = int(attrs["num_columns"])
    return {"Out": np.eye(r, r if c < 0 else c, dtype=_np_dtype(attrs["dtype"]))}


@eye.meta
def _eye_meta(metas, attrs):
    r, c = int(attrs["num_rows"]), int(attrs["num_columns"])
    return {"Out": ([r, r if c < 0 else c], BY_PROTO[attrs["dtype"]])}


@op("tril_triu", "X", "Out", {"diagonal": ("int", 0), "lower": ("bool", True)})
def tril_triu(ins, attrs):
    """Lower (``lower``) or upper triangle of the last two dims, offset by ``diagonal``."""
    x, k = ins["X"], attrs["diagonal"]
    return {"Out": np.tril(x, k) if attrs["lower"] else np.triu(x, k)}


@tril_triu.grad
def _tril_triu_grad(ctx):
    g, k = ctx.dout("Out"), ctx.attrs["diagonal"]
    return {"X": np.tril(g, k) if ctx.attrs["lower"] else np.triu(g, k)}
