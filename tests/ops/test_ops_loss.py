"""softmax_with_cross_entropy / bce_loss / sigmoid_cross_entropy_with_logits / huber_loss / kldiv_loss /
nll_loss against float64 NumPy references."""
import numpy as np
import pytest

import sampan as paddle
import sampan.nn.functional as F
from sampan.core.dispatch import run_op
from sampan.nn.functional.loss import cross_entropy_composed
from tests.ops.harness import OpSpec, spec_tests


def _op(type_name, in_slots, out_slot, **fixed):
    def fn(*ts, **attrs):
        return run_op(type_name, dict(zip(in_slots, ts)), {**fixed, **attrs})[out_slot]
    fn.__name__ = type_name
    return fn


def _log_softmax(x, axis):
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def ref_sce(logits, label, soft_label=False, ignore_index=-100, axis=-1, use_softmax=True):
    logp = _log_softmax(logits, axis) if use_softmax else np.log(logits)
    if soft_label:
        return -(label * logp).sum(axis=axis, keepdims=True)
    if label.ndim == logits.ndim - 1:
        label = np.expand_dims(label, axis)
    keep = label != ignore_index
    picked = np.take_along_axis(logp, np.where(keep, label, 0), axis=axis)
    return np.where(keep, -picked, 0.0)


def ref_bce(x, y):
    return -(y * np.log(x) + (1 - y) * np.log(1 - x))


def ref_sigmoid_ce(x, y, normalize=False, ignore_index=-100):
    out = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    keep = y != ignore_index
    out = np.where(keep, out, 0)
    return out / max(keep.sum(), 1) if normalize else out


def ref_huber(x, y, delta=1.0):
    r = y - x
    return np.where(np.abs(r) <= delta, 0.5 * r * r, delta * (np.abs(r) - 0.5 * delta))


def ref_kldiv(x, t, reduction="mean"):
    v = np.where(t > 0, t * (np.log(np.where(t > 0, t, 1)) - x), 0)
    return {"none": v, "sum": v.sum(), "mean": v.mean(), "batchmean": v.sum() / x.shape[0]}[reduction]


def ref_nll(x, label, weight=None, ignore_index=-100, reduction="mean"):
    w = weight if weight is not None else np.ones(x.shape[1])
    keep = label != ignore_index
    lab = np.where(keep, label, 0)
    picked = np.take_along_axis(x, lab[:, None], axis=1)[:, 0]
    wl = w[lab] * keep
    loss = -picked * wl
    return {"none": loss, "sum": loss.sum(), "mean": loss.sum() / wl.sum()}[reduction]


def _labels(shape, classes, ignore=None):
    def f(rng):
        lab = rng.integers(0, classes, size=shape).astype(np.int64)
        if ignore is not None:
            lab.reshape(-1)[::3] = ignore
        return lab
    return f


def _soft(shape, axis=-1):
    def f(rng):
        e = rng.uniform(0.1, 1.0, size=shape)
        return e / e.sum(axis=axis, keepdims=True)
    return f


def _probs(shape):
    return lambda rng: rng.uniform(0.05, 0.95, size=shape)


def _residual_pairs(shape, delta=1.0):
    """(x, y) whose residuals keep 0.1 away from +-delta (the kink)."""
    def fx(rng):
        return rng.uniform(-1, 1, size=shape)

    def fy(rng):
        mag = np.where(rng.uniform(size=shape) < 0.5, rng.uniform(0, delta - 0.1, shape),
                       rng.uniform(delta + 0.1, 2 * delta, shape))
        return mag * rng.choice([-1, 1], size=shape)
    return fx, fy


sce = _op("softmax_with_cross_entropy", ["Logits", "Label"], "Loss")
sce_softmax = _op("softmax_with_cross_entropy", ["Logits", "Label"], "Softmax")
hx, hr = _residual_pairs((3, 4))
huber = _op("huber_loss", ["X", "Y"], "Out")


