"""The op registry: every op declared once, serving eager autograd, the static Executor,
``append_backward`` and loaded programs.

An op is a Paddle op type (``matmul_v2``, ``elementwise_add``) with input/output slots,
an attribute schema with defaults and types (the ProgramDesc ``AttrType`` names), a NumPy
``forward(ins, attrs) -> outs`` and optionally a ``backward(ctx) -> input grads`` rule and an
``infer_meta``. Slots are given as a space-separated string:

* ``X``    one tensor;          ``X*`` a list of tensors (duplicable);
* ``X?``   optional (may be None / empty);  ``XShape~`` an intermediate output
  (computed and stored in programs, not returned by the public function).

Example:
    >>> @op("relu", "X", "Out")
    ... def relu(ins, attrs):
    ...     return {"Out": np.maximum(ins["X"], 0)}
    >>> @relu.grad
    ... def _relu_grad(ctx):
    ...     return {"X": ctx.dout("Out") * (ctx.out("Out") > 0)}

For every differentiable op the registry also derives the grad op ``<type>_grad`` whose
inputs are the forward inputs, the forward outputs and ``<Out>@GRAD``, whose outputs are
``<X>@GRAD``, and whose kernel is the same backward rule. So a static program's backward
section runs through the same code as eager autograd.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["OpDef", "Slot", "AttrSpec", "op", "get_op", "has_op", "all_ops", "GradContext",
           "UnknownOpError", "GRAD_SUFFIX"]

GRAD_SUFFIX = "@GRAD"

# ProgramDesc AttrType codes (FORMATS.md section 2.3)
ATTR_TYPES = {
    "int": 0, "float": 1, "string": 2, "ints": 3, "floats": 4, "strings": 5, "bool": 6,
    "bools": 7, "block": 8, "long": 9, "blocks": 10, "longs": 11, "float64s": 12, "var": 13,
    "vars": 14, "float64": 15, "scalar": 16, "scalars": 17,
}


class UnknownOpError(KeyError):
    """An op type that the registry does not know."""

    def __str__(self):  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Slot:
    name: str
    duplicable: bool = False
    optional: bool = False
    intermediate: bool = False


@dataclass(frozen=True)
class AttrSpec:
    name: str
    type: str
    default: object

    @property
    def code(self) -> int:
        return ATTR_TYPES[self.type]


def _parse_slots(spec: str) -> tuple[Slot, ...]:
    out = []
    for tok in spec.split():
        dup, opt, inter = "*" in tok, "?" in tok, "~" in tok
        out.append(Slot(tok.strip("*?~"), dup, opt or inter, inter))
    return tuple(out)


@dataclass
class OpDef:
    type: str
    inputs: tuple
    outputs: tuple
    attrs: dict
    forward: Callable
    backward: Callable | None = None
    infer_meta: Callable | None = None
    no_grad: frozenset = frozenset()
    random: bool = False
    doc: str = ""
    defaults: dict = field(default_factory=dict)
    is_grad_op: bool = False
    decompose: Callable | None = None   # static-mode expansion into Paddle's ops (fused eager-only ops)

    def grad(self, fn):
        """Decorator: set the backward rule ``fn(ctx) -> {input slot: grad array}``."""
        self.backward = fn
        return fn

    def static(self, fn):
        """Decorator: ``fn(inputs, attrs) -> outputs`` builds this op from other ops in static mode.

        For ops that exist only to make eager execution faster (a fused kernel): programs keep
        Paddle's op vocabulary, so what is saved loads in Paddle."""
        self.decompose = fn
        return fn

    def meta(self, fn):
        """Decorator: set ``infer_meta(in_metas, attrs) -> {out slot: (shape, dtype)}``."""
        self.infer_meta = fn
        return fn

    def fill_attrs(self, attrs):
        """Attributes with defaults filled in (a new dict; unknown names are kept)."""
        if not attrs:
            return self.defaults  # shared: kernels and tape entries must not mutate attrs
        full = dict(self.defaults)
        full.update(attrs)
        return full

    @property
    def input_names(self):
        return [s.name for s in self.inputs]

    @property
    def output_names(self):
        return [s.name for s in self.outputs]

    def slot(self, name, outputs=False):
        for s in (self.outputs if outputs else self.inputs):
            if s.name == name:
                return s
        return None

    def differentiable_inputs(self):
        return [s.name for s in self.inputs if s.name not in self.no_grad]


_REGISTRY: dict[str, OpDef] = {}


