"""The single dispatch point: the only module that knows whether we run eagerly or build a program.

``run_op(type, inputs, attrs)`` either

* eager: runs the registry kernel on the inputs' arrays and, when an input needs a gradient and
  grad mode is on, records a tape ``Node`` so ``backward()`` can call the op's backward rule; or
* static (``enable_static``, ``program_guard``, ``jit.to_static`` tracing): infers output metadata
  and appends an ``Operator`` to the current block of the default main program. Eager tensors met
  there (a Layer's parameters while tracing) are captured as persistable variables.

Public functions (``sampan.matmul``, ``nn.functional.relu`` ...) build slots and attrs and call
``run_op``; nothing else branches on the mode.
"""
from __future__ import annotations

import numpy as np

from . import state, unique_name
from .tensor import Tensor, Parameter, Node
from ..ops.registry import get_op, _REGISTRY

__all__ = ["run_op", "in_dynamic_mode", "enable_static", "disable_static", "push_static", "pop_static",
           "create_parameter", "OpError", "is_symbolic"]


class OpError(ValueError):
    """A kernel rejected its inputs; the message names the op, its inputs and their shapes."""


_static_depth = [0]
_global_static = [False]


def in_dynamic_mode() -> bool:
    return _static_depth[0] == 0 and not _global_static[0]


def enable_static():
    _global_static[0] = True


def disable_static(place=None):
    _global_static[0] = False


def push_static():
    _static_depth[0] += 1


def pop_static():
    _static_depth[0] -= 1


class eager_guard:
    """Run eagerly inside the block even when static mode is on (used by executors of programs)."""

    def __enter__(self):
        self._saved = (_static_depth[0], _global_static[0])
        _static_depth[0], _global_static[0] = 0, False

    def __exit__(self, *exc):
        _static_depth[0], _global_static[0] = self._saved


def is_symbolic(x) -> bool:
    from ..static.program import Variable
    return isinstance(x, Variable)


# ---------------------------------------------------------------------------- entry point
def run_op(type_name, inputs, attrs=None, bind=None, name=None):
    """Apply op ``type_name`` to ``inputs`` (slot -> Tensor | [Tensor] | None).

    ``bind`` maps output slots to existing Tensors/Variables that receive the result
    (batch_norm's running stats, optimizer updates). Returns slot -> Tensor | [Tensor].
    """
    op = _REGISTRY.get(type_name)
    if op is None:
        op = get_op(type_name)   # loads the op modules on first use; raises for unknown types
    if _static_depth[0] or _global_static[0]:
        return _append_static(op, inputs, attrs, bind, name)
    return _run_eager(op, inputs, attrs, bind)


def _run_eager(op, inputs, attrs, bind):
    arrays = {}
    need = None
    record = op.backward is not None and state.grad_enabled()
    no_grad = op.no_grad
    for slot, v in inputs.items():
        if v is None:
            arrays[slot] = None
        elif v.__class__ is list or v.__class__ is tuple:
            arrays[slot] = [t._data for t in v]
            if record and slot not in no_grad:
                for i, t in enumerate(v):
                    if not t.stop_gradient:
                        (need if need is not None else (need := [])).append((slot, i, t))
        else:
            arrays[slot] = v._data
            if record and not v.stop_gradient and slot not in no_grad:
                if need is None:
                    need = [(slot, None, v)]
                else:
                    need.append((slot, None, v))
    full = {**op.defaults, **attrs} if attrs else op.defaults
    try:
        outs = op.forward(arrays, full)
    except OpError:
        raise
    except Exception as e:
        raise OpError(_describe_failure(op.type, inputs, e)) from e
    wrap = Tensor._wrap
    if need is not None:
        node = Node(op, full, arrays, outs, need)
        sg = False
    else:
        node = None
        sg = True
    res = {}
    for slot, a in outs.items():
        if bind is not None and bind.get(slot) is not None:
            tgt = bind[slot]
            if isinstance(a, list):
                for t, x in zip(tgt, a):
                    t._data = x
            else:
                tgt._data = a
            res[slot] = tgt
        elif a is None:
            res[slot] = None
        elif a.__class__ is list:
            res[slot] = [wrap(x, node, slot, i, sg) for i, x in enumerate(a)]
        else:
            res[slot] = wrap(a, node, slot, None, sg)
    return res


def _describe_failure(type_name, inputs, exc):
    parts = []
    for slot, v in inputs.items():
        if v is None:
            continue
        vs = v if isinstance(v, (list, tuple)) else [v]
        desc = ", ".join(f"{list(t.shape)} {t.dtype.name if t.dtype is not None else '?'}" for t in vs)
        parts.append(f"{slot}=[{desc}]" if isinstance(v, (list, tuple)) else f"{slot}={desc}")
    return f"op '{type_name}' failed on inputs {', '.join(parts)}: {exc}"


# ---------------------------------------------------------------------------- static building
def _current_block():
    from ..static.program import default_main_program
    return default_main_program().current_block()


def _capture(block, t: Tensor):
    """An eager tensor used while building a program becomes a persistable variable."""
    prog = block.program
    gb = prog.global_block()
    name = t.name
    v = gb.vars.get(name)
    if v is None:
        v = gb.create_var(name=name, shape=t.shape, dtype=t.dtype, persistable=True,
                          is_parameter=isinstance(t, Parameter) or None,
                          stop_gradient=t.stop_gradient, trainable=not t.stop_gradient)
    prog._captured[name] = t
    return v


