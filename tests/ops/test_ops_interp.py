"""nearest / bilinear / linear / trilinear / bicubic interp_v2 against per-pixel loops written from Paddle's
CPU kernels (ratios in float32 as Paddle computes them)."""
import numpy as np
import pytest

import sampan as paddle
from sampan.core.dispatch import run_op
from tests.ops.harness import OpSpec, spec_tests


def _op(type_name, **fixed):
    def fn(x, **attrs):
        return run_op(type_name, {"X": x}, {**fixed, **attrs})["Out"]
    fn.__name__ = type_name
    return fn


def _ratio(n_in, n_out, scale, align_corners):
    if n_out <= 1:
        return np.float32(0)
    if align_corners:
        return np.float32(n_in - 1) / np.float32(n_out - 1)
    return np.float32(1.0 / scale) if scale > 0 else np.float32(n_in) / np.float32(n_out)


def _sizes(in_sp, out_sizes, scale):
    if scale:
        sc = list(scale) * (len(in_sp) if len(scale) == 1 else 1)
        return [int(np.float32(i) * np.float32(s)) for i, s in zip(in_sp, sc)], sc
    return list(out_sizes), [-1.0] * len(in_sp)


def _linear_taps(n_in, n_out, ratio, align_corners, align_mode):
    taps = []
    for k in range(n_out):
        if align_mode == 0 and not align_corners:
            src = max(float(ratio) * (k + 0.5) - 0.5, 0.0)
        else:
            src = float(np.float32(ratio * np.float32(k)))
        i0 = int(src)
        i1 = min(i0 + 1, n_in - 1)
        lam = src - i0
        taps.append([(i0, 1 - lam), (i1, lam)])
    return taps


