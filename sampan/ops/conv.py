"""Convolution and pooling: ``conv2d``, ``depthwise_conv2d``, ``conv2d_transpose``,
``depthwise_conv2d_transpose``, ``pool2d``, ``max_pool2d_with_index``.

Convolution is im2col + one matmul per layer (a stacked one over the batch, or over groups):
``as_strided`` gives a zero-copy window view of the padded input, one reshape copies it into
``(N, C*KH*KW, OH*OW)`` columns with the output width innermost (contiguous reads), and
``W @ cols`` does the work and lands in NCHW directly (grouped convs use ``(C*KH*KW, N*OH*OW)``
columns and one matmul per group). The backward rules are fused NumPy (the transposed products plus
a col2im that loops over the KH*KW kernel offsets, never over pixels or the batch): written with
sampan ops they would need im2col as an op of its own and run several times slower.

Pooling loops over the kernel offsets too (KH*KW strided slices combined with ``maximum`` or
``+``); adaptive average pooling is two small matmuls with averaging matrices.

Paddle semantics reproduced (checked against Paddle's CPU kernels):

* ``paddings`` has 2 values ``[ph, pw]`` or 4 values ``[top, bottom, left, right]``;
  ``padding_algorithm`` ``SAME`` pads ``max((ceil(in/s)-1)*s + k - in, 0)`` split low-first and
  resets the dilation to 1, ``VALID`` pads nothing.
* pool2d: windows start at ``o*s - pad_top`` and end at ``min(start + k, in + pad_top)`` (Paddle
  keeps only the leading padding of each axis in its CPU functor); average pooling divides by
  that window's size, or, with ``exclusive`` (and for adaptive pooling), by the number of
  input elements it covers; max pooling gives the gradient to the first maximum in row-major
  window order. Adaptive windows are ``[floor(o*in/out), ceil((o+1)*in/out))``.
* conv2d_transpose: output = ``(in-1)*s - pad0 - pad1 + d*(k-1) + 1`` plus ``output_padding``, or
  ``output_size`` when given (which must lie in ``[that, that + s)``).
"""
from __future__ import annotations


import numpy as np
from numpy.lib.stride_tricks import as_strided

from .registry import op

__all__ = []

_CONV_ATTRS = {
    "strides": ("ints", [1, 1]),
    "paddings": ("ints", [0, 0]),
    "padding_algorithm": ("string", "EXPLICIT"),
    "groups": ("int", 1),
    "dilations": ("ints", [1, 1]),
    "data_format": ("string", "NCHW"),
}

_CONVT_ATTRS = {
    "output_padding": ("ints", []),
    "output_size": ("ints", []),
    "groups": ("int", 1),
    "dilations": ("ints", [1, 1]),
    "strides": ("ints", [1, 1]),
    "paddings": ("ints", [0, 0]),
    "padding_algorithm": ("string", "EXPLICIT"),
    "data_format": ("string", "NCHW"),
}

_POOL_ATTRS = {
    "pooling_type": ("string", "max"),
    "ksize": ("ints", [1, 1]),
    "global_pooling": ("bool", False),
    "strides": ("ints", [1, 1]),
    "paddings": ("ints", [0, 0]),
    "exclusive": ("bool", True),
    "adaptive": ("bool", False),
    "ceil_mode": ("bool", False),
    "data_format": ("string", "NCHW"),
    "padding_algorithm": ("string", "EXPLICIT"),
    "use_cudnn": ("bool", False),
}


# ---------------------------------------------------------------------------- shared helpers
def _channel_last(fmt):
    return fmt in ("NHWC", "NDHWC", "NLC")


def _to_nchw(x, fmt):
    return x.transpose(0, 3, 1, 2) if _channel_last(fmt) else x


def _from_nchw(y, fmt):
    return np.ascontiguousarray(y.transpose(0, 2, 3, 1)) if _channel_last(fmt) else y


def _spatial(shape, fmt):
    return list(shape[1:3]) if _channel_last(fmt) else list(shape[2:4])


def _pad_pairs(op_name, paddings):
    p = [int(v) for v in paddings]
    if len(p) == 2:
        return [(p[0], p[0]), (p[1], p[1])]
    if len(p) == 4:
        return [(p[0], p[1]), (p[2], p[3])]
    raise ValueError(f"{op_name}: attribute paddings must have 2 or 4 values, received {p}.")


