"""batch_norm / layer_norm / group_norm / instance_norm / p_norm against float64 NumPy references."""
import numpy as np
import pytest

import sampan as paddle
from sampan.core.dispatch import run_op
from tests.ops.harness import OpSpec, spec_tests


def _op(type_name, in_slots, out_slot, **fixed):
    def fn(*ts, **attrs):
        return run_op(type_name, dict(zip(in_slots, ts)), {**fixed, **attrs})[out_slot]
    fn.__name__ = type_name
    return fn


def _pos(shape):
    return lambda rng: rng.uniform(0.5, 1.5, size=shape)


def _away_from_zero(shape):
    return lambda rng: rng.uniform(0.2, 1.0, size=shape) * rng.choice([-1, 1], size=shape)


# ---------------------------------------------------------------------------- references
def ref_batch_norm(x, scale, bias, mean, var, epsilon=1e-5, momentum=0.9, is_test=False, data_layout="NCHW",
                   use_global_stats=False, trainable_statistics=False):
    ax = x.ndim - 1 if (data_layout == "NHWC" and x.ndim > 2) else 1
    axes = tuple(i for i in range(x.ndim) if i != ax)
    shp = [1] * x.ndim
    shp[ax] = -1
    if (is_test and not trainable_statistics) or use_global_stats:
        mu, v = mean, var
    else:
        mu, v = x.mean(axis=axes), x.var(axis=axes)
    return (x - mu.reshape(shp)) / np.sqrt(v.reshape(shp) + epsilon) * scale.reshape(shp) + bias.reshape(shp)


def ref_layer_norm(x, scale=None, bias=None, begin_norm_axis=1, epsilon=1e-5):
    axes = tuple(range(begin_norm_axis, x.ndim))
    y = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + epsilon)
    if scale is not None:
        y = y * scale.reshape(x.shape[begin_norm_axis:])
    if bias is not None:
        y = y + bias.reshape(x.shape[begin_norm_axis:])
    return y


def ref_group_norm(x, scale, bias, groups=1, epsilon=1e-5, data_layout="NCHW"):
    if data_layout == "NHWC":
        x = np.moveaxis(x, -1, 1)
    n, c = x.shape[:2]
    xg = x.reshape(n, groups, -1)
    y = ((xg - xg.mean(axis=2, keepdims=True)) / np.sqrt(xg.var(axis=2, keepdims=True) + epsilon)).reshape(x.shape)
    shp = [1, c] + [1] * (x.ndim - 2)
    y = y * scale.reshape(shp) + bias.reshape(shp)
    return np.moveaxis(y, 1, -1) if data_layout == "NHWC" else y


def ref_instance_norm(x, scale, bias, epsilon=1e-5):
    axes = tuple(range(2, x.ndim))
    shp = [1, x.shape[1]] + [1] * (x.ndim - 2)
    y = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + epsilon)
    return y * scale.reshape(shp) + bias.reshape(shp)


def ref_p_norm(x, porder=2.0, axis=-1, epsilon=1e-12, keepdim=False, asvector=False):
    ax = None if asvector else axis
    if porder == np.inf:
        return np.abs(x).max(axis=ax, keepdims=keepdim)
    return (np.abs(x) ** porder).sum(axis=ax, keepdims=keepdim) ** (1.0 / porder)


bn = _op("batch_norm", ["X", "Scale", "Bias", "Mean", "Variance"], "Y")
ln = _op("layer_norm", ["X", "Scale", "Bias"], "Y")
ln_plain = _op("layer_norm", ["X"], "Y")
gn = _op("group_norm", ["X", "Scale", "Bias"], "Y")
inn = _op("instance_norm", ["X", "Scale", "Bias"], "Y")
pn = _op("p_norm", ["X"], "Out")

SPECS = [
    OpSpec("batch_norm_train_nchw", bn, ref_batch_norm, [(3, 2, 3, 2), _pos((2,)), (2,), (2,), _pos((2,))],
           grad=(0, 1, 2), rtol=1e-4, atol=1e-5),
    OpSpec("batch_norm_train_2d", bn, ref_batch_norm, [(5, 3), _pos((3,)), (3,), (3,), _pos((3,))],
           grad=(0, 1, 2), rtol=1e-4, atol=1e-5),
    OpSpec("batch_norm_train_nhwc", bn, ref_batch_norm, [(2, 3, 2, 4), _pos((4,)), (4,), (4,), _pos((4,))],
           dict(data_layout="NHWC"), grad=(0, 1, 2), rtol=1e-4, atol=1e-5),
    OpSpec("batch_norm_test", bn, ref_batch_norm, [(2, 3, 2, 2), _pos((3,)), (3,), (3,), _pos((3,))],
           dict(is_test=True, use_global_stats=True), grad=(0, 1, 2)),
    OpSpec("batch_norm_global_stats_training", bn, ref_batch_norm,
           [(2, 3, 2, 2), _pos((3,)), (3,), (3,), _pos((3,))], dict(use_global_stats=True), grad=(0, 1, 2)),
    OpSpec("layer_norm_axis1", ln, ref_layer_norm, [(3, 4, 2), _pos((8,)), (8,)], dict(begin_norm_axis=1),
           rtol=1e-4, atol=1e-5),
    OpSpec("layer_norm_axis2", ln, ref_layer_norm, [(2, 3, 5), _pos((5,)), (5,)], dict(begin_norm_axis=2),
           rtol=1e-4, atol=1e-5),
    OpSpec("layer_norm_no_affine", ln_plain, ref_layer_norm, [(4, 6)], rtol=1e-4, atol=1e-5),
    OpSpec("group_norm_nchw", gn, ref_group_norm, [(2, 4, 3, 2), _pos((4,)), (4,)], dict(groups=2),
           rtol=1e-4, atol=1e-5),
    OpSpec("group_norm_nhwc", gn, ref_group_norm, [(2, 3, 2, 6), _pos((6,)), (6,)],
           dict(groups=3, data_layout="NHWC"), rtol=1e-4, atol=1e-5),
    OpSpec("instance_norm", inn, ref_instance_norm, [(2, 3, 4, 3), _pos((3,)), (3,)], rtol=1e-4, atol=1e-5),
    OpSpec("p_norm_2", pn, ref_p_norm, [_away_from_zero((3, 4))]),
    OpSpec("p_norm_3_keepdim_axis0", pn, ref_p_norm, [_away_from_zero((3, 4))],
           dict(porder=3.0, axis=0, keepdim=True)),
    OpSpec("p_norm_inf", pn, ref_p_norm, [lambda rng: rng.permutation(12).reshape(3, 4) * 0.1 + 0.05],
           dict(porder=float("inf"))),
    OpSpec("p_norm_asvector", pn, ref_p_norm, [_away_from_zero((2, 3))], dict(porder=1.5, asvector=True)),
]


