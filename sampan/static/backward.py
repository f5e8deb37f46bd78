"""Static autodiff: ``append_backward`` emits ``<op>_grad`` ops derived from the registry's backward
rules (the same rules eager autograd runs), ``gradients``, and the static ``minimize``."""
from __future__ import annotations

from ..core import unique_name
from ..ops.registry import get_op, GRAD_SUFFIX
from .program import Variable

__all__ = ["append_backward", "gradients", "minimize_static"]

_BACKWARD_ROLE = 1
_OPTIMIZE_ROLE = 2


def _grad_name(name):
    return name + GRAD_SUFFIX


def _needs_grad_vars(block, ops, no_grad_names):
    """Forward vars that depend on a trainable variable (parameters or stop_gradient=False vars)."""
    produced = {n for o in ops for n in o.output_arg_names}
    live = set()
    for v in block.program.list_vars():
        if v.name in no_grad_names:
            continue
        if v.is_parameter and v.trainable:
            live.add(v.name)
        elif v._stop_gradient is False and not v.persistable and v.name not in produced:
            live.add(v.name)   # a data variable the user asked gradients for (x.stop_gradient = False)
    for o in ops:
        od = get_op(o.type)
        if od.backward is None:
            continue
        diff_in = [n for s in od.differentiable_inputs() for n in o.inputs.get(s, [])]
        if any(n in live for n in diff_in):
            for n in o.output_arg_names:
                if n not in no_grad_names:
                    live.add(n)
    return live


def _emit_backward(block, targets, target_grads, no_grad_names):
    """Append grad ops for ``targets`` (vars whose grad vars already exist in ``target_grads``)."""
    target_names = {t.name for t in targets}
    # forward ops that contribute to the targets
    last = max(i for i, o in enumerate(block.ops) if set(o.output_arg_names) & target_names)
    fwd_ops = block.ops[: last + 1]
    live = _needs_grad_vars(block, fwd_ops, no_grad_names)
    partials = {t.name: [g] for t, g in zip(targets, target_grads)}

    def grad_of(name):
        """The gradient of ``name``, under Paddle's name ``<name>@GRAD``: a single partial gradient is
        renamed to it, several are summed into it (the partials keep their ``@RENAME`` names)."""
        ps = partials.get(name)
        if not ps:
            return None
        canonical = _grad_name(name)
        if len(ps) == 1:
            if ps[0] != canonical and not block.has_var(canonical):
                _rename(block, ps[0], canonical)
                ps[0] = canonical
            return ps[0]
        v = block.var(name)
        if not block.has_var(canonical):
            block.create_var(name=canonical, shape=v.shape, dtype=v.dtype)
        block.append_op("sum", {"X": ps}, {"Out": [canonical]}, {"op_role": _BACKWARD_ROLE})
        partials[name] = [canonical]
        return canonical

    for o in reversed(fwd_ops):
        od = get_op(o.type)
        if od.backward is None:
            continue
        douts = {s.name: [grad_of(n) for n in o.outputs.get(s.name, [])] for s in od.outputs}
        if not any(g for gs in douts.values() for g in gs):
            continue
        need = [s for s in od.differentiable_inputs()
                if any(n in live for n in o.inputs.get(s, []))]
        if not need:
            continue
        g_inputs = {k: list(v) for k, v in o.inputs.items()}
        g_inputs.update({k: list(v) for k, v in o.outputs.items()})
        for s, gs in douts.items():
            if any(g is None for g in gs):
                if all(g is None for g in gs):
                    continue
                gs = [g if g is not None else _zeros_like(block, n) for g, n in zip(gs, o.outputs[s])]
            g_inputs[_grad_name(s)] = gs
        g_outputs = {}
        for s in need:
            names = []
            for n in o.inputs.get(s, []):
                if n not in live:
                    names.append(unique_name.generate_with_ignorable_key(_grad_name(n) + "@UNUSED"))
                    block.create_var(name=names[-1], shape=block.var(n).shape, dtype=block.var(n).dtype)
                    continue
                gname = unique_name.generate_with_ignorable_key(_grad_name(n) + "@RENAME")
                fv = block.var(n)
                block.create_var(name=gname, shape=fv.shape, dtype=fv.dtype)
                partials.setdefault(n, []).append(gname)
                names.append(gname)
            g_outputs[_grad_name(s)] = names
        attrs = dict(o.attrs)
        attrs["__need__"] = need
        attrs["op_role"] = _BACKWARD_ROLE
        block.append_op(o.type + "_grad", g_inputs, g_outputs, attrs, dict(o.attr_types))
    produced = {n for o in fwd_ops for n in o.output_arg_names}
    for name in list(partials):   # leaves (parameters, data vars): their final <name>@GRAD
        if name not in produced:
            grad_of(name)
    return grad_of


