"""Tracing Python code into a Program, and running a Program's ops on Tensors.

``trace`` runs a function with symbolic inputs under ``program_guard``: every op goes through the
dispatch point and lands in the Program; eager tensors met on the way (a Layer's parameters) are
captured as persistable variables.

``run_program`` is the other direction: it walks a Program's ops and applies each through
``dispatch.run_op`` to Tensors. In eager mode the tape records it, so a traced ``to_static``
function trains the Layer's own parameters and a loaded ``TranslatedLayer`` fine-tunes without a
separate backward program; in static mode the same walk copies the ops into the program being
built (how a TranslatedLayer is saved again).
"""
from __future__ import annotations

import inspect

from ..core import unique_name
from ..core.dispatch import run_op
from ..core.tensor import Tensor
from ..static.program import Program, Variable, program_guard, ControlFlowError

__all__ = ["ConcreteProgram", "trace", "run_program", "flatten", "pack"]


def flatten(obj):
    """Nested list/tuple/dict of leaves -> (leaves, structure)."""
    if isinstance(obj, (list, tuple)):
        leaves, subs = [], []
        for x in obj:
            lv, st = flatten(x)
            leaves += lv
            subs.append(st)
        return leaves, (type(obj), subs)
    if isinstance(obj, dict):
        leaves, subs = [], []
        for k, x in obj.items():
            lv, st = flatten(x)
            leaves += lv
            subs.append((k, st))
        return leaves, (dict, subs)
    return [obj], None


def pack(structure, leaves):
    it = iter(leaves)

    def build(st):
        if st is None:
            return next(it)
        kind, subs = st
        if kind is dict:
            return {k: build(s) for k, s in subs}
        vals = [build(s) for s in subs]
        return kind(vals) if kind is not list else vals
    return build(structure)


class ConcreteProgram:
    """A traced program: inputs (feed vars), outputs, and the eager tensors it captured."""

    def __init__(self, main_program, inputs, outputs, out_structure, function, training):
        self.main_program = main_program
        self.inputs = inputs                  # [Variable] in argument order
        self.outputs = outputs                # [Variable]
        self.out_structure = out_structure
        self.function = function
        self.training = training

    @property
    def parameters(self):
        return list(self.main_program._captured.values())

    @property
    def feed_names(self):
        return [v.name for v in self.inputs]

    @property
    def fetch_names(self):
        return [v.name for v in self.outputs]


def arg_names(fn, skip_self):
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return names[1:] if skip_self and names else names


def trace(fn, instance, specs, names, training=True):
    """Run ``fn(instance, *inputs)`` (or ``fn(*inputs)``) on symbolic inputs described by ``specs``.

    ``specs`` are InputSpec-like (shape, dtype, name); ``names`` default names per position.
    """
    main = Program()
    main.random_seed = 0
    block = main.global_block()
    inputs = []
    used = set()
    for i, s in enumerate(specs):
        name = getattr(s, "name", None) or (names[i] if i < len(names) else f"x_{i}")
        if name in used:
            raise ValueError(f"jit: two inputs are named {name!r}; give the InputSpecs distinct names.")
        used.add(name)
        v = block.create_var(name=name, shape=[-1 if d is None else int(d) for d in s.shape], dtype=s.dtype,
                             stop_gradient=getattr(s, "stop_gradient", True))
        inputs.append(v)
    with program_guard(main, Program()), unique_name.guard(unique_name.UniqueNameGenerator()):
        try:
            out = fn(instance, *inputs) if instance is not None else fn(*inputs)
        except ControlFlowError as e:
            raise ControlFlowError(f"{_user_location(e)}: {e}") from None
        leaves, structure = flatten(out)
        outs = []
        for leaf in leaves:
            if isinstance(leaf, Tensor):   # returned a captured tensor directly: give it a program value
                leaf = run_op("assign", {"X": leaf})["Out"]
            if not isinstance(leaf, Variable):
                raise TypeError(f"jit: the traced function must return Tensors (possibly nested in "
                                f"lists/tuples/dicts). Received a {type(leaf).__name__}.")
            outs.append(leaf)
    return ConcreteProgram(main, inputs, outs, structure, fn, training)


def _user_location(exc):
    """file:line of the innermost traceback frame outside sampan (where the user's `if` is)."""
    import os
    import traceback
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    where = "<unknown>"
    for fs in traceback.extract_tb(exc.__traceback__):
        if not os.path.abspath(fs.filename).startswith(pkg):
            where = f"{fs.filename}, line {fs.lineno} ({fs.line})"
    return where


def run_program(program, feeds, params, fetch_names, is_test=None):
    """Apply the ops of ``program``'s global block to ``feeds`` (name -> Tensor/Variable).

    ``params`` maps persistable var names to the Tensors holding them. Outputs written to a
    persistable var (batch_norm's running stats) update that Tensor in place.
    ``is_test`` (when not None) overrides the ``is_test`` attribute of ops that have one.
    """
    block = program.global_block()
    env = dict(params)
    env.update(feeds)
    persist = set(params)
    for o in block.ops:
        if o.type in ("feed", "fetch"):
            continue
        ins = {}
        for slot, names in o.inputs.items():
            if not names:
                ins[slot] = None
                continue
            try:
                vals = [env[n] for n in names]
            except KeyError as e:
                raise RuntimeError(f"running program: op {o.type} needs variable {e.args[0]!r}, which no "
                                   "earlier op produced and which is neither fed nor a parameter.") from None
            ins[slot] = vals
        attrs = o.attrs
        if is_test is not None and "is_test" in attrs and attrs["is_test"] != is_test:
            attrs = dict(attrs)
            attrs["is_test"] = is_test
            if not is_test and attrs.get("use_global_stats"):
                # programs exported in eval mode freeze batch_norm's statistics; training uses batch stats
                attrs["use_global_stats"] = False
        bind = {}
        for slot, names in o.outputs.items():
            if names and all(n in persist for n in names):
                bind[slot] = [env[n] for n in names]
        res = _apply(o.type, ins, attrs, bind)
        for slot, names in o.outputs.items():
            val = res.get(slot)
            if val is None:
                continue
            vals = val if isinstance(val, list) else [val]
            for n, v in zip(names, vals):
                if n not in persist:
                    env[n] = v
    return [env[n] for n in fetch_names]


def _apply(op_type, ins, attrs, bind):
    """run_op with slots as lists converted to what each slot expects (single or list)."""
    from ..ops.registry import get_op
    od = get_op(op_type)
    call_ins = {}
    for s in od.inputs:
        v = ins.get(s.name)
        if v is None:
            call_ins[s.name] = None
        elif s.duplicable:
            call_ins[s.name] = v
        else:
            call_ins[s.name] = v[0]
    call_bind = None
    if bind:
        call_bind = {}
        for s in od.outputs:
            if s.name in bind:
                call_bind[s.name] = bind[s.name] if s.duplicable else bind[s.name][0]
    res = run_op(op_type, call_ins, attrs, bind=call_bind)
    return {k: (v if isinstance(v, list) or v is None else v) for k, v in res.items()}
