"""Reverse-mode autograd over the eager tape (``Tensor.backward``, ``paddle.grad``)."""
from __future__ import annotations

import numpy as np

from ..ops.registry import GradContext

__all__ = ["run_backward", "grad"]


def _accumulate(store, key, g):
    old = store.get(key)
    store[key] = g if old is None else old + g


def _count_consumers(roots):
    """Set ``node.deps`` to the number of recorded consumers of each node reachable from ``roots``
    (and clear stale ``out_grads``); returns the nodes nothing consumes."""
    seen = set(roots)
    stack = list(seen)
    for r in stack:
        r.deps = 0
    while stack:
        n = stack.pop()
        for _, _, t in n.inputs:
            p = t._node
            if p is not None:
                if p in seen:
                    p.deps += 1
                else:
                    seen.add(p)
                    p.deps = 1
                    p.out_grads = None
                    stack.append(p)
    return [r for r in roots if r.deps == 0]


def _reduce_to(g, shape, dtype):
    if g.shape != tuple(shape):
        g = np.broadcast_to(g, shape) if g.size == 1 or g.ndim < len(shape) else g.reshape(shape)
    if g.dtype != dtype:
        g = g.astype(dtype)
    return g


def run_backward(tensors, grad_tensors=None, retain_graph=False, capture=None):
    """Propagate gradients from ``tensors``.

    Leaves with ``stop_gradient=False`` accumulate into ``.grad`` unless ``capture`` (a dict
    id(tensor) -> None) is given, in which case their gradients are returned in it instead.
    """
    grad_tensors = grad_tensors or [None] * len(tensors)
    roots = []
    for t, g in zip(tensors, grad_tensors):
        if t.stop_gradient and t._node is None:
            raise RuntimeError(f"backward: tensor {t.name} has stop_gradient=True and no graph; "
                               "nothing to differentiate.")
        ga = np.ones_like(t._data) if g is None else np.asarray(g._data if hasattr(g, "_data") else g,
                                                                 dtype=t._data.dtype)
        node = t._node
        if node is None:
            _leaf_grad(t, ga, capture)
            continue
        if node not in roots:
            node.out_grads = {}
            roots.append(node)
        _accumulate(node.out_grads, (t._slot, t._idx), ga)
    ready = _count_consumers(roots)
    while ready:
        node = ready.pop()
        got = node.out_grads
        node.out_grads = None
        _run_node(node, got or {}, capture)
        for _, _, t in node.inputs:
            p = t._node
            if p is not None:
                p.deps -= 1
                if not p.deps:
                    ready.append(p)
        if not retain_graph:
            node.ins = node.outs = None


def _run_node(node, got, capture):
    outs = node.outs
    if outs is None:
        raise RuntimeError(f"backward: the graph through op '{node.op.type}' was already freed; "
                           "call backward(retain_graph=True) to differentiate twice.")
    douts = {}
    listed = False
    for (slot, idx), g in got.items():
        if idx is None:
            douts[slot] = g
        else:
            listed = True
            lst = douts.get(slot)
            if lst is None:
                lst = douts[slot] = [None] * len(outs[slot])
            lst[idx] = g
    if listed:   # list outputs: fill the gradients nothing flowed into with zeros
        for slot, v in douts.items():
            if v.__class__ is list:
                douts[slot] = [np.zeros_like(o) if g is None else g for g, o in zip(v, outs[slot])]
    inputs = node.inputs
    need = {slot for slot, _, _ in inputs}
    try:
        res = node.op.backward(GradContext(node.ins, outs, douts, node.attrs, need))
    except Exception as e:
        raise type(e)(f"backward of op '{node.op.type}': {e}") from e
    for slot, idx, t in inputs:
        g = res.get(slot)
        if g is None:
            continue
        if idx is not None:
            g = g[idx]
            if g is None:
                continue
        d = t._data
        if g.__class__ is not np.ndarray or g.shape != d.shape or g.dtype != d.dtype:
            g = _reduce_to(np.asarray(g), d.shape, d.dtype)
        if t._hooks:
            for h in t._hooks:
                r = h(_as_tensor(g))
                if r is not None:
                    g = np.asarray(r._data if hasattr(r, "_data") else r)
        p = t._node
        if p is not None:
            store = p.out_grads
            if store is None:
                p.out_grads = {(t._slot, t._idx): g}
            else:
                _accumulate(store, (t._slot, t._idx), g)
        else:
            _leaf_grad(t, g, capture)


def _as_tensor(a):
    from .tensor import Tensor
    return Tensor._wrap(a)


def _leaf_grad(t, g, capture):
    if capture is not None:
        if id(t) in capture:
            old = capture[id(t)]
            capture[id(t)] = g if old is None else old + g
        return
    if t.stop_gradient:
        return
    # grads are never written in place, so the first one can be kept without a copy; a cleared
    # gradient (``cleared_grad``: zeros without memory) is replaced rather than added to
    old = t._grad
    if old is None or (old.base is not None and old.base is _CLEARED.get(old.dtype)):
        t._grad = g
    else:
        t._grad = old + g


_CLEARED = {}        # dtype -> 0-d zero array; read-only broadcast views of it are cleared gradients
_CLEARED_VIEWS = {}  # (shape, dtype) -> the view (immutable, so shared)


def cleared_grad(shape, dtype):
    """An all-zero, read-only gradient of ``shape`` that uses no memory: what
    ``optimizer.clear_grad(set_to_zero=True)`` stores (Paddle leaves zeros there), and what the
    next backward replaces instead of adding to it."""
    key = (tuple(shape), np.dtype(dtype))
    v = _CLEARED_VIEWS.get(key)
    if v is None:
        z = _CLEARED.get(key[1])
        if z is None:
            z = _CLEARED[key[1]] = np.zeros((), dtype=key[1])
        v = _CLEARED_VIEWS[key] = np.broadcast_to(z, key[0])
    return v


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """``paddle.grad``: gradients of ``outputs`` w.r.t. ``inputs`` without touching ``.grad``."""
    single = not isinstance(inputs, (list, tuple))
    inputs = [inputs] if single else list(inputs)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    if grad_outputs is not None and not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    capture = {id(t): None for t in inputs}
    # non-leaf inputs: capture at the node output by temporarily detaching is complex; support leaves
    run_backward(list(outputs), grad_outputs, retain_graph=bool(retain_graph), capture=capture)
    res = []
    for t in inputs:
        g = capture[id(t)]
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {t.name} is not reachable from the outputs "
                               "(pass allow_unused=True to get None).")
        res.append(None if g is None else _as_tensor(g))
    return res
