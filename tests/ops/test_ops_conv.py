"""conv2d / depthwise_conv2d / conv2d_transpose / pool2d / max_pool2d_with_index: forward vs naive
float64 loops written from Paddle's CPU kernels, backward vs central differences, static vs eager."""
import numpy as np
import pytest

import sampan as paddle
from sampan.core.dispatch import run_op, OpError
from tests.ops.harness import OpSpec, check_forward, check_backward, spec_tests


def _op(type_name, in_slots, out_slot="Out", **fixed):
    def fn(*ts, **attrs):
        ins = dict(zip(in_slots, ts))
        return run_op(type_name, ins, {**fixed, **attrs})[out_slot]
    fn.__name__ = type_name
    return fn


# ---------------------------------------------------------------------------- references
def _pads4(p):
    return [p[0], p[0], p[1], p[1]] if len(p) == 2 else list(p)


def ref_conv2d(x, w, strides=(1, 1), paddings=(0, 0), dilations=(1, 1), groups=1, data_format="NCHW",
               padding_algorithm="EXPLICIT"):
    if data_format == "NHWC":
        x = x.transpose(0, 3, 1, 2)
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    s, d = list(strides), list(dilations)
    t, b, l, r = _pads4(paddings)
    if padding_algorithm == "VALID":
        t = b = l = r = 0
    if padding_algorithm == "SAME":
        pads = []
        for size, k, st in ((h, kh, s[0]), (wd, kw, s[1])):
            o = -(-size // st)
            tot = max((o - 1) * st + k - size, 0)
            pads += [tot // 2, tot - tot // 2]
        t, b, l, r = pads
        d = [1, 1]
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)))
    oh = (h + t + b - (d[0] * (kh - 1) + 1)) // s[0] + 1
    ow = (wd + l + r - (d[1] * (kw - 1) + 1)) // s[1] + 1
    out = np.zeros((n, m, oh, ow))
    mg = m // groups
    for mi in range(m):
        gi = mi // mg
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, gi * cg:(gi + 1) * cg, i * s[0]:i * s[0] + d[0] * (kh - 1) + 1:d[0],
                           j * s[1]:j * s[1] + d[1] * (kw - 1) + 1:d[1]]
                out[:, mi, i, j] = (patch * w[mi]).sum(axis=(1, 2, 3))
    return out.transpose(0, 2, 3, 1) if data_format == "NHWC" else out


def ref_conv2d_transpose(x, w, bias=None, strides=(1, 1), paddings=(0, 0), dilations=(1, 1), groups=1,
                         output_padding=(), output_size=(), data_format="NCHW"):
    if data_format == "NHWC":
        x = x.transpose(0, 3, 1, 2)
    n, cin, h, wd = x.shape
    _, mg, kh, kw = w.shape
    s, d = strides, dilations
    t, b, l, r = _pads4(paddings)
    full = np.zeros((n, mg * groups, (h - 1) * s[0] + d[0] * (kh - 1) + 1 + 8,
                     (wd - 1) * s[1] + d[1] * (kw - 1) + 1 + 8))
    cg = cin // groups
    for ci in range(cin):
        gi = ci // cg
        for i in range(h):
            for j in range(wd):
                for a in range(kh):
                    for e in range(kw):
                        full[:, gi * mg:(gi + 1) * mg, i * s[0] + a * d[0], j * s[1] + e * d[1]] += \
                            x[:, ci, i, j][:, None] * w[ci, :, a, e][None, :]
    oh = (h - 1) * s[0] - t - b + d[0] * (kh - 1) + 1
    ow = (wd - 1) * s[1] - l - r + d[1] * (kw - 1) + 1
    if output_size:
        oh, ow = output_size
    elif output_padding:
        oh, ow = oh + output_padding[0], ow + output_padding[1]
    out = full[:, :, t:t + oh, l:l + ow]
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out.transpose(0, 2, 3, 1) if data_format == "NHWC" else out