def huber_xr(x, r, delta=1.0):      # y = x + r so the residual is exactly r
    return huber(x, x + r, delta=delta)


def ref_huber_xr(x, r, delta=1.0):
    return ref_huber(x, x + r, delta)


def ref_ce_mean(logits, label, ignore_index=-100, axis=-1):
    """cross_entropy(reduction='mean'): over the non-ignored samples when ignore_index >= 0, else
    over all (ignored ones count as 0)."""
    loss = ref_sce(logits, label, ignore_index=ignore_index, axis=axis)
    if ignore_index >= 0:
        return loss.sum() / max(int((label != ignore_index).sum()), 1)
    return loss.mean()


ce_mean = _op("softmax_ce_mean", ["Logits", "Label"], "Loss")


def f_cross_entropy(x, y, **kw):
    return F.cross_entropy(x, y, **kw)


SPECS = [
    OpSpec("ce_mean", ce_mean, ref_ce_mean, [(6, 5), _labels((6, 1), 5)]),
    OpSpec("ce_mean_rank1_label", ce_mean, ref_ce_mean, [(6, 5), _labels((6,), 5)]),
    OpSpec("ce_mean_ignore", ce_mean, ref_ce_mean, [(6, 4), _labels((6, 1), 4, ignore=2)], dict(ignore_index=2)),
    OpSpec("ce_mean_ignore_negative", ce_mean, ref_ce_mean, [(6, 4), _labels((6, 1), 4, ignore=-1)],
           dict(ignore_index=-1)),
    OpSpec("ce_mean_ignore_beyond_classes", ce_mean, ref_ce_mean, [(6, 4), _labels((6,), 4, ignore=9)],
           dict(ignore_index=9)),
    OpSpec("ce_mean_axis1", ce_mean, ref_ce_mean, [(5, 3), _labels((5, 1), 3)], dict(axis=1)),
    OpSpec("F.cross_entropy_mean", f_cross_entropy, ref_ce_mean, [(7, 4), _labels((7, 1), 4)]),
    OpSpec("F.cross_entropy_mean_ignore", f_cross_entropy, ref_ce_mean, [(7, 4), _labels((7,), 4, ignore=0)],
           dict(ignore_index=0)),
    OpSpec("sce_hard", sce, ref_sce, [(4, 5), _labels((4, 1), 5)]),
    OpSpec("sce_hard_ignore", sce, ref_sce, [(6, 4), _labels((6, 1), 4, ignore=2)], dict(ignore_index=2)),
    OpSpec("sce_hard_axis1", sce, ref_sce, [(2, 3, 4), _labels((2, 1, 4), 3)], dict(axis=1)),
    OpSpec("sce_hard_rank_minus_one_label", sce, ref_sce, [(4, 5), _labels((4,), 5)]),
    OpSpec("sce_soft", sce, ref_sce, [(3, 4), _soft((3, 4))], dict(soft_label=True), grad=(0,)),
    OpSpec("sce_no_softmax", sce, ref_sce, [_soft((3, 4)), _labels((3, 1), 4)], dict(use_softmax=False)),
    OpSpec("sce_softmax_output", sce_softmax, lambda x, y: np.exp(_log_softmax(x, -1)),
           [(3, 4), _labels((3, 1), 4)]),
    OpSpec("bce_loss", _op("bce_loss", ["X", "Label"], "Out"), ref_bce, [_probs((3, 4)), _probs((3, 4))],
           grad=(0,)),
    OpSpec("sigmoid_ce", _op("sigmoid_cross_entropy_with_logits", ["X", "Label"], "Out"), ref_sigmoid_ce,
           [(3, 4), _probs((3, 4))], grad=(0,)),
    OpSpec("sigmoid_ce_ignore_normalize", _op("sigmoid_cross_entropy_with_logits", ["X", "Label"], "Out"),
           ref_sigmoid_ce, [(3, 4), lambda rng: rng.integers(0, 2, (3, 4)).astype(np.float64) * 2 - 1],
           dict(normalize=True, ignore_index=-1), grad=(0,)),
    OpSpec("huber_loss", huber_xr, ref_huber_xr, [hx, hr]),
    OpSpec("huber_loss_delta", huber_xr, ref_huber_xr, [hx, lambda rng: _residual_pairs((3, 4), 0.5)[1](rng)],
           dict(delta=0.5)),
    OpSpec("kldiv_mean", _op("kldiv_loss", ["X", "Target"], "Loss"), ref_kldiv, [(3, 4), _soft((3, 4))],
           grad=(0,)),
    OpSpec("kldiv_none", _op("kldiv_loss", ["X", "Target"], "Loss"), ref_kldiv, [(3, 4), _soft((3, 4))],
           dict(reduction="none"), grad=(0,)),
    OpSpec("kldiv_batchmean", _op("kldiv_loss", ["X", "Target"], "Loss"), ref_kldiv,
           [(3, 4), lambda rng: _soft((3, 4))(rng) * (rng.uniform(size=(3, 4)) > 0.3)],
           dict(reduction="batchmean"), grad=(0,)),
    OpSpec("kldiv_sum", _op("kldiv_loss", ["X", "Target"], "Loss"), ref_kldiv, [(2, 3), _soft((2, 3))],
           dict(reduction="sum"), grad=(0,)),
    OpSpec("nll_mean", _op("nll_loss", ["X", "Label"], "Out"), ref_nll, [(5, 4), _labels((5,), 4)]),
    OpSpec("nll_weight_ignore", _op("nll_loss", ["X", "Label", "Weight"], "Out"), ref_nll,
           [(6, 3), _labels((6,), 3, ignore=1), _probs((3,))], dict(ignore_index=1), grad=(0,)),
    OpSpec("nll_none", _op("nll_loss", ["X", "Label"], "Out"), ref_nll, [(4, 3), _labels((4,), 3)],
           dict(reduction="none")),
    OpSpec("nll_sum_2d", _op("nll_loss", ["X", "Label"], "Out"),
           lambda x, y, reduction: ref_nll(x.transpose(0, 2, 1).reshape(-1, 3), y.reshape(-1),
                                           reduction=reduction),
           [(2, 3, 4), _labels((2, 4), 3)], dict(reduction="sum")),
]


