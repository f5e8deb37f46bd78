"""Paddle's unique-name scheme: ``generate('linear')`` -> ``linear_0``, ``linear_1``, ...

Parameter names (``linear_0.w_0``), optimizer accumulators (``linear_0.w_0_moment1_0``) and
layer full names (``linear_net_0``) all come from one counter table per generator, exactly as
Paddle's ``paddle.utils.unique_name``; ``guard()`` swaps in a fresh table.
"""
from __future__ import annotations

import contextlib
import re
from collections import defaultdict

__all__ = ["generate", "generate_with_ignorable_key", "guard", "switch", "UniqueNameGenerator"]


class UniqueNameGenerator:
    def __init__(self, prefix: str = ""):
        self.ids = defaultdict(int)
        self.prefix = prefix

    def __call__(self, key: str) -> str:
        n = self.ids[key]
        self.ids[key] = n + 1
        return f"{self.prefix}{key}_{n}"


_generator = UniqueNameGenerator()


def generate(key: str) -> str:
    """Return ``key_N`` with N the next counter value for ``key``."""
    return _generator(key)


def generate_with_ignorable_key(key: str) -> str:
    return _generator(key)


def switch(new_generator=None):
    global _generator
    old = _generator
    _generator = new_generator if new_generator is not None else UniqueNameGenerator()
    return old


@contextlib.contextmanager
def guard(new_generator=None):
    """Use a fresh name table inside the block (``paddle.utils.unique_name.guard``).

    Example:
        >>> with guard():
        ...     generate('fc')
        'fc_0'
    """
    if isinstance(new_generator, str):
        new_generator = UniqueNameGenerator(new_generator)
    old = switch(new_generator)
    try:
        yield
    finally:
        switch(old)


_CAMEL1 = re.compile(r"(.)([A-Z][a-z]+)")
_CAMEL2 = re.compile(r"([a-z])([A-Z])")


def camel_to_snake(name: str) -> str:
    """``BatchNorm2D`` -> ``batch_norm2d``, ``PReLU`` -> ``p_re_lu`` (Paddle's layer name scopes)."""
    return _CAMEL2.sub(r"\1_\2", _CAMEL1.sub(r"\1_\2", name)).lower()