def ref_pool2d(x, pooling_type="max", ksize=(2, 2), strides=(1, 1), paddings=(0, 0), global_pooling=False,
               adaptive=False, ceil_mode=False, exclusive=True, data_format="NCHW"):
    if data_format == "NHWC":
        x = x.transpose(0, 3, 1, 2)
    n, c, h, w = x.shape
    t, b, l, r = _pads4(paddings)
    k = list(ksize)
    if global_pooling:
        k, t, b, l, r = [h, w], 0, 0, 0, 0
    if adaptive:
        oh, ow = k
    else:
        def osz(i, kk, p0, p1, st):
            span = i - kk + p0 + p1
            return (span + st - 1) // st + 1 if ceil_mode else span // st + 1
        oh, ow = osz(h, k[0], t, b, strides[0]), osz(w, k[1], l, r, strides[1])
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            if adaptive:
                hs, he = (i * h) // oh, -(-((i + 1) * h) // oh)
                ws, we = (j * w) // ow, -(-((j + 1) * w) // ow)
                size = (he - hs) * (we - ws)
            else:
                hs, ws = i * strides[0] - t, j * strides[1] - l
                he, we = min(hs + k[0], h + t), min(ws + k[1], w + l)
                size = (he - hs) * (we - ws)
                hs, ws, he, we = max(hs, 0), max(ws, 0), min(he, h), min(we, w)
                if exclusive:
                    size = (he - hs) * (we - ws)
            win = x[:, :, hs:he, ws:we]
            out[:, :, i, j] = win.max(axis=(2, 3)) if pooling_type == "max" else win.sum(axis=(2, 3)) / size
    return out.transpose(0, 2, 3, 1) if data_format == "NHWC" else out


def _u(shape, lo=-1.0, hi=1.0):
    return lambda rng: rng.uniform(lo, hi, size=shape)


def _distinct(shape):
    """Values spaced apart (no near-ties): max pooling stays differentiable for central differences."""
    def f(rng):
        n = int(np.prod(shape))
        return (rng.permutation(n) * 0.1 + rng.uniform(0, 0.01, n)).reshape(shape) - n * 0.05
    return f


conv = _op("conv2d", ["Input", "Filter"], "Output")
dwconv = _op("depthwise_conv2d", ["Input", "Filter"], "Output")
convt = _op("conv2d_transpose", ["Input", "Filter"], "Output")
convt_b = _op("conv2d_transpose", ["Input", "Filter", "Bias"], "Output")
pool = _op("pool2d", ["X"])

