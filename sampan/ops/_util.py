"""Small NumPy helpers shared by op kernels."""
from __future__ import annotations



def unbroadcast(g, shape):
    """Sum ``g`` down to ``shape`` (the inverse of NumPy broadcasting)."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    nd = g.ndim - len(shape)
    if nd > 0:
        g = g.sum(axis=tuple(range(nd)))
    axes = tuple(i for i, (a, b) in enumerate(zip(g.shape, shape)) if b == 1 and a != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def paddle_broadcast_y(x, y, axis):
    """Align ``y`` to ``x`` as Paddle's elementwise ``axis`` attribute says (-1: NumPy rules)."""
    if axis is None or axis == -1 or y.ndim == x.ndim or y.ndim == 0:
        return y
    if axis < 0:
        axis += x.ndim
    ys = list(y.shape)
    while ys and ys[-1] == 1 and len(ys) + axis > x.ndim:  # Paddle trims trailing 1s
        ys.pop()
    return y.reshape([1] * axis + ys + [1] * (x.ndim - axis - len(ys)))


def norm_axis(axis, ndim):
    return axis + ndim if axis < 0 else axis
