"""Process-wide framework state: default dtype, grad mode, random generator, static-mode flag.

Only ``core.dispatch`` reads the mode; everything else asks dispatch.
"""
from __future__ import annotations

import threading

import numpy as np

_default_dtype = "float32"
_local = threading.local()
_rng = np.random.default_rng()
_seed_value = None


def default_dtype():
    from .dtype import BY_NAME
    return BY_NAME[_default_dtype]


def set_default_dtype(d):
    """Set the dtype that float-creating functions use (``'float32'`` or ``'float64'``)."""
    global _default_dtype
    from .dtype import convert_dtype
    dt = convert_dtype(d)
    if dt.name not in ("float16", "float32", "float64", "bfloat16"):
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed. Received: {d!r}.")
    _default_dtype = dt.name


def get_default_dtype() -> str:
    return _default_dtype


def grad_enabled() -> bool:
    return getattr(_local, "grad", True)


def set_grad_enabled(flag: bool) -> bool:
    old = grad_enabled()
    _local.grad = bool(flag)
    return old


def rng() -> np.random.Generator:
    return _rng


def seed(value: int):
    """Seed sampan's global generator (``paddle.seed``). Returns the generator."""
    global _rng, _seed_value
    _seed_value = int(value)
    _rng = np.random.default_rng(int(value))
    np.random.seed(int(value) % (2**32))
    return _rng


def get_seed():
    return _seed_value