test_forward, test_backward, test_static = spec_tests(SPECS)


def test_sce_label_out_of_range_names_op_value_and_classes():
    logits = paddle.to_tensor(np.zeros((3, 5), np.float32))
    label = paddle.to_tensor(np.array([[1], [5], [0]], np.int64))
    with pytest.raises(ValueError) as e:
        sce(logits, label)
    msg = str(e.value)
    assert "softmax_with_cross_entropy" in msg and "Label value 5" in msg and "5 classes" in msg
    assert "[3, 5]" in msg and "[3, 1]" in msg


def test_sce_float_hard_label_rejected():
    logits = paddle.to_tensor(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="Label must be an integer tensor"):
        sce(logits, paddle.to_tensor(np.zeros((3, 1), np.float32)))


def test_sce_is_numerically_stable():
    logits = paddle.to_tensor(np.array([[1000.0, 0.0, -1000.0]], np.float32), stop_gradient=False)
    loss = sce(logits, paddle.to_tensor(np.array([[2]], np.int64)))
    assert np.isfinite(loss.numpy()).all()
    np.testing.assert_allclose(loss.numpy(), [[2000.0]], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), [[1, 0, -1]], atol=1e-6)


def test_sce_ignored_rows_get_zero_gradient():
    logits = paddle.to_tensor(np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32),
                              stop_gradient=False)
    sce(logits, paddle.to_tensor(np.array([[1], [-100], [3]], np.int64))).sum().backward()
    np.testing.assert_array_equal(logits.grad.numpy()[1], 0)


def test_bce_rejects_values_outside_unit_interval():
    with pytest.raises(ValueError, match=r"bce_loss: X .* must hold probabilities in \[0, 1\]"):
        run_op("bce_loss", {"X": paddle.to_tensor(np.array([1.5], np.float32)),
                            "Label": paddle.to_tensor(np.array([1.0], np.float32))})


