"""sampan.nn.functional: values against NumPy references, gradients against central differences, and the
ops/attributes the functions put into static programs (the shapes Paddle 2.6 exports, FORMATS.md 6)."""
import doctest

import numpy as np
import pytest

import sampan as paddle
import sampan.nn.functional as F
from sampan import static
from tests.ops.harness import OpSpec, check_forward, check_backward, check_static
from tests.ops.test_ops_conv import ref_conv2d, ref_conv2d_transpose, ref_pool2d
from tests.ops.test_ops_norm import ref_batch_norm, ref_layer_norm


def _t(a, stop_gradient=True):
    return paddle.to_tensor(np.asarray(a), stop_gradient=stop_gradient)


def _log_softmax(x, axis=-1):
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _labels(shape, classes):
    return lambda rng: rng.integers(0, classes, size=shape).astype(np.int64)


def _soft(shape):
    def f(rng):
        e = rng.uniform(0.1, 1, shape)
        return e / e.sum(-1, keepdims=True)
    return f


def ref_ce(x, label, weight=None, ignore_index=-100, reduction="mean", soft_label=False, axis=-1,
           label_smoothing=0.0):
    logp = _log_softmax(x, axis)
    c = x.shape[axis]
    if soft_label or label_smoothing:
        lab = label
        if label_smoothing:
            lab = np.eye(c)[label.reshape(-1)].reshape(label.shape[:1] + (c,))
            lab = (1 - label_smoothing) * lab + label_smoothing / c
        per = -(lab * logp).sum(axis)
        w = (lab * weight).sum(axis) if weight is not None else np.ones_like(per)
        per = per * w
        return {"none": per, "sum": per.sum(), "mean": per.sum() / w.sum() if weight is not None else per.mean()}[
            reduction]
    lab = label.reshape(label.shape[0]) if label.ndim == x.ndim else label
    keep = lab != ignore_index
    safe = np.where(keep, lab, 0)
    per = -logp[np.arange(len(lab)), safe] * keep
    w = (weight[safe] if weight is not None else np.ones(len(lab))) * keep
    per = per * (w if weight is not None else 1)
    if reduction == "none":
        return per if label.ndim != x.ndim else per[:, None]
    if reduction == "sum":
        return per.sum()
    if ignore_index >= 0 or weight is not None:
        return per.sum() / w.sum()
    return per.mean()


def ref_linear(x, w, b):
    return x @ w + b


def ref_pad_4d(x, pad, mode="constant", value=0.0):
    l, r, t, b = pad
    modes = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
    kw = {"constant_values": value} if mode == "constant" else {}
    return np.pad(x, [(0, 0), (0, 0), (t, b), (l, r)], mode=modes[mode], **kw)