def _resolve_pads(op_name, attrs, in_hw, ksize, strides, dilations):
    """Explicit (low, high) padding per spatial axis and the effective dilations."""
    algo = attrs.get("padding_algorithm", "EXPLICIT") or "EXPLICIT"
    dil = list(dilations)
    if algo == "SAME":
        pads = []
        for i in range(2):
            if in_hw[i] < 0:
                pads.append((0, 0))
                continue
            out = (in_hw[i] + strides[i] - 1) // strides[i]
            total = max((out - 1) * strides[i] + ksize[i] - in_hw[i], 0)
            pads.append((total // 2, total - total // 2))
            dil[i] = 1
        return pads, dil
    if algo == "VALID":
        return [(0, 0), (0, 0)], dil
    if algo != "EXPLICIT":
        raise ValueError(f"{op_name}: padding_algorithm must be EXPLICIT, SAME or VALID, received {algo!r}.")
    return _pad_pairs(op_name, attrs["paddings"]), dil


def _pad_nchw(x, pads, value=0.0):
    (t, b), (l, r) = pads
    if not (t or b or l or r):
        return x
    n, c, h, w = x.shape
    shape = (n, c, h + t + b, w + l + r)
    out = np.zeros(shape, dtype=x.dtype) if value == 0 else np.full(shape, value, dtype=x.dtype)
    out[:, :, t:t + h, l:l + w] = x
    return out


def _windows(xp, kh, kw, sh, sw, dh, dw, oh, ow):
    """Zero-copy view (C, KH, KW, N, OH, OW) of the windows of a padded NCHW array."""
    n, c = xp.shape[:2]
    s0, s1, s2, s3 = xp.strides
    return as_strided(xp, (c, kh, kw, n, oh, ow), (s1, s2 * dh, s3 * dw, s0, s2 * sh, s3 * sw),
                      writeable=False)


def _im2col(xp, kh, kw, sh, sw, dh, dw, oh, ow):
    """Columns (C*KH*KW, N*OH*OW) of a padded NCHW array (one copy)."""
    c, n = xp.shape[1], xp.shape[0]
    return _windows(xp, kh, kw, sh, sw, dh, dw, oh, ow).reshape(c * kh * kw, n * oh * ow)


def _col2im(cols, n, c, hp, wp, kh, kw, sh, sw, dh, dw, oh, ow):
    """Sum columns (C*KH*KW, N*OH*OW) back into a padded (N, C, Hp, Wp) array."""
    cols = cols.reshape(c, kh, kw, n, oh, ow)
    buf = np.zeros((c, n, hp, wp), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            buf[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw] += cols[:, i, j]
    return buf.transpose(1, 0, 2, 3)


def _out_size(op_name, n_in, k, d, p0, p1, s):
    if n_in < 0:
        return -1
    ext = d * (k - 1) + 1
    o = (n_in + p0 + p1 - ext) // s + 1
    if o <= 0:
        raise ValueError(f"{op_name}: the output size would be {o} (input {n_in}, padding ({p0}, {p1}), "
                         f"kernel {k}, dilation {d}, stride {s}); it must be positive.")
    return o


def _meta_out(shape, dtype):
    return (list(shape), dtype)


# ---------------------------------------------------------------------------- conv2d
def _conv_geometry(op_name, xshape, wshape, attrs):
    fmt = attrs["data_format"]
    if len(xshape) != 4:
        raise ValueError(f"{op_name}: Input must be 4-D ({fmt}), received shape {list(xshape)}.")
    if len(wshape) != 4:
        raise ValueError(f"{op_name}: Filter must be 4-D [out_channels, in_channels/groups, kh, kw], "
                         f"received shape {list(wshape)}.")
    groups = int(attrs["groups"]) or 1
    c = xshape[3] if _channel_last(fmt) else xshape[1]
    m, cg, kh, kw = wshape
    if c >= 0 and c != cg * groups:
        raise ValueError(f"{op_name}: Input has {c} channels (shape {list(xshape)}, {fmt}) but Filter "
                         f"{list(wshape)} with groups={groups} expects {cg * groups} "
                         f"(= Filter.shape[1] * groups).")
    if m % groups:
        raise ValueError(f"{op_name}: Filter's out_channels {m} (Filter {list(wshape)}) is not divisible "
                         f"by groups={groups}.")
    strides = [int(v) for v in attrs["strides"]]
    hw = _spatial(xshape, fmt)
    pads, dil = _resolve_pads(op_name, attrs, hw, [kh, kw], strides, attrs["dilations"])
    oh = _out_size(op_name, hw[0], kh, dil[0], *pads[0], strides[0])
    ow = _out_size(op_name, hw[1], kw, dil[1], *pads[1], strides[1])
    return dict(groups=groups, m=m, cg=cg, kh=kh, kw=kw, strides=strides, pads=pads, dil=dil, oh=oh, ow=ow)


def _conv_forward(op_name, ins, attrs):
    x, w = ins["Input"], ins["Filter"]
    g = _conv_geometry(op_name, x.shape, w.shape, attrs)
    xn = _to_nchw(x, attrs["data_format"])
    n = xn.shape[0]
    xp = _pad_nchw(xn, g["pads"])
    (sh, sw), (dh, dw) = g["strides"], g["dil"]
    groups, m = g["groups"], g["m"]
    if groups == 1:
        # batch-major columns (N, C*KH*KW, OH*OW): the product (N, M, OH*OW) is already NCHW, so no
        # transpose copy of the output (at batch 64 that copy cost as much as the layer's matmul;
        # one stacked matmul, i.e. one gemm per image inside NumPy, is 1.1-4x faster overall)
        c = xp.shape[1]
        cols = _windows(xp, g["kh"], g["kw"], sh, sw, dh, dw, g["oh"], g["ow"]).transpose(3, 0, 1, 2, 4, 5)
        out = np.matmul(w.reshape(m, -1), cols.reshape(n, c * g["kh"] * g["kw"], g["oh"] * g["ow"]))
        return {"Output": _from_nchw(out.reshape(n, m, g["oh"], g["ow"]), attrs["data_format"])}
    cols = _im2col(xp, g["kh"], g["kw"], sh, sw, dh, dw, g["oh"], g["ow"])
    out = np.matmul(w.reshape(groups, m // groups, -1), cols.reshape(groups, -1, cols.shape[1]))
    out = np.ascontiguousarray(out.reshape(m, n, g["oh"], g["ow"]).transpose(1, 0, 2, 3))
    return {"Output": _from_nchw(out, attrs["data_format"])}


def _conv_backward(op_name, ctx):
    x, w = ctx.x("Input"), ctx.x("Filter")
    attrs = ctx.attrs
    fmt = attrs["data_format"]
    g = _conv_geometry(op_name, x.shape, w.shape, attrs)
    xn = _to_nchw(x, fmt)
    n, c, h, wd = xn.shape
    groups, m, kh, kw = g["groups"], g["m"], g["kh"], g["kw"]
    (sh, sw), (dh, dw), (oh, ow) = g["strides"], g["dil"], (g["oh"], g["ow"])
    dout = _to_nchw(ctx.dout("Output"), fmt)
    gm = dout.transpose(1, 0, 2, 3).reshape(groups, m // groups, n * oh * ow)
    res = {}
    xp = _pad_nchw(xn, g["pads"])
    if ctx.needs("Filter"):
        cols = _im2col(xp, kh, kw, sh, sw, dh, dw, oh, ow).reshape(groups, -1, n * oh * ow)
        res["Filter"] = np.matmul(gm, cols.transpose(0, 2, 1)).reshape(w.shape)
    if ctx.needs("Input"):
        dcols = np.matmul(w.reshape(groups, m // groups, -1).transpose(0, 2, 1), gm)
        dxp = _col2im(dcols, n, c, xp.shape[2], xp.shape[3], kh, kw, sh, sw, dh, dw, oh, ow)
        (t, _), (l, _) = g["pads"]
        dx = dxp[:, :, t:t + h, l:l + wd]
        res["Input"] = _from_nchw(np.ascontiguousarray(dx), fmt)
    return res


def _conv_meta(op_name):
    def meta(ins, attrs):
        (xs, xdt), = ins["Input"]
        (ws, _), = ins["Filter"]
        g = _conv_geometry(op_name, xs, ws, attrs)
        n = xs[0]
        if _channel_last(attrs["data_format"]):
            return {"Output": _meta_out([n, g["oh"], g["ow"], g["m"]], xdt)}
        return {"Output": _meta_out([n, g["m"], g["oh"], g["ow"]], xdt)}
    return meta


def _register(name, inputs, attrs, forward, backward, meta):
    """Op ``name`` (output ``Output``) whose kernels take the op's name: the plain and depthwise forms
    of a convolution share them."""
    @op(name, inputs, "Output", dict(attrs))
    def fwd(ins, a):
        return forward(name, ins, a)

    @fwd.grad
    def _bwd(ctx):
        return backward(name, ctx)

    fwd.meta(meta(name))
    return fwd


def _register_conv(name):
    return _register(name, "Input Filter", _CONV_ATTRS, _conv_forward, _conv_backward, _conv_meta)


conv2d = _register_conv("conv2d")
depthwise_conv2d = _register_conv("depthwise_conv2d")


# ---------------------------------------------------------------------------- conv2d_transpose
def _convt_geometry(op_name, xshape, wshape, attrs):
    fmt = attrs["data_format"]
    if len(xshape) != 4 or len(wshape) != 4:
        raise ValueError(f"{op_name}: Input and Filter must be 4-D, received Input {list(xshape)} and "
                         f"Filter {list(wshape)}.")
    groups = int(attrs["groups"]) or 1
    c = xshape[3] if _channel_last(fmt) else xshape[1]
    cin, mg, kh, kw = wshape
    if c >= 0 and c != cin:
        raise ValueError(f"{op_name}: Input has {c} channels (shape {list(xshape)}, {fmt}) but Filter "
                         f"{list(wshape)} expects {cin} (= Filter.shape[0]).")
    if cin % groups:
        raise ValueError(f"{op_name}: in_channels {cin} is not divisible by groups={groups}.")
    strides = [int(v) for v in attrs["strides"]]
    hw = _spatial(xshape, fmt)
    pads, dil = _resolve_pads(op_name, attrs, hw, [kh, kw], strides, attrs["dilations"])
    osize = list(attrs.get("output_size") or [])
    opad = list(attrs.get("output_padding") or [])
    out = []
    for i, k in enumerate((kh, kw)):
        if hw[i] < 0:
            out.append(-1)
            continue
        infer = (hw[i] - 1) * strides[i] - pads[i][0] - pads[i][1] + dil[i] * (k - 1) + 1
        if osize:
            o = int(osize[i])
            if not infer <= o < infer + strides[i]:
                raise ValueError(f"{op_name}: output_size {osize} is not reachable: dimension {i} must lie in "
                                 f"[{infer}, {infer + strides[i]}) for input {list(xshape)}.")
        elif opad:
            if not 0 <= int(opad[i]) < max(strides[i], dil[i]):
                raise ValueError(f"{op_name}: output_padding {opad} must be smaller than max(stride, dilation).")
            o = infer + int(opad[i])
        else:
            o = infer
        if o <= 0:
            raise ValueError(f"{op_name}: the output size would be {o} for input {list(xshape)}.")
        out.append(o)
    return dict(groups=groups, cin=cin, mg=mg, m=mg * groups, kh=kh, kw=kw, strides=strides, pads=pads,
                dil=dil, oh=out[0], ow=out[1])


def _convt_buffer(g, h, w):
    (sh, sw), (dh, dw) = g["strides"], g["dil"]
    full_h = (h - 1) * sh + dh * (g["kh"] - 1) + 1
    full_w = (w - 1) * sw + dw * (g["kw"] - 1) + 1
    return max(full_h, g["pads"][0][0] + g["oh"]), max(full_w, g["pads"][1][0] + g["ow"])


def _convt_forward(op_name, ins, attrs):
    x, w = ins["Input"], ins["Filter"]
    fmt = attrs["data_format"]
    g = _convt_geometry(op_name, x.shape, w.shape, attrs)
    xn = _to_nchw(x, fmt)
    n, cin, h, wd = xn.shape
    groups, mg, kh, kw = g["groups"], g["mg"], g["kh"], g["kw"]
    xm = xn.transpose(1, 0, 2, 3).reshape(groups, cin // groups, n * h * wd)
    wm = w.reshape(groups, cin // groups, mg * kh * kw).transpose(0, 2, 1)
    cols = np.matmul(wm, xm)
    hb, wb = _convt_buffer(g, h, wd)
    (sh, sw), (dh, dw) = g["strides"], g["dil"]
    buf = _col2im(cols, n, g["m"], hb, wb, kh, kw, sh, sw, dh, dw, h, wd)
    t, l = g["pads"][0][0], g["pads"][1][0]
    out = np.ascontiguousarray(buf[:, :, t:t + g["oh"], l:l + g["ow"]])
    if ins.get("Bias") is not None:
        out = out + ins["Bias"].reshape(1, -1, 1, 1)
    return {"Output": _from_nchw(out, fmt)}


def _convt_backward(op_name, ctx):
    x, w = ctx.x("Input"), ctx.x("Filter")
    fmt = ctx.attrs["data_format"]
    g = _convt_geometry(op_name, x.shape, w.shape, ctx.attrs)
    xn = _to_nchw(x, fmt)
    n, cin, h, wd = xn.shape
    groups, mg, kh, kw, m = g["groups"], g["mg"], g["kh"], g["kw"], g["m"]
    dout = _to_nchw(ctx.dout("Output"), fmt)
    hb, wb = _convt_buffer(g, h, wd)
    t, l = g["pads"][0][0], g["pads"][1][0]
    gb = np.zeros((n, m, hb, wb), dtype=dout.dtype)
    gb[:, :, t:t + g["oh"], l:l + g["ow"]] = dout
    (sh, sw), (dh, dw) = g["strides"], g["dil"]
    cols = _im2col(gb, kh, kw, sh, sw, dh, dw, h, wd).reshape(groups, mg * kh * kw, n * h * wd)
    res = {}
    if ctx.needs("Input"):
        dx = np.matmul(w.reshape(groups, cin // groups, mg * kh * kw), cols)
        dx = dx.reshape(cin, n, h, wd).transpose(1, 0, 2, 3)
        res["Input"] = _from_nchw(np.ascontiguousarray(dx), fmt)
    if ctx.needs("Filter"):
        xm = xn.transpose(1, 0, 2, 3).reshape(groups, cin // groups, n * h * wd)
        res["Filter"] = np.matmul(xm, cols.transpose(0, 2, 1)).reshape(w.shape)
    if ctx.needs("Bias") and ctx.x("Bias") is not None:
        res["Bias"] = dout.sum(axis=(0, 2, 3)).reshape(ctx.x("Bias").shape)
    return res


def _convt_meta(op_name):
    def meta(ins, attrs):
        (xs, xdt), = ins["Input"]
        (ws, _), = ins["Filter"]
        g = _convt_geometry(op_name, xs, ws, attrs)
        if _channel_last(attrs["data_format"]):
            return {"Output": _meta_out([xs[0], g["oh"], g["ow"], g["m"]], xdt)}
        return {"Output": _meta_out([xs[0], g["m"], g["oh"], g["ow"]], xdt)}
    return meta


def _register_convt(name):
    return _register(name, "Input Filter Bias?", _CONVT_ATTRS, _convt_forward, _convt_backward, _convt_meta)


conv2d_transpose = _register_convt("conv2d_transpose")
depthwise_conv2d_transpose = _register_convt("depthwise_conv2d_transpose")


# ---------------------------------------------------------------------------- pooling
def _adaptive_bounds(n_in, n_out):
    o = np.arange(n_out)
    start = (o * n_in) // n_out
    end = -((-(o + 1) * n_in) // n_out)
    return start, end


def _pool_geometry(op_name, xshape, attrs):
    fmt = attrs["data_format"]
    if len(xshape) != 4:
        raise ValueError(f"{op_name}: X must be 4-D ({fmt}), received shape {list(xshape)}.")
    hw = _spatial(xshape, fmt)
    ksize = [int(v) for v in attrs["ksize"]]
    strides = [int(v) for v in attrs["strides"]]
    if len(ksize) != 2:
        raise ValueError(f"{op_name}: ksize must have 2 values, received {ksize}.")
    adaptive, glob = bool(attrs["adaptive"]), bool(attrs["global_pooling"])
    if glob:
        ksize = list(hw)
    algo = attrs.get("padding_algorithm", "EXPLICIT") or "EXPLICIT"
    if glob or adaptive or algo == "VALID":
        pads = [(0, 0), (0, 0)]
    elif algo == "SAME":
        pads, _ = _resolve_pads(op_name, attrs, hw, ksize, strides, [1, 1])
    else:
        pads = _pad_pairs(op_name, attrs["paddings"])
    if adaptive:
        out = list(ksize)
    else:
        out = []
        for i in range(2):
            if hw[i] < 0:
                out.append(-1)
                continue
            span = hw[i] - ksize[i] + pads[i][0] + pads[i][1]
            o = (span + strides[i] - 1) // strides[i] + 1 if attrs["ceil_mode"] else span // strides[i] + 1
            if o <= 0:
                raise ValueError(f"{op_name}: the output size would be {o} (input {list(xshape)}, ksize "
                                 f"{ksize}, paddings {pads}, strides {strides}); it must be positive.")
            out.append(o)
    return dict(hw=hw, ksize=ksize, strides=strides, pads=pads, out=out, adaptive=adaptive)


def _pool_divisor(n_in, k, s, p0, n_out, exclusive):
    """Per-output-position divisor along one axis (Paddle's CPU window rule)."""
    start = np.arange(n_out) * s - p0
    end = np.minimum(start + k, n_in + p0)
    if exclusive:
        return np.minimum(end, n_in) - np.maximum(start, 0)
    return end - start


def _avg_matrix(n_in, n_out, dtype):
    start, end = _adaptive_bounds(n_in, n_out)
    idx = np.arange(n_in)
    inside = (idx[None, :] >= start[:, None]) & (idx[None, :] < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _pool_pads(g):
    """Padding so every window (also the extra ones of ceil_mode) lies inside the array."""
    (t, b), (l, r) = g["pads"]
    need_h = (g["out"][0] - 1) * g["strides"][0] + g["ksize"][0]
    need_w = (g["out"][1] - 1) * g["strides"][1] + g["ksize"][1]
    b = max(b, need_h - g["hw"][0] - t, 0)
    r = max(r, need_w - g["hw"][1] - l, 0)
    return [(t, b), (l, r)]


def _pool_padded(xn, g, value):
    return _pad_nchw(xn, _pool_pads(g), value)


def _slices(g, i, j):
    (sh, sw), (oh, ow) = g["strides"], g["out"]
    return (slice(None), slice(None), slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw))


def _max_pool(xn, g, want_arg=False):
    low = -np.finfo(xn.dtype).max if xn.dtype.kind == "f" else np.iinfo(xn.dtype).min
    xp = _pool_padded(xn, g, low)
    kh, kw = g["ksize"]
    best = xp[_slices(g, 0, 0)].copy()
    arg = np.zeros(best.shape, dtype=np.int32) if want_arg else None
    for i in range(kh):
        for j in range(kw):
            if i == 0 and j == 0:
                continue
            cand = xp[_slices(g, i, j)]
            if want_arg:
                np.copyto(arg, i * kw + j, where=cand > best)   # strict: the first maximum wins
            np.maximum(best, cand, out=best)
    return best, arg, xp.shape


def _avg_pool(xn, g, exclusive):
    xp = _pool_padded(xn, g, 0)
    kh, kw = g["ksize"]
    acc = np.zeros((xn.shape[0], xn.shape[1], g["out"][0], g["out"][1]), dtype=xn.dtype)
    for i in range(kh):
        for j in range(kw):
            acc += xp[_slices(g, i, j)]
    dh = _pool_divisor(g["hw"][0], kh, g["strides"][0], g["pads"][0][0], g["out"][0], exclusive)
    dw = _pool_divisor(g["hw"][1], kw, g["strides"][1], g["pads"][1][0], g["out"][1], exclusive)
    div = (dh[:, None] * dw[None, :]).astype(xn.dtype)
    return acc / div, div


def _adaptive_gather(xn, g):
    """Windows of adaptive pooling: (N, C, OH, OW, LH*LW) values and validity, plus index maps."""
    (h, w), (oh, ow) = g["hw"], g["out"]
    hs, he = _adaptive_bounds(h, oh)
    ws, we = _adaptive_bounds(w, ow)
    lh, lw = int((he - hs).max()), int((we - ws).max())
    ih = hs[:, None] + np.arange(lh)[None, :]
    iw = ws[:, None] + np.arange(lw)[None, :]
    vh, vw = ih < he[:, None], iw < we[:, None]
    ih, iw = np.minimum(ih, h - 1), np.minimum(iw, w - 1)
    vals = xn[:, :, ih[:, None, :, None], iw[None, :, None, :]]          # N C OH OW LH LW
    valid = vh[:, None, :, None] & vw[None, :, None, :]                   # OH OW LH LW
    n, c = xn.shape[:2]
    return vals.reshape(n, c, oh, ow, lh * lw), valid.reshape(oh, ow, lh * lw), ih, iw, lw


def _pool_forward(ins, attrs):
    x = ins["X"]
    fmt = attrs["data_format"]
    g = _pool_geometry("pool2d", x.shape, attrs)
    xn = _to_nchw(x, fmt)
    ptype = attrs["pooling_type"]
    if ptype not in ("max", "avg"):
        raise ValueError(f"pool2d: pooling_type must be 'max' or 'avg', received {ptype!r}.")
    if g["adaptive"]:
        if ptype == "avg":
            ah = _avg_matrix(g["hw"][0], g["out"][0], xn.dtype)
            aw = _avg_matrix(g["hw"][1], g["out"][1], xn.dtype)
            out = ah @ (xn @ aw.T)
        else:
            vals, valid, *_ = _adaptive_gather(xn, g)
            out = np.where(valid, vals, -np.inf).max(axis=-1).astype(xn.dtype)
    elif ptype == "max":
        out = _max_pool(xn, g)[0]
    else:
        out = _avg_pool(xn, g, attrs["exclusive"])[0]
    return {"Out": _from_nchw(np.ascontiguousarray(out), fmt)}


def _scatter_windows(g, grad, shape_padded, dtype, arg=None):
    """Add ``grad`` into a padded input gradient at every kernel offset (only where ``arg`` names
    that offset, for max pooling)."""
    buf = np.zeros(shape_padded, dtype=dtype)
    kw = g["ksize"][1]
    for i in range(g["ksize"][0]):
        for j in range(kw):
            sl = buf[_slices(g, i, j)]
            if arg is None:
                sl += grad
            else:
                np.add(sl, grad, out=sl, where=(arg == i * kw + j))
    (t, _), (l, _) = g["pads"]
    h, w = g["hw"]
    return buf[:, :, t:t + h, l:l + w]


def _max_pool_grad_tiled(xn, out, dout, g):
    """Max-pool gradient when windows tile the input (stride == kernel): one comparison with the
    broadcast maxima finds every argmax at once. Returns None when a window holds a tie (then the
    first-maximum rule needs the offset loop)."""
    (kh, kw), (oh, ow) = g["ksize"], g["out"]
    low = -np.finfo(xn.dtype).max if xn.dtype.kind == "f" else np.iinfo(xn.dtype).min
    xp = _pool_padded(xn, g, low)
    n, c = xn.shape[:2]
    xr = xp[:, :, :oh * kh, :ow * kw].reshape(n, c, oh, kh, ow, kw)
    hit = xr == out[:, :, :, None, :, None]
    if np.count_nonzero(hit) != out.size:
        return None
    buf = np.zeros(xp.shape, dtype=xn.dtype)
    buf[:, :, :oh * kh, :ow * kw] = (hit * dout[:, :, :, None, :, None]).reshape(n, c, oh * kh, ow * kw)
    (t, _), (l, _) = g["pads"]
    return buf[:, :, t:t + g["hw"][0], l:l + g["hw"][1]]


def _pool_backward_nchw(xn, dout, attrs, g, out=None):
    ptype = attrs["pooling_type"]
    if g["adaptive"]:
        if ptype == "avg":
            ah = _avg_matrix(g["hw"][0], g["out"][0], xn.dtype)
            aw = _avg_matrix(g["hw"][1], g["out"][1], xn.dtype)
            return (ah.T @ dout) @ aw
        vals, valid, ih, iw, lw = _adaptive_gather(xn, g)
        arg = np.where(valid, vals, -np.inf).argmax(axis=-1)             # N C OH OW
        oh_i = np.arange(g["out"][0])[:, None]
        ow_i = np.arange(g["out"][1])[None, :]
        hsel = ih[oh_i, arg // lw]
        wsel = iw[ow_i, arg % lw]
        n, c = xn.shape[:2]
        dx = np.zeros_like(xn)
        ni = np.arange(n)[:, None, None, None]
        ci = np.arange(c)[None, :, None, None]
        np.add.at(dx, (ni, ci, hsel, wsel), dout)
        return dx
    if ptype == "max":
        if out is not None and g["strides"] == g["ksize"]:
            dx = _max_pool_grad_tiled(xn, out, dout, g)
            if dx is not None:
                return dx
        _, arg, pshape = _max_pool(xn, g, want_arg=True)
        return _scatter_windows(g, dout, pshape, xn.dtype, arg)
    _, div = _avg_pool(xn, g, attrs["exclusive"])
    scaled = dout / div
    (t, b), (l, r) = _pool_pads(g)
    pshape = (xn.shape[0], xn.shape[1], g["hw"][0] + t + b, g["hw"][1] + l + r)
    return _scatter_windows(g, scaled, pshape, xn.dtype)


@op("pool2d", "X", "Out", dict(_POOL_ATTRS))
def pool2d(ins, attrs):
    return _pool_forward(ins, attrs)


@pool2d.grad
def _pool2d_grad(ctx):
    x = ctx.x("X")
    fmt = ctx.attrs["data_format"]
    g = _pool_geometry("pool2d", x.shape, ctx.attrs)
    dx = _pool_backward_nchw(_to_nchw(x, fmt), _to_nchw(ctx.dout("Out"), fmt), ctx.attrs, g,
                             _to_nchw(ctx.out("Out"), fmt))
    return {"X": _from_nchw(np.ascontiguousarray(dx), fmt)}


@pool2d.meta
def _pool2d_meta(ins, attrs):
    (xs, xdt), = ins["X"]
    g = _pool_geometry("pool2d", xs, attrs)
    (oh, ow) = g["out"]
    if _channel_last(attrs["data_format"]):
        return {"Out": _meta_out([xs[0], oh, ow, xs[3]], xdt)}
    return {"Out": _meta_out([xs[0], xs[1], oh, ow], xdt)}


# ---------------------------------------------------------------------------- max_pool2d_with_index
_MPI_ATTRS = {
    "ksize": ("ints", [1, 1]),
    "strides": ("ints", [1, 1]),
    "paddings": ("ints", [0, 0]),
    "global_pooling": ("bool", False),
    "adaptive": ("bool", False),
}


def _mpi_geometry(xshape, attrs):
    a = dict(attrs, data_format="NCHW", ceil_mode=False, padding_algorithm="EXPLICIT")
    return _pool_geometry("max_pool2d_with_index", xshape, a)


@op("max_pool2d_with_index", "X", "Out Mask", dict(_MPI_ATTRS))
def max_pool2d_with_index(ins, attrs):
    """Max pooling that also returns, per output, the flat index ``h * W + w`` of the maximum."""
    x = ins["X"]
    g = _mpi_geometry(x.shape, attrs)
    h, w = g["hw"]
    if g["adaptive"]:
        vals, valid, ih, iw, lw = _adaptive_gather(x, g)
        masked = np.where(valid, vals, -np.inf)
        arg = masked.argmax(axis=-1)
        out = np.take_along_axis(masked, arg[..., None], -1)[..., 0].astype(x.dtype)
        hsel = ih[np.arange(g["out"][0])[:, None], arg // lw]
        wsel = iw[np.arange(g["out"][1])[None, :], arg % lw]
    else:
        out, arg, _ = _max_pool(x, g, want_arg=True)
        kw = g["ksize"][1]
        oh_i = np.arange(g["out"][0])[:, None] * g["strides"][0] - g["pads"][0][0]
        ow_i = np.arange(g["out"][1])[None, :] * g["strides"][1] - g["pads"][1][0]
        hsel = oh_i + arg // kw
        wsel = ow_i + arg % kw
    return {"Out": out, "Mask": (hsel * w + wsel).astype(np.int32)}


@max_pool2d_with_index.grad
def _max_pool2d_with_index_grad(ctx):
    x, mask, g = ctx.x("X"), ctx.out("Mask"), ctx.dout("Out")
    n, c, h, w = x.shape
    dx = np.zeros((n, c, h * w), dtype=x.dtype)
    flat = mask.reshape(n, c, -1).astype(np.int64)
    np.add.at(dx, (np.arange(n)[:, None, None], np.arange(c)[None, :, None], flat), g.reshape(n, c, -1))
    return {"X": dx.reshape(x.shape)}


@max_pool2d_with_index.meta
def _mpi_meta(ins, attrs):
    (xs, xdt), = ins["X"]
    g = _mpi_geometry(xs, attrs)
    from ..core.dtype import BY_NAME
    shape = [xs[0], xs[1], g["out"][0], g["out"][1]]
    return {"Out": _meta_out(shape, xdt), "Mask": _meta_out(shape, BY_NAME["int32"])}