def _rename(block, old, new):
    """Rename variable ``old`` (a partial gradient only grad ops have written so far) to ``new``."""
    v = block.vars.pop(old)
    v.name = new
    block.vars[new] = v
    for o in block.ops:
        for names in o.outputs.values():
            for i, n in enumerate(names):
                if n == old:
                    names[i] = new


def _zeros_like(block, name):
    v = block.var(name)
    out = block.create_var(name=unique_name.generate_with_ignorable_key(_grad_name(name) + "@ZERO"),
                           shape=v.shape, dtype=v.dtype)
    block.append_op("fill_any_like", {"X": [name]}, {"Out": [out.name]}, {"value": 0.0, "dtype": -1})
    return out.name


def append_backward(loss, parameter_list=None, no_grad_set=None, callbacks=None, checkpoints=None):
    """Append the backward ops of ``loss`` to its program; return ``[(param, grad_var), ...]``."""
    if not isinstance(loss, Variable):
        raise TypeError(f"append_backward: loss must be a static Variable. Received: {type(loss).__name__}.")
    block = loss.block.program.global_block()
    no_grad = {v if isinstance(v, str) else v.name for v in (no_grad_set or [])}
    g = block.create_var(name=_grad_name(loss.name), shape=loss.shape, dtype=loss.dtype)
    block.append_op("fill_constant", {}, {"Out": [g.name]},
                    {"shape": list(loss.shape or [1]), "value": 1.0, "dtype": loss.dtype.proto,
                     "op_role": _BACKWARD_ROLE | 256})
    grad_of = _emit_backward(block, [loss], [g.name], no_grad)
    params = parameter_list if parameter_list is not None else [
        p for p in block.program.all_parameters() if p.trainable]
    out = []
    for p in params:
        p = block.var(p) if isinstance(p, str) else p
        gname = grad_of(p.name)
        if gname is not None:
            out.append((p, block.var(gname)))
    return out


def gradients(targets, inputs, target_gradients=None, no_grad_set=None):
    """Static ``paddle.static.gradients``: grad vars of ``sum(targets)`` w.r.t. ``inputs``."""
    targets = targets if isinstance(targets, (list, tuple)) else [targets]
    inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    block = targets[0].block.program.global_block()
    gnames = []
    for i, t in enumerate(targets):
        tg = target_gradients[i] if target_gradients else None
        if tg is not None:
            gnames.append(tg.name)
            continue
        g = block.create_var(name=unique_name.generate_with_ignorable_key(_grad_name(t.name)),
                             shape=t.shape, dtype=t.dtype)
        block.append_op("fill_any_like", {"X": [t.name]}, {"Out": [g.name]}, {"value": 1.0, "dtype": -1})
        gnames.append(g.name)
    no_grad = {v if isinstance(v, str) else v.name for v in (no_grad_set or [])}
    # inputs that are not parameters (e.g. data vars) must be treated as differentiable
    saved = {}
    for x in inputs:
        saved[x.name] = (x.is_parameter, x.trainable)
        x.is_parameter, x.trainable = True, True
    try:
        grad_of = _emit_backward(block, targets, gnames, no_grad)
    finally:
        for x in inputs:
            x.is_parameter, x.trainable = saved[x.name]
    res = []
    for x in inputs:
        gn = grad_of(x.name)
        res.append(block.var(gn) if gn is not None else None)
    return res


def minimize_static(optimizer, loss, startup_program=None, parameters=None, no_grad_set=None):
    """Static ``optimizer.minimize(loss)``: backward ops, then the optimizer's update ops."""
    params_grads = append_backward(loss, parameter_list=parameters, no_grad_set=no_grad_set)
    optimizer._append_static_update(loss.block.program, params_grads, startup_program)
    return [], params_grads