SPECS = [
    OpSpec("linear", F.linear, ref_linear, [(4, 3), (3, 5), (5,)]),
    OpSpec("conv2d_bias", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
           lambda x, w, b: ref_conv2d(x, w, strides=(2, 2), paddings=(1, 1)) + b.reshape(1, -1, 1, 1),
           [(2, 3, 5, 5), (4, 3, 3, 3), (4,)]),
    OpSpec("conv2d_depthwise", lambda x, w: F.conv2d(x, w, padding=[1, 1], groups=3),
           lambda x, w: ref_conv2d(x, w, paddings=(1, 1), groups=3), [(1, 3, 4, 4), (3, 1, 3, 3)]),
    OpSpec("conv1d", lambda x, w, b: F.conv1d(x, w, b, padding=1, stride=2),
           lambda x, w, b: ref_conv2d(x[:, :, None], w[:, :, None], strides=(1, 2), paddings=(0, 1))[:, :, 0]
           + b[None, :, None], [(2, 3, 7), (4, 3, 3), (4,)]),
    OpSpec("conv2d_transpose", lambda x, w, b: F.conv2d_transpose(x, w, b, stride=2, padding=1, output_padding=1),
           lambda x, w, b: ref_conv2d_transpose(x, w, b, strides=(2, 2), paddings=(1, 1), output_padding=(1, 1)),
           [(1, 2, 3, 3), (2, 3, 3, 3), (3,)]),
    OpSpec("max_pool2d", lambda x: F.max_pool2d(x, 2),
           lambda x: ref_pool2d(x, "max", (2, 2), (2, 2)),
           [lambda rng: rng.permutation(2 * 3 * 4 * 4).reshape(2, 3, 4, 4) * 0.1]),
    OpSpec("avg_pool2d_pad", lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, exclusive=False),
           lambda x: ref_pool2d(x, "avg", (3, 3), (2, 2), (1, 1), exclusive=False), [(1, 2, 5, 5)]),
    OpSpec("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, [2, 3]),
           lambda x: ref_pool2d(x, "avg", (2, 3), adaptive=True), [(2, 2, 5, 7)]),
    OpSpec("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, 2),
           lambda x: ref_pool2d(x, "max", (2, 2), adaptive=True),
           [lambda rng: rng.permutation(50).reshape(1, 2, 5, 5) * 0.1]),
    OpSpec("avg_pool1d", lambda x: F.avg_pool1d(x, 2, stride=2),
           lambda x: ref_pool2d(x[:, :, None], "avg", (1, 2), (1, 2))[:, :, 0], [(2, 3, 6)]),
    OpSpec("batch_norm_train", lambda x, m, v, w, b: F.batch_norm(x, m, v, w, b, training=True),
           lambda x, m, v, w, b: ref_batch_norm(x, w, b, m, v),
           [(4, 3, 2, 2), (3,), lambda rng: rng.uniform(0.5, 1.5, 3), (3,), (3,)], grad=(0, 3, 4),
           rtol=1e-4, atol=1e-5),
    OpSpec("layer_norm", lambda x, w, b: F.layer_norm(x, [4], w, b),
           lambda x, w, b: ref_layer_norm(x, w, b, begin_norm_axis=2), [(2, 3, 4), (4,), (4,)],
           rtol=1e-4, atol=1e-5),
    OpSpec("cross_entropy_mean", F.cross_entropy, ref_ce, [(5, 4), _labels((5,), 4)]),
    OpSpec("cross_entropy_label_n1_sum", F.cross_entropy, ref_ce, [(5, 4), _labels((5, 1), 4)],
           dict(reduction="sum")),
    OpSpec("cross_entropy_none", F.cross_entropy, ref_ce, [(5, 4), _labels((5,), 4)], dict(reduction="none")),
    OpSpec("cross_entropy_ignore_index", F.cross_entropy, ref_ce,
           [(6, 4), lambda rng: np.array([0, 1, 2, 1, 3, 1], np.int64)], dict(ignore_index=1)),
    OpSpec("cross_entropy_weight", lambda x, y, w, **k: F.cross_entropy(x, y, weight=w, **k),
           lambda x, y, w, **k: ref_ce(x, y, weight=w, **k),
           [(6, 3), _labels((6,), 3), lambda rng: rng.uniform(0.5, 2, 3)], grad=(0,)),
    OpSpec("cross_entropy_soft", F.cross_entropy, ref_ce, [(4, 3), _soft((4, 3))], dict(soft_label=True),
           grad=(0,)),
    OpSpec("cross_entropy_label_smoothing", F.cross_entropy, ref_ce, [(4, 3), _labels((4,), 3)],
           dict(label_smoothing=0.1)),
    OpSpec("mse_loss", F.mse_loss, lambda x, y: ((x - y) ** 2).mean(), [(3, 4), (3, 4)]),
    OpSpec("l1_loss_sum", F.l1_loss, lambda x, y, reduction: np.abs(x - y).sum(),
           [(3, 4), lambda rng: rng.uniform(2, 3, (3, 4))], dict(reduction="sum")),
    OpSpec("nll_loss", F.nll_loss,
           lambda x, y: -x[np.arange(len(y)), y].mean(), [(5, 3), _labels((5,), 3)]),
    OpSpec("binary_cross_entropy", F.binary_cross_entropy,
           lambda x, y: (-(y * np.log(x) + (1 - y) * np.log(1 - x))).mean(),
           [lambda rng: rng.uniform(0.1, 0.9, (4, 3)), lambda rng: rng.uniform(0, 1, (4, 3))], grad=(0,)),
    OpSpec("bce_with_logits_pos_weight", lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw),
           lambda x, y, pw: ((np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))) * (1 + (pw - 1) * y)).mean(),
           [(4, 3), lambda rng: rng.integers(0, 2, (4, 3)).astype(np.float64), lambda rng: rng.uniform(1, 3, 3)],
           grad=(0,)),
    OpSpec("smooth_l1_loss", F.smooth_l1_loss,
           lambda x, y: np.where(np.abs(x - y) < 1, 0.5 * (x - y) ** 2, np.abs(x - y) - 0.5).mean(),
           [lambda rng: rng.uniform(-2, 2, (3, 4)), lambda rng: rng.uniform(-2, 2, (3, 4))]),
    OpSpec("kl_div_batchmean", F.kl_div, lambda x, t, reduction: (t * (np.log(t) - x)).sum() / x.shape[0],
           [(3, 4), _soft((3, 4))], dict(reduction="batchmean"), grad=(0,)),
    OpSpec("softmax", F.softmax, lambda x, axis: np.exp(_log_softmax(x, axis)), [(3, 4)], dict(axis=0)),
    OpSpec("log_softmax", F.log_softmax, _log_softmax, [(3, 4)]),
    OpSpec("prelu_channel", F.prelu, lambda x, w: np.where(x > 0, x, w.reshape(1, -1, 1) * x),
           [lambda rng: rng.uniform(0.2, 1, (2, 3, 4)) * rng.choice([-1, 1], (2, 3, 4)), (3,)]),
    OpSpec("embedding_padding", lambda ids, w: F.embedding(ids, w, padding_idx=-1),
           lambda ids, w: np.where((ids == 4)[..., None], 0, w[ids]), [_labels((2, 3), 5), (5, 2)]),
    OpSpec("pad_reflect_4d", lambda x: F.pad(x, [1, 2, 2, 1], mode="reflect"),
           lambda x: ref_pad_4d(x, [1, 2, 2, 1], "reflect"), [(1, 2, 4, 4)]),
    OpSpec("pad_constant_all_dims", lambda x: F.pad(x, [0, 1, 2, 0], value=3.0),
           lambda x: np.pad(x, [(0, 1), (2, 0)], constant_values=3.0), [(2, 3)]),
    OpSpec("normalize", F.normalize, lambda x: x / np.linalg.norm(x, axis=1, keepdims=True), [(3, 4)]),
]


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_forward(spec):
    check_forward(spec)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_backward(spec):
    check_backward(spec)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_static(spec):
    check_static(spec)