def _as_var(block, v):
    from ..static.program import Variable
    if isinstance(v, Variable):
        return v
    if isinstance(v, Tensor):
        return _capture(block, v)
    raise TypeError(f"expected a Tensor or static Variable, received {type(v).__name__}")


def _append_static(op, inputs, attrs, bind, name):
    if op.decompose is not None:
        return op.decompose(inputs, op.fill_attrs(attrs))
    block = _current_block()
    in_vars = {}
    for slot, v in inputs.items():
        if v is None:
            in_vars[slot] = []
        elif isinstance(v, (list, tuple)):
            in_vars[slot] = [_as_var(block, x) for x in v]
        else:
            in_vars[slot] = [_as_var(block, v)]
    for s in op.inputs:   # Paddle writes every declared input slot, empty when unset
        in_vars.setdefault(s.name, [])
    full = op.fill_attrs(attrs)
    metas = infer_meta(op, in_vars, full)
    helper = name or unique_name.generate(op.type)
    out_vars = {}
    for s in op.outputs:
        if bind and bind.get(s.name) is not None:
            b = bind[s.name]
            out_vars[s.name] = [_as_var(block, x) for x in b] if isinstance(b, (list, tuple)) else [_as_var(block, b)]
            continue
        m = metas.get(s.name)
        if m is None:
            out_vars[s.name] = []
            continue
        ms = m if isinstance(m, list) else [m]
        vs = []
        for shape, dtype in ms:
            vn = unique_name.generate_with_ignorable_key(helper + ".tmp")
            stop = all(x.stop_gradient for xs in in_vars.values() for x in xs) or op.backward is None
            vs.append(block.create_var(name=vn, shape=shape, dtype=dtype, stop_gradient=stop))
        out_vars[s.name] = vs
    types = {k: spec.code for k, spec in op.attrs.items()}
    block.append_op(op.type, in_vars, out_vars, full, types)
    res = {}
    for s in op.outputs:
        vs = out_vars[s.name]
        res[s.name] = vs if s.duplicable else (vs[0] if vs else None)
    return res


def infer_meta(op, in_vars, attrs):
    """Output (shape, dtype) per slot: the op's own rule, else a probe run on small dummy inputs.

    The probe runs the kernel twice with unknown (-1) dims set to 2 and then 3; output dims that
    differ between the runs are unknown (-1).
    """
    if op.infer_meta is not None:
        return op.infer_meta({k: [(v.shape, v.dtype) for v in vs] for k, vs in in_vars.items()}, attrs)
    runs = []
    for fill in (2, 3):
        arrays = {}
        for slot, vs in in_vars.items():
            s = op.slot(slot)
            arrs = [_dummy(v, fill) for v in vs]
            arrays[slot] = arrs if (s is not None and s.duplicable) else (arrs[0] if arrs else None)
        try:
            with np.errstate(all="ignore"):
                runs.append(op.forward(arrays, attrs))
        except Exception as e:
            shapes = {k: [v.shape for v in vs] for k, vs in in_vars.items()}
            raise OpError(f"op '{op.type}' cannot be built with inputs {shapes} and attrs "
                          f"{ {k: v for k, v in attrs.items() if not k.startswith('op_')} }: {e}") from e
        if not any(-1 in (v.shape or []) for vs in in_vars.values() for v in vs):
            break
    out = {}
    for slot, a in runs[0].items():
        b = runs[-1][slot]
        if a is None:
            out[slot] = None
        elif isinstance(a, list):
            out[slot] = [_merge_meta(x, y) for x, y in zip(a, b)]
        else:
            out[slot] = _merge_meta(a, b)
    return out


def _merge_meta(a, b):
    a, b = np.asarray(a), np.asarray(b)
    shape = [da if da == db else -1 for da, db in zip(a.shape, b.shape)] if a.ndim == b.ndim else [-1] * a.ndim
    from .dtype import BY_NUMPY
    return shape, BY_NUMPY.get(a.dtype)


def _dummy(v, fill):
    shape = [fill if d is None or d < 0 else d for d in (v.shape or [1])]
    dt = v.dtype.np if v.dtype is not None else np.float32
    if np.issubdtype(dt, np.floating):
        return np.full(shape, 0.5, dtype=dt)
    return np.zeros(shape, dtype=dt)


# ---------------------------------------------------------------------------- parameters
def create_parameter(shape, dtype, name, initializer, trainable=True, **kw):
    """A Layer's parameter: an eager ``Parameter`` now, or in static mode a persistable
    variable of the main program initialised by ops appended to the startup program."""
    if in_dynamic_mode():
        arr = initializer.generate(shape, dtype)
        p = Parameter(arr, dtype=dtype, name=name, trainable=trainable, **kw)
        return p
    from ..static.program import default_main_program, default_startup_program, switch_main_program
    main = default_main_program()
    v = main.global_block().create_parameter(name, shape, dtype, trainable=trainable)
    v.optimize_attr = {"learning_rate": kw.get("learning_rate", 1.0)}   # per-parameter options, as eager
    v.regularizer = kw.get("regularizer")
    v.need_clip = kw.get("need_clip", True)
    startup = default_startup_program()
    sv = startup.global_block().create_parameter(name, shape, dtype, trainable=trainable)
    old = switch_main_program(startup)
    try:
        initializer.append_init_op(sv)
    finally:
        switch_main_program(old)
    return v