def op(type_name, inputs="", outputs="", attrs=None, *, no_grad="", random=False):
    """Declare an op. ``attrs`` maps name -> (AttrType name, default)."""
    def deco(fn):
        specs = {}
        for k, v in (attrs or {}).items():
            t, d = v
            if t not in ATTR_TYPES:
                raise ValueError(f"op {type_name}: attribute {k} has unknown type {t!r}")
            specs[k] = AttrSpec(k, t, d)
        od = OpDef(type_name, _parse_slots(inputs), _parse_slots(outputs), specs, fn,
                   no_grad=frozenset(no_grad.split()), random=random, doc=fn.__doc__ or "",
                   defaults={k: s.default for k, s in specs.items()})
        if type_name in _REGISTRY:
            raise ValueError(f"op {type_name} registered twice")
        _REGISTRY[type_name] = od
        return od
    return deco


def alias(new_type, existing):
    """Register ``new_type`` as another name for an existing op (same kernel and slots)."""
    _REGISTRY[new_type] = _REGISTRY[existing]


def _load_all():
    from . import _all  # noqa: F401  (imports every op module once)


def get_program_op(op, index: int, block) -> OpDef:
    """``get_op(op.type)`` for op ``index`` of a program ``block``; an unknown type's error says where
    the op stands and what it reads (for the Executor and the inference plan alike)."""
    try:
        return get_op(op.type)
    except UnknownOpError:
        ins = {k: v for k, v in op.inputs.items() if v}
        raise UnknownOpError(f"op type {op.type!r} (op {index} of block {block.idx}, inputs {ins}) is not "
                             "supported by sampan; see docs/ops.md for the supported ops.") from None


def get_op(type_name: str) -> OpDef:
    od = _REGISTRY.get(type_name)
    if od is None:
        if not _loaded[0]:
            _loaded[0] = True
            _load_all()
            od = _REGISTRY.get(type_name)
        if od is None and type_name.endswith("_grad"):
            od = _make_grad_op(type_name[:-5])
        if od is None:
            raise UnknownOpError(f"op type {type_name!r} is not supported by sampan "
                                 f"({len(_REGISTRY)} ops are registered; see docs/ops.md).")
    return od


_loaded = [False]


def has_op(type_name: str) -> bool:
    try:
        get_op(type_name)
        return True
    except UnknownOpError:
        return False


def all_ops() -> dict:
    if not _loaded[0]:
        _loaded[0] = True
        _load_all()
    return dict(_REGISTRY)


# ---------------------------------------------------------------------------- backward
class GradContext:
    """What a backward rule sees: forward inputs/outputs, output grads, attrs."""

    __slots__ = ("ins", "outs", "douts", "attrs", "need")

    def __init__(self, ins, outs, douts, attrs, need):
        self.ins, self.outs, self.douts, self.attrs, self.need = ins, outs, douts, attrs, need

    def x(self, slot):
        return self.ins.get(slot)

    def out(self, slot):
        return self.outs.get(slot)

    def dout(self, slot):
        """Gradient of output ``slot``; zeros when nothing flowed into it."""
        g = self.douts.get(slot)
        if g is None:
            o = self.outs[slot]
            if isinstance(o, list):
                return [np.zeros_like(a) for a in o]
            return np.zeros_like(o)
        return g

    def has_dout(self, slot):
        return self.douts.get(slot) is not None

    def needs(self, slot):
        return slot in self.need


def _make_grad_op(fwd_type: str):
    """Derive ``<fwd>_grad`` from a forward op: its kernel is the backward rule."""
    fwd = _REGISTRY.get(fwd_type)
    if fwd is None or fwd.backward is None:
        return None
    ins = list(fwd.inputs) + [Slot(s.name, s.duplicable, True) for s in fwd.outputs]
    ins += [Slot(s.name + GRAD_SUFFIX, s.duplicable, True) for s in fwd.outputs]
    outs = [Slot(s.name + GRAD_SUFFIX, s.duplicable, True) for s in fwd.inputs if s.name not in fwd.no_grad]
    in_names = {s.name for s in fwd.inputs}
    out_names = [s.name for s in fwd.outputs]

    def kernel(arrays, attrs):
        fins = {k: v for k, v in arrays.items() if k in in_names}
        fouts = {k: arrays.get(k) for k in out_names}
        douts = {k: arrays.get(k + GRAD_SUFFIX) for k in out_names}
        need = set(attrs.get("__need__", fwd.differentiable_inputs()))
        res = fwd.backward(GradContext(fins, fouts, douts, attrs, need))
        return {k + GRAD_SUFFIX: v for k, v in res.items()}

    od = OpDef(fwd_type + "_grad", tuple(ins), tuple(outs), dict(fwd.attrs), kernel,
               defaults=dict(fwd.defaults), is_grad_op=True)
    _REGISTRY[od.type] = od
    return od