SPECS = [
    OpSpec("conv2d_basic", conv, ref_conv2d, [(2, 3, 5, 5), (4, 3, 3, 3)], dict(paddings=[1, 1])),
    OpSpec("conv2d_stride_asym_pad", conv, ref_conv2d, [(2, 2, 7, 6), (3, 2, 3, 2)],
           dict(strides=[2, 1], paddings=[1, 0, 2, 1])),
    OpSpec("conv2d_dilation_groups", conv, ref_conv2d, [(1, 4, 7, 7), (6, 2, 3, 3)],
           dict(dilations=[2, 1], groups=2, paddings=[1, 1])),
    OpSpec("conv2d_nhwc", conv, ref_conv2d, [(2, 5, 4, 3), (2, 3, 2, 2)], dict(data_format="NHWC", strides=[2, 2])),
    OpSpec("conv2d_same", conv, ref_conv2d, [(1, 2, 5, 6), (2, 2, 3, 2)],
           dict(padding_algorithm="SAME", strides=[2, 2], dilations=[2, 2])),
    OpSpec("conv2d_valid", conv, ref_conv2d, [(1, 2, 5, 6), (2, 2, 3, 3)],
           dict(padding_algorithm="VALID", paddings=[3, 3])),
    OpSpec("depthwise_conv2d", dwconv, ref_conv2d, [(2, 3, 5, 5), (6, 1, 3, 3)], dict(groups=3, paddings=[1, 1])),
    OpSpec("conv2d_transpose", convt, ref_conv2d_transpose, [(2, 3, 3, 4), (3, 2, 3, 3)],
           dict(strides=[2, 2], paddings=[1, 1], output_padding=[1, 1])),
    OpSpec("conv2d_transpose_groups_dil", convt, ref_conv2d_transpose, [(1, 4, 3, 3), (4, 1, 2, 3)],
           dict(groups=2, dilations=[2, 1], paddings=[0, 1, 1, 0])),
    OpSpec("conv2d_transpose_output_size", convt, ref_conv2d_transpose, [(1, 2, 3, 3), (2, 2, 3, 3)],
           dict(strides=[3, 2], output_size=[9, 8])),
    OpSpec("conv2d_transpose_nhwc", convt, ref_conv2d_transpose, [(1, 3, 2, 2), (2, 3, 2, 2)],
           dict(data_format="NHWC", strides=[2, 1])),
    OpSpec("conv2d_transpose_bias", convt_b, ref_conv2d_transpose, [(1, 2, 3, 3), (2, 3, 2, 2), (3,)],
           dict(strides=[1, 2])),
    OpSpec("pool2d_max", pool, ref_pool2d, [_distinct((2, 3, 4, 6))],
           dict(pooling_type="max", ksize=[2, 2], strides=[2, 2])),
    OpSpec("pool2d_max_pad_overlap", pool, ref_pool2d, [_distinct((1, 2, 7, 6))],
           dict(pooling_type="max", ksize=[3, 3], strides=[2, 2], paddings=[1, 1])),
    OpSpec("pool2d_max_ceil", pool, ref_pool2d, [_distinct((1, 2, 5, 7))],
           dict(pooling_type="max", ksize=[2, 3], strides=[2, 2], ceil_mode=True)),
    OpSpec("pool2d_avg_exclusive", pool, ref_pool2d, [(2, 2, 5, 5)],
           dict(pooling_type="avg", ksize=[3, 3], strides=[2, 2], paddings=[1, 1])),
    OpSpec("pool2d_avg_inclusive_asym", pool, ref_pool2d, [(1, 2, 6, 5)],
           dict(pooling_type="avg", ksize=[3, 2], strides=[2, 1], paddings=[2, 0, 1, 1], exclusive=False)),
    OpSpec("pool2d_avg_ceil_inclusive", pool, ref_pool2d, [(1, 2, 5, 5)],
           dict(pooling_type="avg", ksize=[2, 2], strides=[2, 2], ceil_mode=True, exclusive=False)),
    OpSpec("pool2d_global_avg", pool, ref_pool2d, [(2, 3, 4, 5)],
           dict(pooling_type="avg", global_pooling=True, ksize=[1, 1])),
    OpSpec("pool2d_global_max", pool, ref_pool2d, [_distinct((2, 3, 4, 5))],
           dict(pooling_type="max", global_pooling=True, ksize=[1, 1])),
    OpSpec("pool2d_adaptive_avg", pool, ref_pool2d, [(2, 2, 5, 7)],
           dict(pooling_type="avg", adaptive=True, ksize=[3, 4])),
    OpSpec("pool2d_adaptive_max", pool, ref_pool2d, [_distinct((1, 2, 5, 7))],
           dict(pooling_type="max", adaptive=True, ksize=[3, 4])),
    OpSpec("pool2d_avg_nhwc", pool, ref_pool2d, [(1, 4, 4, 3)],
           dict(pooling_type="avg", ksize=[2, 2], strides=[2, 2], data_format="NHWC")),
]


test_forward, test_backward, test_static = spec_tests(SPECS)


# ---------------------------------------------------------------------------- SAME for pooling / transpose
def test_pool2d_same_padding_matches_explicit():
    x = np.random.default_rng(0).standard_normal((1, 1, 5, 5)).astype(np.float32)
    t = paddle.to_tensor(x)
    same = pool(t, pooling_type="avg", ksize=[2, 2], strides=[2, 2], padding_algorithm="SAME").numpy()
    # in=5, s=2 -> out=3, pad_sum = (3-1)*2 + 2 - 5 = 1 -> (0, 1)
    explicit = ref_pool2d(x.astype(np.float64), "avg", (2, 2), (2, 2), (0, 1, 0, 1))
    np.testing.assert_allclose(same, explicit, rtol=1e-6)


