"""Elementwise arithmetic and matrix products."""
from __future__ import annotations

import numpy as np

from .registry import op
from ._util import unbroadcast, paddle_broadcast_y

_EW_ATTRS = {"axis": ("int", -1)}


@op("elementwise_add", "X Y", "Out", _EW_ATTRS)
def elementwise_add(ins, attrs):
    x = ins["X"]
    return {"Out": x + paddle_broadcast_y(x, ins["Y"], attrs["axis"])}


@elementwise_add.grad
def _elementwise_add_grad(ctx):
    g = ctx.dout("Out")
    x, y = ctx.x("X"), ctx.x("Y")
    res = {}
    if ctx.needs("X"):
        res["X"] = unbroadcast(g, x.shape)
    if ctx.needs("Y"):
        yb = paddle_broadcast_y(x, y, ctx.attrs["axis"])
        res["Y"] = unbroadcast(g, yb.shape).reshape(y.shape)
    return res


@op("matmul_v2", "X Y", "Out", {"trans_x": ("bool", False), "trans_y": ("bool", False)})
def matmul_v2(ins, attrs):
    x, y = ins["X"], ins["Y"]
    if attrs["trans_x"] and x.ndim >= 2:
        x = np.swapaxes(x, -1, -2)
    if attrs["trans_y"] and y.ndim >= 2:
        y = np.swapaxes(y, -1, -2)
    if x.shape[-1] != y.shape[-2 if y.ndim >= 2 else -1]:
        raise ValueError(f"matmul_v2: the contracted dims differ: X {list(ins['X'].shape)} "
                         f"(trans_x={attrs['trans_x']}) vs Y {list(ins['Y'].shape)} (trans_y={attrs['trans_y']}).")
    return {"Out": np.matmul(x, y)}


@matmul_v2.grad
def _matmul_v2_grad(ctx):
    x, y, g = ctx.x("X"), ctx.x("Y"), ctx.dout("Out")
    tx, ty = ctx.attrs["trans_x"], ctx.attrs["trans_y"]
    res = {}
    x2 = x if x.ndim > 1 else x[None, :]
    y2 = y if y.ndim > 1 else y[:, None]
    g2 = g
    if x.ndim == 1:
        g2 = np.expand_dims(g2, -2)
    if y.ndim == 1:
        g2 = np.expand_dims(g2, -1)
    sw = lambda a: np.swapaxes(a, -1, -2)  # noqa: E731
    if ctx.needs("X"):
        if tx:
            gx = (y2 if not ty else sw(y2)) @ sw(g2)
        else:
            gx = g2 @ (sw(y2) if not ty else y2)
        res["X"] = unbroadcast(gx, x2.shape).reshape(x.shape)
    if ctx.needs("Y"):
        if ty:
            gy = sw(g2) @ (x2 if not tx else sw(x2))
        else:
            gy = (sw(x2) if not tx else x2) @ g2
        res["Y"] = unbroadcast(gy, y2.shape).reshape(y.shape)
    return res