test_forward, test_backward, test_static = spec_tests(SPECS)


# ---------------------------------------------------------------------------- running statistics
def test_batch_norm_training_updates_running_stats_in_place():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5, 5)).astype(np.float32) * 2 + 1
    mean0 = rng.standard_normal(3).astype(np.float32)
    var0 = rng.uniform(0.5, 2, 3).astype(np.float32)
    mean, var = paddle.to_tensor(mean0), paddle.to_tensor(var0)
    scale, bias = paddle.to_tensor(np.ones(3, np.float32)), paddle.to_tensor(np.zeros(3, np.float32))
    res = run_op("batch_norm", {"X": paddle.to_tensor(x), "Scale": scale, "Bias": bias, "Mean": mean,
                                "Variance": var}, {"momentum": 0.8, "epsilon": 1e-5},
                 bind={"MeanOut": mean, "VarianceOut": var})
    assert res["MeanOut"] is mean and res["VarianceOut"] is var
    x64 = x.astype(np.float64)
    bmean, bvar = x64.mean(axis=(0, 2, 3)), x64.var(axis=(0, 2, 3))      # biased, as Paddle's CPU kernel
    np.testing.assert_allclose(mean.numpy(), mean0 * 0.8 + bmean * 0.2, rtol=1e-5)
    np.testing.assert_allclose(var.numpy(), var0 * 0.8 + bvar * 0.2, rtol=1e-5)
    np.testing.assert_allclose(res["SavedMean"].numpy(), bmean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res["SavedVariance"].numpy(), 1 / np.sqrt(bvar + 1e-5), rtol=1e-5)
    assert res["ReserveSpace"] is not None


def test_batch_norm_momentum_tensor_overrides_attr():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    mean, var = paddle.to_tensor(np.zeros(3, np.float32)), paddle.to_tensor(np.ones(3, np.float32))
    run_op("batch_norm", {"X": paddle.to_tensor(x), "Mean": mean, "Variance": var,
                          "MomentumTensor": paddle.to_tensor(np.array([0.5], np.float32))},
           {"momentum": 0.9}, bind={"MeanOut": mean, "VarianceOut": var})
    np.testing.assert_allclose(mean.numpy(), 0.5 * x.mean(axis=0), rtol=1e-6)


def test_batch_norm_test_mode_leaves_stats_and_has_no_reserve_space():
    mean, var = paddle.to_tensor(np.zeros(2, np.float32)), paddle.to_tensor(np.ones(2, np.float32))
    x = paddle.to_tensor(np.ones((3, 2), np.float32) * 5)
    res = run_op("batch_norm", {"X": x, "Mean": mean, "Variance": var}, {"is_test": True},
                 bind={"MeanOut": mean, "VarianceOut": var})
    np.testing.assert_array_equal(mean.numpy(), [0, 0])
    np.testing.assert_allclose(res["Y"].numpy(), 5 / np.sqrt(1 + 1e-5), rtol=1e-6)
    assert res["ReserveSpace"] is None


def test_batch_norm_channel_mismatch_error():
    x = paddle.to_tensor(np.zeros((2, 3, 4, 4), np.float32))
    m = paddle.to_tensor(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"batch_norm: Mean has shape \[4\] but X \[2, 3, 4, 4\]"):
        run_op("batch_norm", {"X": x, "Mean": m, "Variance": m})


def test_layer_norm_stats_outputs():
    x = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    res = run_op("layer_norm", {"X": paddle.to_tensor(x)}, {"begin_norm_axis": 2})
    np.testing.assert_allclose(res["Mean"].numpy(), x.reshape(6, 4).mean(1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res["Variance"].numpy(), x.reshape(6, 4).var(1), rtol=1e-5)
    assert res["Mean"].shape == [6]


def test_group_norm_bad_groups():
    x = paddle.to_tensor(np.zeros((1, 6, 2, 2), np.float32))
    with pytest.raises(ValueError, match="group_norm: groups=4"):
        run_op("group_norm", {"X": x}, {"groups": 4})


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_float32_in_float32_out(spec):
    from tests.ops.harness import sample, _tensors, _pick
    out = _pick(spec, spec.fn(*_tensors(sample(spec), np.float32), **spec.kwargs))
    assert out.numpy().dtype == np.float32, f"{spec.name}: {out.numpy().dtype}"
