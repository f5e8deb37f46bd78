"""Top-level framework functions: ``paddle.create_parameter``, device queries."""
from __future__ import annotations

from .core import unique_name
from .core.dtype import convert_dtype
from .core.dispatch import create_parameter as _create

__all__ = ["create_parameter", "get_device", "set_device", "is_compiled_with_cuda"]


def create_parameter(shape, dtype, name=None, attr=None, is_bias=False, default_initializer=None):
    """A parameter outside any Layer (``paddle.create_parameter``); named ``create_parameter_N.w_0``.

    In static mode it is a persistable variable initialised by the startup program.
    """
    from .nn import initializer as init
    if not isinstance(shape, (list, tuple)) or not all(isinstance(d, int) and d > 0 for d in shape):
        raise ValueError(f"create_parameter: shape must be a list of positive ints. Received: shape={shape!r}.")
    dt = convert_dtype(dtype)
    pname = getattr(attr, "name", None) or name
    if pname is None:
        helper = unique_name.generate("create_parameter")
        pname = unique_name.generate(helper + (".b" if is_bias else ".w"))
    initializer = getattr(attr, "initializer", None) or default_initializer
    if initializer is None:
        initializer = init.Constant(0.0) if is_bias else init.XavierUniform()
    trainable = getattr(attr, "trainable", True)
    return _create(list(shape), dt, pname, initializer, trainable=trainable)


def get_device():
    return "cpu"


def set_device(device):
    if not str(device).startswith("cpu"):
        raise ValueError(f"set_device: sampan runs on the CPU only. Received: {device!r}.")
    from .core.tensor import Place
    return Place("cpu")


def is_compiled_with_cuda():
    return False