def test_bce_clips_log_at_minus_100():
    out = run_op("bce_loss", {"X": paddle.to_tensor(np.array([0.0, 1.0], np.float32)),
                              "Label": paddle.to_tensor(np.array([1.0, 0.0], np.float32))})["Out"]
    np.testing.assert_allclose(out.numpy(), [100.0, 100.0])


def test_huber_residual_output():
    res = run_op("huber_loss", {"X": paddle.to_tensor(np.array([1.0, 2.0], np.float32)),
                                "Y": paddle.to_tensor(np.array([3.0, 2.5], np.float32))})
    np.testing.assert_allclose(res["Residual"].numpy(), [2.0, 0.5])
    np.testing.assert_allclose(res["Out"].numpy(), [1.5, 0.125])


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_float32_in_float32_out(spec):
    from tests.ops.harness import sample, _tensors, _pick
    out = _pick(spec, spec.fn(*_tensors(sample(spec), np.float32), **spec.kwargs))
    assert out.numpy().dtype == np.float32, f"{spec.name}: {out.numpy().dtype}"


# ---------------------------------------------------------------------------- fused softmax_ce_mean
def _ce_run(fn, x, y, dtype, seed_grad=None, **kw):
    xt = paddle.to_tensor(x.astype(dtype), stop_gradient=False)
    loss = fn(xt, paddle.to_tensor(y), **kw)
    (loss if seed_grad is None else loss * seed_grad).backward()
    return loss, xt.grad.numpy()