def test_max_pool2d_with_index():
    x = _distinct((2, 2, 5, 6))(np.random.default_rng(3))
    t = paddle.to_tensor(x.astype(np.float32))
    res = run_op("max_pool2d_with_index", {"X": t}, {"ksize": [2, 3], "strides": [2, 2], "paddings": [1, 0]})
    out, mask = res["Out"].numpy(), res["Mask"].numpy()
    ref = ref_pool2d(x, "max", (2, 3), (2, 2), (1, 0))
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    assert mask.dtype == np.int32
    flat = x.reshape(2, 2, -1)
    np.testing.assert_allclose(np.take_along_axis(flat, mask.reshape(2, 2, -1), -1).reshape(out.shape), ref)
    res = run_op("max_pool2d_with_index", {"X": t}, {"ksize": [2, 4], "adaptive": True})
    np.testing.assert_allclose(res["Out"].numpy(), ref_pool2d(x, "max", (2, 4), adaptive=True), rtol=1e-6)


def test_max_pool2d_with_index_backward():
    spec = OpSpec("mpi", _op("max_pool2d_with_index", ["X"], ksize=[2, 2], strides=[2, 2]),
                  lambda x: ref_pool2d(x, "max", (2, 2), (2, 2)), [_distinct((1, 2, 4, 4))])
    check_forward(spec)
    check_backward(spec)


def test_max_pool_gradient_goes_to_first_maximum():
    x = paddle.to_tensor(np.array([[[[1.0, 3.0], [3.0, 0.0]]]], np.float32), stop_gradient=False)
    pool(x, pooling_type="max", ksize=[2, 2], strides=[2, 2]).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[[0, 1], [0, 0]]]])


# ---------------------------------------------------------------------------- errors and metadata
def test_conv_wrong_channels_names_op_and_shapes():
    x = paddle.to_tensor(np.zeros((1, 3, 5, 5), np.float32))
    w = paddle.to_tensor(np.zeros((4, 2, 3, 3), np.float32))
    with pytest.raises(ValueError) as e:
        conv(x, w)
    msg = str(e.value)
    assert "conv2d" in msg and "[1, 3, 5, 5]" in msg and "[4, 2, 3, 3]" in msg and "3 channels" in msg


def test_conv_output_too_small_is_an_error():
    x = paddle.to_tensor(np.zeros((1, 1, 2, 2), np.float32))
    w = paddle.to_tensor(np.zeros((1, 1, 3, 3), np.float32))
    with pytest.raises(ValueError, match="conv2d: the output size"):
        conv(x, w)


def test_conv_transpose_unreachable_output_size():
    x = paddle.to_tensor(np.zeros((1, 1, 3, 3), np.float32))
    w = paddle.to_tensor(np.zeros((1, 1, 3, 3), np.float32))
    with pytest.raises(ValueError, match="output_size"):
        convt(x, w, strides=[2, 2], output_size=[9, 9])


def test_conv_meta_handles_unknown_dims():
    from sampan.ops.registry import get_op
    from sampan.core.dtype import BY_NAME
    f32 = BY_NAME["float32"]
    meta = get_op("conv2d").infer_meta({"Input": [([-1, 3, -1, 32], f32)], "Filter": [([8, 3, 3, 3], f32)]},
                                       get_op("conv2d").fill_attrs({"strides": [2, 2], "paddings": [1, 1]}))
    assert meta["Output"][0] == [-1, 8, -1, 16]
    meta = get_op("pool2d").infer_meta({"X": [([-1, 3, 7, 7], f32)]},
                                       get_op("pool2d").fill_attrs({"ksize": [2, 2], "strides": [2, 2],
                                                                    "ceil_mode": True}))
    assert meta["Out"][0] == [-1, 3, 4, 4]


def test_conv_keeps_float32():
    x = paddle.to_tensor(np.ones((1, 2, 4, 4), np.float32))
    w = paddle.to_tensor(np.ones((3, 2, 3, 3), np.float32))
    assert conv(x, w).dtype == paddle.float32
    assert pool(x, pooling_type="avg", ksize=[2, 2], strides=[2, 2]).dtype == paddle.float32
    assert isinstance(OpError("x"), ValueError)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_float32_in_float32_out(spec):
    from tests.ops.harness import sample, _tensors, _pick
    out = _pick(spec, spec.fn(*_tensors(sample(spec), np.float32), **spec.kwargs))
    assert out.numpy().dtype == np.float32, f"{spec.name}: {out.numpy().dtype}"
