"""The dtype table: Paddle dtype names <-> NumPy dtypes <-> ProgramDesc VarType codes.

bfloat16 has no NumPy dtype: a bfloat16 Tensor stores its values as ``uint16`` bit
patterns (the upper 16 bits of the float32), which is also how Paddle writes it to disk.
"""
from __future__ import annotations

import numpy as np

__all__ = ["DType", "convert_dtype", "to_numpy_dtype", "bfloat16_to_float32", "float32_to_bfloat16"]


class DType:
    """A Paddle dtype (``paddle.float32`` ...). Compares equal to its name and NumPy dtype."""

    __slots__ = ("name", "np", "proto")

    def __init__(self, name: str, np_dtype, proto: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.proto = proto

    def __repr__(self):
        return "paddle." + self.name

    __str__ = __repr__

    def __eq__(self, other):
        if isinstance(other, DType):
            return self is other
        try:
            return convert_dtype(other) is self
        except (TypeError, ValueError):
            return False

    def __hash__(self):
        return hash(self.name)

    def __reduce__(self):
        return (convert_dtype, (self.name,))

    @property
    def is_floating_point(self) -> bool:
        return self.name in ("float16", "bfloat16", "float32", "float64")


# name, numpy storage dtype, VarType code (FORMATS.md section 2.3)
_TABLE = [
    ("bool", np.bool_, 0),
    ("int16", np.int16, 1),
    ("int32", np.int32, 2),
    ("int64", np.int64, 3),
    ("float16", np.float16, 4),
    ("float32", np.float32, 5),
    ("float64", np.float64, 6),
    ("uint8", np.uint8, 20),
    ("int8", np.int8, 21),
    ("bfloat16", np.uint16, 22),
    ("complex64", np.complex64, 23),
    ("complex128", np.complex128, 24),
    ("uint16", np.uint16, 36),
    ("uint32", np.uint32, 37),
    ("uint64", np.uint64, 38),
]

BY_NAME: dict[str, DType] = {n: DType(n, d, c) for n, d, c in _TABLE}
BY_PROTO: dict[int, DType] = {d.proto: d for d in BY_NAME.values()}
# numpy dtype -> DType; uint16 maps to uint16 (bfloat16 is never inferred from data)
BY_NUMPY: dict[np.dtype, DType] = {}
for _d in BY_NAME.values():
    if _d.name != "bfloat16":
        BY_NUMPY.setdefault(_d.np, _d)

_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "int": "int64", "long": "int64",
            "bf16": "bfloat16", "fp16": "float16", "fp32": "float32", "fp64": "float64"}

globals().update({n: d for n, d in BY_NAME.items()})
bool_ = BY_NAME["bool"]


def convert_dtype(dtype) -> DType:
    """Return the DType for a name ('float32', 'paddle.float32'), a NumPy dtype, a DType or a proto code.

    Raises:
        TypeError: when ``dtype`` names no dtype sampan knows.
    """
    if isinstance(dtype, DType):
        return dtype
    if dtype is None:
        from . import state
        return state.default_dtype()
    if isinstance(dtype, str):
        key = dtype.replace("paddle.", "")
        key = _ALIASES.get(key, key)
        if key in BY_NAME:
            return BY_NAME[key]
        raise TypeError(f"dtype: unknown dtype name {dtype!r}. Expected one of {sorted(BY_NAME)}.")
    if isinstance(dtype, (int, np.integer)) and not isinstance(dtype, bool):
        if int(dtype) in BY_PROTO:
            return BY_PROTO[int(dtype)]
        raise TypeError(f"dtype: unknown VarType code {dtype}.")
    if dtype is float:
        from . import state
        return state.default_dtype()
    if dtype is int:
        return BY_NAME["int64"]
    if dtype is bool:
        return BY_NAME["bool"]
    try:
        npd = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: cannot interpret {dtype!r} as a dtype.") from None
    if npd in BY_NUMPY:
        return BY_NUMPY[npd]
    raise TypeError(f"dtype: NumPy dtype {npd} has no sampan equivalent.")


def to_numpy_dtype(dtype) -> np.dtype:
    return convert_dtype(dtype).np


def float32_to_bfloat16(a: np.ndarray) -> np.ndarray:
    """float32 array -> uint16 bfloat16 bit patterns (round to nearest even)."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    bits = a.view(np.uint32)
    rounding = ((bits >> 16) & 1) + 0x7FFF
    return ((bits + rounding) >> 16).astype(np.uint16)


def bfloat16_to_float32(a: np.ndarray) -> np.ndarray:
    return (np.asarray(a, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