def _composed(x, y, ignore_index=-100, axis=-1):
    return cross_entropy_composed(x, y, None, ignore_index, "mean", False, axis, True, 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("ignore_index", [-100, -1, 0, 2, 12])
def test_fused_cross_entropy_is_bit_identical_to_the_composed_ops(dtype, ignore_index):
    rng = np.random.default_rng(0)
    for n, c, rank, seed_grad in [(1, 2, 1, None), (16, 10, 2, None), (33, 7, 1, -0.7), (200, 12, 2, 2.5)]:
        x = rng.standard_normal((n, c)) * 3
        y = rng.integers(0, c, n).astype(np.int64)
        if ignore_index != -100:
            y[::3] = ignore_index
        y = y.reshape((n, 1) if rank == 2 else (n,))
        fused, gf = _ce_run(F.cross_entropy, x, y, dtype, seed_grad, ignore_index=ignore_index)
        assert fused._node.op.type == "softmax_ce_mean"
        comp, gc = _ce_run(_composed, x, y, dtype, seed_grad, ignore_index=ignore_index)
        assert fused.shape == comp.shape == [] and fused.dtype == comp.dtype
        assert fused.numpy().tobytes() == comp.numpy().tobytes()
        assert gf.dtype == gc.dtype and gf.tobytes() == gc.tobytes()


@pytest.mark.parametrize("label_dtype", [np.int32, np.int16, np.uint8, np.int64])
def test_fused_cross_entropy_label_dtypes(label_dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((9, 5)).astype(np.float32)
    y = rng.integers(0, 5, (9, 1)).astype(label_dtype)
    fused, gf = _ce_run(F.cross_entropy, x, y, np.float32)
    comp, gc = _ce_run(_composed, x, y, np.float32)
    assert fused.numpy().tobytes() == comp.numpy().tobytes() and gf.tobytes() == gc.tobytes()
    assert paddle.nn.CrossEntropyLoss()(paddle.to_tensor(x), paddle.to_tensor(y)).numpy() == fused.numpy()


def test_fused_cross_entropy_every_sample_ignored():
    x = paddle.to_tensor(np.ones((3, 4), np.float32), stop_gradient=False)
    loss = F.cross_entropy(x, paddle.to_tensor(np.full((3, 1), 2, np.int64)), ignore_index=2)
    loss.backward()
    assert loss.numpy() == 0.0 and not x.grad.numpy().any()


@pytest.mark.parametrize("label", [np.array([1, 9]), np.array([[1], [-3]]), np.array([[1.0], [2.0]], np.float32),
                                   np.array([[1, 2], [0, 1]]), np.array([1, 2, 3])])
def test_fused_cross_entropy_errors_are_the_softmax_with_cross_entropy_ones(label):
    msgs = []
    for fn in (F.cross_entropy, _composed):
        with pytest.raises(ValueError) as e:
            fn(paddle.ones([2, 4]), paddle.to_tensor(label))
        msgs.append((type(e.value), str(e.value)))
    assert msgs[0] == msgs[1]
    assert "softmax_with_cross_entropy" in msgs[0][1]


def _program_ops(fn, label_shape, **kw):
    static = paddle.static
    main, startup = static.Program(), static.Program()
    paddle.enable_static()
    try:
        with static.program_guard(main, startup):
            x = static.data("x", [-1, 5], "float32")
            y = static.data("y", label_shape, "int64")
            out = fn(x, y, **kw)
    finally:
        paddle.disable_static()
    return [(o.type, {k: v for k, v in o.attrs.items()}) for o in main.global_block().ops], out


@pytest.mark.parametrize("label_shape, kw, types", [
    ([-1, 1], {}, ["softmax_with_cross_entropy", "reduce_mean"]),
    ([-1], {}, ["unsqueeze2", "softmax_with_cross_entropy", "reduce_mean"]),
    ([-1, 1], dict(axis=1), ["softmax_with_cross_entropy", "reduce_mean"]),
    ([-1, 1], dict(ignore_index=3), ["softmax_with_cross_entropy", "fill_constant", "not_equal", "cast",
                                     "reduce_sum", "fill_constant", "equal", "cast", "elementwise_add",
                                     "reduce_sum", "elementwise_div"]),
])
def test_fused_cross_entropy_programs_keep_paddles_ops(label_shape, kw, types):
    fused, out = _program_ops(F.cross_entropy, label_shape, **kw)
    layer, _ = _program_ops(lambda x, y, **k: paddle.nn.CrossEntropyLoss(**k)(x, y), label_shape, **kw)
    comp, _ = _program_ops(_composed, label_shape, **kw)
    assert [t for t, _ in fused] == types
    assert fused == comp == layer
    assert out.shape == []


def test_fused_cross_entropy_under_to_static():
    net = paddle.nn.Linear(5, 3)

    @paddle.jit.to_static
    def loss_fn(x, y):
        return F.cross_entropy(net(x), y)

    x = paddle.to_tensor(np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32))
    y = paddle.to_tensor(np.array([[0], [2], [1], [2]], np.int64))
    got = loss_fn(x, y)
    types = [o.type for o in loss_fn.get_concrete_program(x, y).main_program.global_block().ops]
    assert "softmax_ce_mean" not in types and types[-2:] == ["softmax_with_cross_entropy", "reduce_mean"]
    assert got.numpy().tobytes() == F.cross_entropy(net(x), y).numpy().tobytes()


def test_fused_op_softmax_output_gradient():
    """The op's Softmax output (not exposed by cross_entropy) also carries a gradient."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 4))
    y = rng.integers(0, 4, (5, 1))
    w = rng.uniform(0.5, 1.5, (5, 4))
    grads = []
    for fused in (True, False):
        xt = paddle.to_tensor(x, stop_gradient=False)
        yt = paddle.to_tensor(y)
        if fused:
            res = run_op("softmax_ce_mean", {"Logits": xt, "Label": yt})
            loss, soft = res["Loss"], res["Softmax"]
        else:
            res = run_op("softmax_with_cross_entropy", {"Logits": xt, "Label": yt})
            loss, soft = res["Loss"].mean(), res["Softmax"]
        (loss + (soft * paddle.to_tensor(w)).sum()).backward()
        grads.append(xt.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-15)