# ---------------------------------------------------------------------------- interpolate values
def test_interpolate_modes_match_reference():
    from tests.ops.test_ops_interp import ref_interp
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 4))
    t = _t(x.astype(np.float32))
    np.testing.assert_allclose(F.interpolate(t, scale_factor=2).numpy(),
                               ref_interp(x, "nearest", scale=[2.0, 2.0], align_corners=False), rtol=1e-6)
    np.testing.assert_allclose(F.interpolate(t, size=[5, 6], mode="bilinear").numpy(),
                               ref_interp(x, "bilinear", out_h=5, out_w=6, align_corners=False, align_mode=0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(F.upsample(t, size=[4, 7], mode="bicubic", align_corners=True).numpy(),
                               ref_interp(x, "bicubic", out_h=4, out_w=7, align_corners=True), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(F.interpolate(t, size=[2, 2], mode="area").numpy(),
                               ref_pool2d(x, "avg", (2, 2), adaptive=True), rtol=1e-5)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(t)
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(t, scale_factor=2, align_corners=True)


# ---------------------------------------------------------------------------- dropout
def test_dropout_functional_modes():
    paddle.seed(0)
    x = paddle.ones([400, 250])
    y = F.dropout(x, 0.2).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.8)}
    assert abs((y == 0).mean() - 0.2) < 0.01
    np.testing.assert_array_equal(F.dropout(x, 0.2, training=False).numpy(), x.numpy())
    np.testing.assert_allclose(F.dropout(x, 0.2, training=False, mode="downscale_in_infer").numpy(), 0.8)
    assert F.dropout(x, 0.0) is x
    z = F.dropout(paddle.ones([200, 3, 2]), 0.5, axis=0).numpy()
    assert (z == z[:, :1, :1]).all()                   # one draw per row, shared along the other axes
    assert abs((z[:, 0, 0] == 0).mean() - 0.5) < 0.15
    c = F.dropout2d(paddle.ones([2, 50, 3, 3]), 0.5).numpy()
    assert (c == c[:, :, :1, :1]).all()
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        F.dropout(x, 1.5)


# ---------------------------------------------------------------------------- batch norm running stats
def test_batch_norm_functional_updates_running_stats():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 3, 4, 4)).astype(np.float32)
    m, v = paddle.zeros([3]), paddle.ones([3])
    F.batch_norm(_t(x), m, v, training=True, momentum=0.9)
    np.testing.assert_allclose(m.numpy(), 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(v.numpy(), 0.9 + 0.1 * x.var(axis=(0, 2, 3)), rtol=1e-5)
    before = m.numpy().copy()
    y = F.batch_norm(_t(x), m, v, training=False)
    np.testing.assert_array_equal(m.numpy(), before)
    np.testing.assert_allclose(y.numpy(), (x - before.reshape(1, 3, 1, 1)) / np.sqrt(v.numpy().reshape(1, 3, 1, 1)
                                                                                      + 1e-5), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- programs look like Paddle's
def _build(fn, *shapes, dtypes=None):
    main, startup = static.Program(), static.Program()
    paddle.enable_static()
    try:
        with static.program_guard(main, startup):
            vs = [static.data(f"in{i}", list(s), (dtypes or {}).get(i, "float32")) for i, s in enumerate(shapes)]
            fn(*vs)
    finally:
        paddle.disable_static()
    return main.global_block().ops


def test_static_conv2d_bias_is_reshape2_plus_add():
    ops = _build(lambda x, w, b: F.conv2d(x, w, b, padding=1), [-1, 3, 8, 8], [4, 3, 3, 3], [4])
    assert [o.type for o in ops] == ["conv2d", "reshape2", "elementwise_add"]
    conv = ops[0]
    assert conv.attr("paddings") == [1, 1] and conv.attr("strides") == [1, 1]
    assert conv.attr("padding_algorithm") == "EXPLICIT" and conv.attr("groups") == 1
    assert conv.attr("data_format") == "NCHW" and conv.attr("dilations") == [1, 1]
    assert ops[1].attr("shape") == [1, 4, 1, 1] and ops[2].attr("axis") == -1


def test_static_linear_and_depthwise():
    ops = _build(lambda x, w, b: F.linear(x, w, b), [-1, 6], [6, 3], [3])
    assert [o.type for o in ops] == ["matmul_v2", "elementwise_add"]
    assert ops[0].attr("trans_x") is False and ops[1].attr("axis") == -1
    ops = _build(lambda x, w: F.conv2d(x, w, groups=4, padding=1), [-1, 4, 8, 8], [4, 1, 3, 3])
    assert ops[0].type == "depthwise_conv2d" and ops[0].attr("groups") == 4


def test_static_pool_attrs_match_paddle_exports():
    ops = _build(lambda x: F.max_pool2d(x, 2, 2), [-1, 3, 8, 8])
    a = {k: ops[0].attr(k) for k in ("pooling_type", "ksize", "strides", "paddings", "adaptive", "ceil_mode",
                                      "exclusive", "global_pooling", "padding_algorithm", "data_format", "use_cudnn")}
    assert a == dict(pooling_type="max", ksize=[2, 2], strides=[2, 2], paddings=[0, 0], adaptive=False,
                     ceil_mode=False, exclusive=True, global_pooling=False, padding_algorithm="EXPLICIT",
                     data_format="NCHW", use_cudnn=True)
    ops = _build(lambda x: F.adaptive_avg_pool2d(x, 1), [-1, 3, 8, 8])
    assert ops[0].attr("adaptive") is True and ops[0].attr("ksize") == [1, 1]
    assert ops[0].attr("use_cudnn") is False and ops[0].attr("strides") == [1, 1]


def test_static_batch_norm_reuses_running_stat_vars():
    def fn(x, m, v, w, b):
        F.batch_norm(x, m, v, w, b, training=False)
    ops = _build(fn, [-1, 4, 5, 5], [4], [4], [4], [4])
    bn = ops[0]
    assert bn.type == "batch_norm"
    assert bn.output("MeanOut") == bn.input("Mean") and bn.output("VarianceOut") == bn.input("Variance")
    assert bn.attr("is_test") is True and bn.attr("use_global_stats") is True
    assert bn.attr("momentum") == pytest.approx(0.9) and bn.attr("trainable_statistics") is False
    assert not bn.output("ReserveSpace")


def test_static_layer_norm_and_dropout_and_embedding():
    ops = _build(lambda x: F.layer_norm(x, 8), [-1, 4, 8])
    assert ops[0].type == "layer_norm" and ops[0].attr("begin_norm_axis") == 2
    ops = _build(lambda x: F.dropout(x, 0.1, training=False), [-1, 4])
    assert ops[0].type == "dropout" and ops[0].attr("is_test") is True
    assert ops[0].attr("dropout_implementation") == "upscale_in_train"
    assert not ops[0].output("Mask")
    ops = _build(lambda ids, w: F.embedding(ids, w), [-1, 3], [10, 4], dtypes={0: "int64"})
    assert ops[0].type == "lookup_table_v2" and ops[0].attr("padding_idx") == -1


def test_static_pad_and_interpolate_ops():
    ops = _build(lambda x: F.pad(x, [1, 1, 2, 2], mode="reflect"), [-1, 3, 8, 8])
    assert [o.type for o in ops] == ["unsqueeze2", "pad3d", "squeeze2"]
    assert ops[1].attr("paddings") == [1, 1, 2, 2, 0, 0] and ops[1].attr("data_format") == "NCDHW"
    ops = _build(lambda x: F.interpolate(x, scale_factor=2), [-1, 3, 8, 8])
    assert ops[0].type == "nearest_interp_v2" and ops[0].attr("scale") == [2.0, 2.0]
    assert ops[0].attr("out_h") == -1 and ops[0].attr("align_mode") == 0


# ---------------------------------------------------------------------------- argument errors
def test_conv2d_argument_errors():
    x = paddle.ones([1, 3, 5, 5])
    with pytest.raises(ValueError, match="divisible by groups"):
        F.conv2d(x, paddle.ones([4, 1, 3, 3]), groups=2)
    with pytest.raises(ValueError, match="invalid padding"):
        F.conv2d(x, paddle.ones([4, 3, 3, 3]), padding=[1, 2, 3])
    with pytest.raises(ValueError, match="conv2d: Input has 3 channels"):
        F.conv2d(x, paddle.ones([4, 2, 3, 3]))


def test_cross_entropy_label_out_of_range_message():
    with pytest.raises(ValueError, match="Label value 9 is out of range for 4 classes"):
        F.cross_entropy(paddle.ones([2, 4]), _t(np.array([1, 9], np.int64)))


def test_embedding_errors():
    w = paddle.ones([5, 2])
    with pytest.raises(ValueError, match="Ids must be an integer tensor"):
        F.embedding(paddle.ones([3]), w)
    with pytest.raises(ValueError, match="padding_idx must be in"):
        F.embedding(_t(np.array([1], np.int64)), w, padding_idx=7)


def test_layer_norm_shape_mismatch():
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(paddle.ones([2, 3]), [4])


def test_activations_call_their_ops():
    x = _t(np.array([-2.0, -0.5, 0.5, 3.0, 7.0], np.float32))
    v = x.numpy().astype(np.float64)
    checks = {
        "relu": np.maximum(v, 0), "relu6": np.clip(v, 0, 6), "leaky_relu": np.where(v > 0, v, 0.01 * v),
        "sigmoid": 1 / (1 + np.exp(-v)), "tanh": np.tanh(v), "silu": v / (1 + np.exp(-v)),
        "hardswish": v * np.clip(v + 3, 0, 6) / 6, "hardsigmoid": np.clip(v / 6 + 0.5, 0, 1),
        "elu": np.where(v > 0, v, np.exp(v) - 1), "softplus": np.log1p(np.exp(v)), "softsign": v / (1 + np.abs(v)),
        "tanhshrink": v - np.tanh(v), "hardtanh": np.clip(v, -1, 1), "log_sigmoid": -np.log1p(np.exp(-v)),
        "swish": v / (1 + np.exp(-v)), "mish": v * np.tanh(np.log1p(np.exp(v))),
    }
    for name, ref in checks.items():
        np.testing.assert_allclose(getattr(F, name)(x).numpy(), ref, rtol=2e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(F.gelu(x).numpy(), [v_ * 0.5 * (1 + __import__("math").erf(v_ / 2 ** 0.5))
                                                   for v_ in v], rtol=1e-5, atol=1e-6)
    g = F.glu(_t(np.arange(4, dtype=np.float32).reshape(1, 4))).numpy()
    np.testing.assert_allclose(g, [[0 / (1 + np.exp(-2)), 1 / (1 + np.exp(-3))]], rtol=1e-6)


def test_docstring_examples_run():
    for mod in (F.activation, F.common, F.conv, F.input, F.loss, F.norm, F.pooling):
        res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert res.failed == 0, mod.__name__


def test_static_build_with_unknown_spatial_dims():
    ops = _build(lambda x: F.pad(x, [2, 2, 2, 2], mode="reflect"), [-1, 3, -1, -1])
    assert ops[1].type == "pad3d"
    main, startup = static.Program(), static.Program()
    paddle.enable_static()
    try:
        with static.program_guard(main, startup):
            x = static.data("x", [-1, 8, -1, -1], "float32")
            y = F.group_norm(x, 4)
            z = F.layer_norm(static.data("s", [-1, -1, 6], "float32"), 6, paddle.ones([6]))
            c = F.conv2d(x, paddle.ones([4, 8, 3, 3]), stride=2, padding=1)
            p = F.max_pool2d(x, 2)
            u = F.interpolate(x, scale_factor=2)
    finally:
        paddle.disable_static()
    assert y.shape == [-1, 8, -1, -1] and z.shape == [-1, -1, 6]
    assert c.shape == [-1, 4, -1, -1] and p.shape == [-1, 8, -1, -1] and u.shape == [-1, 8, -1, -1]


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_float32_in_float32_out(spec):
    from tests.ops.harness import sample, _tensors, _pick
    out = _pick(spec, spec.fn(*_tensors(sample(spec), np.float32), **spec.kwargs))
    assert out.numpy().dtype == np.float32, f"{spec.name}: {out.numpy().dtype}"


def test_pool_variants_and_masks():
    x = np.random.default_rng(4).permutation(2 * 3 * 6 * 6).reshape(2, 3, 6, 6).astype(np.float32)
    out, mask = F.max_pool2d(_t(x), 2, return_mask=True)
    np.testing.assert_array_equal(out.numpy(), ref_pool2d(x, "max", (2, 2), (2, 2)))
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(2, 3, -1), mask.numpy().reshape(2, 3, -1), -1),
                                  out.numpy().reshape(2, 3, -1))
    x1 = x.reshape(2, 3, 36)
    np.testing.assert_array_equal(F.max_pool1d(_t(x1), 3).numpy(), x1.reshape(2, 3, 12, 3).max(-1))
    o1, m1 = F.max_pool1d(_t(x1), 3, return_mask=True)
    np.testing.assert_array_equal(np.take_along_axis(x1, m1.numpy(), -1), o1.numpy())
    np.testing.assert_allclose(F.adaptive_avg_pool1d(_t(x1), 4).numpy(), x1.reshape(2, 3, 4, 9).mean(-1), rtol=1e-6)
    np.testing.assert_array_equal(F.adaptive_max_pool1d(_t(x1), 6).numpy(), x1.reshape(2, 3, 6, 6).max(-1))
    np.testing.assert_allclose(F.avg_pool2d(_t(x), 2, divisor_override=1).numpy(),
                               ref_pool2d(x, "avg", (2, 2), (2, 2)) * 4, rtol=1e-6)


@pytest.mark.parametrize("fn, shape", [(F.max_pool1d, [1, 1, 4]), (F.avg_pool1d, [1, 1, 4]),
                                       (F.max_pool2d, [1, 1, 4, 4]), (F.avg_pool2d, [1, 1, 4, 4])])
def test_pools_refuse_empty_windows(fn, shape):
    with pytest.raises(ValueError, match=fn.__name__ + r": kernel_size and stride must be positive"):
        fn(paddle.ones(shape), 0)
    with pytest.raises(ValueError, match="must be positive"):
        fn(paddle.ones(shape), 2, stride=0)


def test_conv1d_transpose_matches_2d_reference():
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((2, 3, 5)), rng.standard_normal((3, 2, 3)), rng.standard_normal(2)
    got = F.conv1d_transpose(_t(x.astype(np.float32)), _t(w.astype(np.float32)), _t(b.astype(np.float32)),
                             stride=2, padding=1, output_padding=1).numpy()
    ref = ref_conv2d_transpose(x[:, :, None], w[:, :, None], b, strides=(1, 2), paddings=(0, 1),
                               output_padding=(0, 1))[:, :, 0]
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_dropout3d_and_zeropad2d():
    y = F.dropout3d(paddle.ones([2, 40, 2, 2, 2]), 0.5).numpy()
    assert (y == y[:, :, :1, :1, :1]).all()
    z = F.zeropad2d(paddle.ones([1, 1, 2, 2]), [1, 0, 0, 2]).numpy()
    np.testing.assert_array_equal(z[0, 0], [[0, 1, 1], [0, 1, 1], [0, 0, 0], [0, 0, 0]])
