"""``static.data`` and ``InputSpec``."""
from __future__ import annotations

from ..core.dtype import convert_dtype
from .program import default_main_program

__all__ = ["data", "InputSpec"]


def _norm_shape(shape, who):
    if shape is None:
        raise ValueError(f"{who}: shape is required.")
    if isinstance(shape, int):
        shape = [shape]
    out = []
    for d in shape:
        if d is None:
            out.append(-1)
        elif isinstance(d, int) and d >= -1:
            out.append(int(d))
        else:
            raise ValueError(f"{who}: every dim of shape must be an int >= -1 or None. Received: shape={shape}.")
    return out


def data(name, shape, dtype=None, lod_level=0):
    """A feed variable of the default main program (``paddle.static.data``).

    ``None`` or -1 dims accept any size. The dtype defaults to the default dtype (float32).
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"static.data: name must be a non-empty str. Received: {name!r}.")
    shape = _norm_shape(shape, "static.data")
    block = default_main_program().global_block()
    v = block.create_var(name=name, shape=shape, dtype=convert_dtype(dtype), persistable=False,
                         stop_gradient=True, need_check_feed=True, lod_level=lod_level or None)
    return v


class InputSpec:
    """Describes an input of a traced function: shape (None/-1 = dynamic), dtype and name.

    Example:
        >>> InputSpec(shape=[None, 784], dtype='float32', name='x')
        InputSpec(shape=(-1, 784), dtype=paddle.float32, name=x, stop_gradient=False)
    """

    def __init__(self, shape, dtype="float32", name=None, stop_gradient=False):
        self.shape = tuple(_norm_shape(shape, "InputSpec"))
        self.dtype = convert_dtype(dtype)
        self.name = name
        self.stop_gradient = stop_gradient

    @classmethod
    def from_tensor(cls, tensor, name=None):
        return cls(tensor.shape, tensor.dtype, name or getattr(tensor, "_name", None))

    @classmethod
    def from_numpy(cls, ndarray, name=None):
        return cls(list(ndarray.shape), ndarray.dtype, name)

    def batch(self, batch_size):
        self.shape = (int(batch_size) if batch_size is not None else -1,) + self.shape
        return self

    def unbatch(self):
        self.shape = self.shape[1:]
        return self

    def __repr__(self):
        return (f"InputSpec(shape={self.shape}, dtype={self.dtype}, name={self.name}, "
                f"stop_gradient={self.stop_gradient})")

    def __eq__(self, other):
        return (isinstance(other, InputSpec) and self.shape == other.shape and self.dtype == other.dtype
                and self.name == other.name)

    def __hash__(self):
        return hash((self.shape, self.dtype.name, self.name))
