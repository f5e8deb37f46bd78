"""Paddle's public tensor functions (``paddle.add``, ``paddle.reshape`` ...), thin wrappers over
``core.dispatch.run_op``. ``tensor_method(name)`` resolves ``x.name(...)`` for Tensor methods."""
from __future__ import annotations

import importlib

_MODULES = ["math", "creation", "manipulation", "linalg", "search", "logic", "random", "stat"]


def _mods():
    out = []
    for m in _MODULES:
        try:
            out.append(importlib.import_module(f"sampan.tensor_api.{m}"))
        except ModuleNotFoundError as e:
            if e.name != f"sampan.tensor_api.{m}":
                raise
    return out


_METHOD_CACHE: dict = {}
# names whose Tensor method differs from the module function of the same name
_METHOD_ALIASES = {"astype": "cast", "mm": "matmul", "dim": None}


def tensor_method(name):
    if name in _METHOD_CACHE:
        return _METHOD_CACHE[name]
    target = _METHOD_ALIASES.get(name, name)
    fn = None
    if target is not None:
        for m in _mods():
            f = getattr(m, target, None)
            if callable(f) and not target.startswith("_") and target in getattr(m, "__all__", [target]):
                fn = f
                break
    _METHOD_CACHE[name] = fn
    return fn