def _cubic_taps(n_in, n_out, ratio, align_corners):
    a = -0.75

    def c1(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def c2(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    taps = []
    for k in range(n_out):
        src = float(np.float32(ratio * k if align_corners else ratio * (k + 0.5) - 0.5))
        base = int(np.floor(src))
        t = src - base
        ws = [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)]
        taps.append([(min(max(base - 1 + i, 0), n_in - 1), ws[i]) for i in range(4)])
    return taps


def ref_interp(x, method, out_d=0, out_h=0, out_w=0, scale=(), align_corners=True, align_mode=1,
               data_layout="NCHW", interp_method=None):
    last = data_layout in ("NHWC", "NWC", "NDHWC")
    if last:
        x = np.moveaxis(x, -1, 1)
    nd = x.ndim - 2
    in_sp = list(x.shape[2:])
    sizes, scales = _sizes(in_sp, [out_d, out_h, out_w][3 - nd:], scale)
    if in_sp == sizes:
        return np.moveaxis(x, 1, -1) if last else x.copy()
    per_axis = []
    for n_in, n_out, s in zip(in_sp, sizes, scales):
        r = _ratio(n_in, n_out, s, align_corners)
        if method == "nearest":
            per_axis.append([[(int(r * np.float32(k) + np.float32(0.5)) if align_corners
                               else int(r * np.float32(k)), 1.0)] for k in range(n_out)])
        elif method == "bicubic":
            per_axis.append(_cubic_taps(n_in, n_out, r, align_corners))
        else:
            per_axis.append(_linear_taps(n_in, n_out, r, align_corners, align_mode))
    out = np.zeros(x.shape[:2] + tuple(sizes))
    for pos in np.ndindex(*sizes):
        acc = 0.0
        for combo in np.ndindex(*[len(per_axis[a][pos[a]]) for a in range(nd)]):
            idx, w = [], 1.0
            for a, c in enumerate(combo):
                i, wt = per_axis[a][pos[a]][c]
                idx.append(i)
                w *= wt
            acc = acc + w * x[(slice(None), slice(None)) + tuple(idx)]
        out[(slice(None), slice(None)) + pos] = acc
    return np.moveaxis(out, 1, -1) if last else out


def _ref(method):
    return lambda x, **kw: ref_interp(x, method, **kw)


nearest = _op("nearest_interp_v2", interp_method="nearest")
bilinear = _op("bilinear_interp_v2", interp_method="bilinear")
linear = _op("linear_interp_v2", interp_method="linear")
trilinear = _op("trilinear_interp_v2", interp_method="trilinear")
bicubic = _op("bicubic_interp_v2", interp_method="bicubic")

SPECS = [
    OpSpec("nearest_scale2", nearest, _ref("nearest"), [(2, 3, 3, 4)],
           dict(scale=[2.0, 2.0], align_corners=False, align_mode=0)),
    OpSpec("nearest_size_down", nearest, _ref("nearest"), [(1, 2, 7, 5)],
           dict(out_h=3, out_w=4, align_corners=False)),
    OpSpec("nearest_align_corners", nearest, _ref("nearest"), [(1, 2, 3, 4)],
           dict(out_h=5, out_w=7, align_corners=True)),
    OpSpec("nearest_nhwc", nearest, _ref("nearest"), [(1, 3, 4, 2)],
           dict(out_h=5, out_w=2, align_corners=False, data_layout="NHWC")),
    OpSpec("bilinear_half_pixel", bilinear, _ref("bilinear"), [(2, 2, 3, 4)],
           dict(out_h=5, out_w=5, align_corners=False, align_mode=0)),
    OpSpec("bilinear_align_corners", bilinear, _ref("bilinear"), [(1, 2, 3, 4)],
           dict(out_h=6, out_w=3, align_corners=True)),
    OpSpec("bilinear_align_mode1", bilinear, _ref("bilinear"), [(1, 2, 4, 4)],
           dict(out_h=7, out_w=3, align_corners=False, align_mode=1)),
    OpSpec("bilinear_scale", bilinear, _ref("bilinear"), [(1, 1, 3, 5)],
           dict(scale=[1.5, 0.6], align_corners=False, align_mode=0)),
    OpSpec("bilinear_nhwc", bilinear, _ref("bilinear"), [(1, 3, 3, 2)],
           dict(out_h=4, out_w=5, align_corners=False, align_mode=0, data_layout="NHWC")),
    OpSpec("linear_1d", linear, _ref("linear"), [(2, 3, 5)],
           dict(out_w=8, align_corners=False, align_mode=0, data_layout="NCW")),
    OpSpec("trilinear", trilinear, _ref("trilinear"), [(1, 2, 2, 3, 3)],
           dict(out_d=3, out_h=4, out_w=2, align_corners=True)),
    OpSpec("bicubic", bicubic, _ref("bicubic"), [(1, 2, 4, 4)], dict(out_h=6, out_w=5, align_corners=False)),
    OpSpec("bicubic_align_corners", bicubic, _ref("bicubic"), [(1, 1, 3, 4)],
           dict(out_h=5, out_w=6, align_corners=True)),
]


test_forward, test_backward, test_static = spec_tests(SPECS)


def test_out_size_tensor_overrides_attrs_and_scale():
    x = paddle.to_tensor(np.random.default_rng(0).standard_normal((1, 1, 3, 3)).astype(np.float32))
    size = paddle.to_tensor(np.array([5, 4], np.int32))
    out = run_op("bilinear_interp_v2", {"X": x, "OutSize": size},
                 {"out_h": 9, "out_w": 9, "interp_method": "bilinear", "align_corners": True})["Out"]
    assert out.shape == [1, 1, 5, 4]
    np.testing.assert_allclose(out.numpy(), ref_interp(x.numpy().astype(np.float64), "bilinear", out_h=5,
                                                       out_w=4, align_corners=True), rtol=1e-5, atol=1e-6)
    st = [paddle.to_tensor(np.array([2], np.int32)), paddle.to_tensor(np.array([6], np.int32))]
    out = run_op("nearest_interp_v2", {"X": x, "SizeTensor": st}, {"scale": [3.0, 3.0]})["Out"]
    assert out.shape == [1, 1, 2, 6]


def test_same_size_copies_input():
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 3)).astype(np.float32)
    out = bilinear(paddle.to_tensor(x), out_h=3, out_w=3, align_corners=False, align_mode=0)
    np.testing.assert_array_equal(out.numpy(), x)


def test_bad_output_size_error():
    x = paddle.to_tensor(np.zeros((1, 1, 3, 3), np.float32))
    with pytest.raises(ValueError, match="bilinear_interp_v2: the output size"):
        bilinear(x, out_h=0, out_w=3)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_float32_in_float32_out(spec):
    from tests.ops.harness import sample, _tensors, _pick
    out = _pick(spec, spec.fn(*_tensors(sample(spec), np.float32), **spec.kwargs))
    assert out.numpy().dtype == np.float32, f"{spec.name}: {out.numpy().dtype}"
