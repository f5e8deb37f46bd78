"""softmax / log_softmax / dropout / lookup_table_v2 / pad3d / prelu / label_smooth."""
import numpy as np
import pytest

import sampan as paddle
from sampan.core import state
from sampan.core.dispatch import run_op
from tests.ops.harness import OpSpec, spec_tests


def _op(type_name, in_slots, out_slot="Out", **fixed):
    def fn(*ts, **attrs):
        return run_op(type_name, dict(zip(in_slots, ts)), {**fixed, **attrs})[out_slot]
    fn.__name__ = type_name
    return fn


def ref_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def ref_log_softmax(x, axis=-1):
    return np.log(ref_softmax(x, axis))


def ref_embedding(ids, w, padding_idx=-1):
    out = w[ids]
    if padding_idx != -1:
        out[ids == padding_idx] = 0
    return out


def ref_pad3d(x, paddings=(0,) * 6, mode="constant", value=0.0, data_format="NCDHW"):
    l, r, t, b, f, k = paddings
    if data_format == "NCDHW":
        width = [(0, 0), (0, 0), (f, k), (t, b), (l, r)]
    else:
        width = [(0, 0), (f, k), (t, b), (l, r), (0, 0)]
    # explicit index maps, independent of np.pad's mode names
    idx = []
    for n, (a, c) in zip(x.shape, width):
        src = np.arange(n + a + c) - a
        if mode == "reflect":
            src = np.abs(src)
            src = np.where(src > n - 1, 2 * (n - 1) - src, src)
        elif mode == "replicate":
            src = np.clip(src, 0, n - 1)
        elif mode == "circular":
            src = src % n
        idx.append(src)
    grid = np.ix_(*[np.clip(i, 0, s - 1) for i, s in zip(idx, x.shape)])
    out = x[grid]
    if mode == "constant":
        mask = np.ones(out.shape, bool)
        for ax, (i, s) in enumerate(zip(idx, x.shape)):
            shp = [1] * x.ndim
            shp[ax] = -1
            mask &= ((i >= 0) & (i < s)).reshape(shp)
        out = np.where(mask, out, value)
    return out


def ref_prelu(x, alpha, mode="all", data_format="NCHW"):
    if mode == "channel":
        shp = [1] * x.ndim
        shp[1 if data_format == "NCHW" else -1] = -1
        a = alpha.reshape(shp)
    elif mode == "element":
        a = alpha.reshape((1,) + x.shape[1:])
    else:
        a = alpha.reshape([1] * x.ndim)
    return np.where(x > 0, x, a * x)


def ref_label_smooth(x, epsilon=0.0):
    return (1 - epsilon) * x + epsilon / x.shape[-1]


def _away(shape):
    return lambda rng: rng.uniform(0.1, 1.0, size=shape) * rng.choice([-1, 1], size=shape)


ids_sampler = lambda rng: rng.integers(0, 6, size=(3, 4)).astype(np.int64)  # noqa: E731

SPECS = [
    OpSpec("softmax_last", _op("softmax", ["X"]), ref_softmax, [(3, 5)]),
    OpSpec("softmax_axis1", _op("softmax", ["X"]), ref_softmax, [(2, 4, 3)], dict(axis=1)),
    OpSpec("softmax_large_logits", _op("softmax", ["X"]), ref_softmax,
           [lambda rng: rng.uniform(-1, 1, (2, 4)) * 1e3], nondiff=True),
    OpSpec("log_softmax", _op("log_softmax", ["X"]), ref_log_softmax, [(3, 5)]),
    OpSpec("log_softmax_axis0", _op("log_softmax", ["X"]), ref_log_softmax, [(4, 3)], dict(axis=0)),
    OpSpec("lookup_table_v2", _op("lookup_table_v2", ["Ids", "W"]), ref_embedding, [ids_sampler, (6, 3)]),
    OpSpec("lookup_table_v2_padding", _op("lookup_table_v2", ["Ids", "W"]), ref_embedding,
           [ids_sampler, (6, 3)], dict(padding_idx=2)),
    OpSpec("pad3d_constant", _op("pad3d", ["X"]), ref_pad3d, [(1, 2, 2, 3, 3)],
           dict(paddings=[1, 2, 0, 1, 2, 0], mode="constant", value=0.5)),
    OpSpec("pad3d_reflect", _op("pad3d", ["X"]), ref_pad3d, [(1, 2, 3, 3, 4)],
           dict(paddings=[2, 1, 1, 2, 0, 1], mode="reflect")),
    OpSpec("pad3d_replicate", _op("pad3d", ["X"]), ref_pad3d, [(1, 1, 2, 3, 2)],
           dict(paddings=[3, 1, 0, 2, 1, 1], mode="replicate")),
    OpSpec("pad3d_circular_ndhwc", _op("pad3d", ["X"]), ref_pad3d, [(1, 2, 3, 2, 2)],
           dict(paddings=[1, 1, 2, 0, 1, 2], mode="circular", data_format="NDHWC")),
    OpSpec("prelu_all", _op("prelu", ["X", "Alpha"]), ref_prelu, [_away((2, 3, 4)), (1,)]),
    OpSpec("prelu_channel", _op("prelu", ["X", "Alpha"]), ref_prelu, [_away((2, 3, 2, 2)), (3,)],
           dict(mode="channel")),
    OpSpec("prelu_channel_nhwc", _op("prelu", ["X", "Alpha"]), ref_prelu, [_away((2, 2, 2, 3)), (3,)],
           dict(mode="channel", data_format="NHWC")),
    OpSpec("prelu_element", _op("prelu", ["X", "Alpha"]), ref_prelu, [_away((2, 3, 2)), (1, 3, 2)],
           dict(mode="element")),
    OpSpec("label_smooth", _op("label_smooth", ["X"]), ref_label_smooth, [(3, 5)], dict(epsilon=0.1)),
]


test_forward, test_backward, test_static = spec_tests(SPECS)


# ---------------------------------------------------------------------------- dropout
def _dropout(x, **attrs):
    return run_op("dropout", {"X": x}, attrs)


def test_dropout_upscale_statistics_and_gradient():
    state.seed(123)
    x = paddle.to_tensor(np.ones((200, 500), np.float32), stop_gradient=False)
    res = _dropout(x, dropout_prob=0.3, dropout_implementation="upscale_in_train")
    out, mask = res["Out"].numpy(), res["Mask"].numpy()
    assert mask.dtype == np.uint8
    kept = mask.mean()
    assert abs(kept - 0.7) < 0.01                       # 100000 draws: sd ~ 0.0015
    np.testing.assert_allclose(out[mask == 1], 1 / 0.7, rtol=1e-6)
    assert (out[mask == 0] == 0).all()
    assert abs(out.mean() - 1.0) < 0.02                 # expectation preserved
    res["Out"].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), mask / 0.7, rtol=1e-6)


def test_dropout_downgrade_in_infer_train_and_test():
    state.seed(1)
    x = paddle.to_tensor(np.full((100, 100), 2.0, np.float32))
    res = _dropout(x, dropout_prob=0.25)
    out, mask = res["Out"].numpy(), res["Mask"].numpy()
    np.testing.assert_array_equal(out, 2.0 * mask)     # no rescaling in training
    assert abs(mask.mean() - 0.75) < 0.02
    test = _dropout(x, dropout_prob=0.25, is_test=True)
    np.testing.assert_allclose(test["Out"].numpy(), 1.5)
    assert test["Mask"] is None


def test_dropout_upscale_is_identity_at_test_time():
    x = paddle.to_tensor(np.arange(6, dtype=np.float32))
    out = _dropout(x, dropout_prob=0.5, is_test=True, dropout_implementation="upscale_in_train")["Out"]
    np.testing.assert_array_equal(out.numpy(), np.arange(6))


def test_dropout_seed_reproducible_and_p_one():
    x = paddle.to_tensor(np.ones((50, 50), np.float32))
    a = _dropout(x, dropout_prob=0.5, fix_seed=True, seed=7)["Mask"].numpy()
    b = _dropout(x, dropout_prob=0.5, fix_seed=True, seed=7)["Mask"].numpy()
    np.testing.assert_array_equal(a, b)
    state.seed(5)
    c = _dropout(x, dropout_prob=0.5)["Mask"].numpy()
    state.seed(5)
    d = _dropout(x, dropout_prob=0.5)["Mask"].numpy()
    np.testing.assert_array_equal(c, d)
    z = _dropout(x, dropout_prob=1.0, dropout_implementation="upscale_in_train")["Out"].numpy()
    assert (z == 0).all()
    with pytest.raises(ValueError, match="dropout_prob"):
        _dropout(x, dropout_prob=1.5)


# ---------------------------------------------------------------------------- embedding errors
def test_lookup_table_out_of_range_names_op_id_and_size():
    w = paddle.to_tensor(np.zeros((5, 2), np.float32))
    ids = paddle.to_tensor(np.array([[1, 7]], np.int64))
    with pytest.raises(ValueError) as e:
        run_op("lookup_table_v2", {"Ids": ids, "W": w})
    msg = str(e.value)
    assert "lookup_table_v2" in msg and "id 7" in msg and "5 rows" in msg and "[1, 2]" in msg


def test_lookup_table_float_ids_rejected():
    w = paddle.to_tensor(np.zeros((5, 2), np.float32))
    ids = paddle.to_tensor(np.array([1.0, 2.0], np.float32))
    with pytest.raises(ValueError, match="lookup_table_v2: Ids must be an integer tensor"):
        run_op("lookup_table_v2", {"Ids": ids, "W": w})


def test_lookup_table_grad_accumulates_repeats_and_skips_padding():
    w = paddle.to_tensor(np.ones((4, 2), np.float32), stop_gradient=False)
    ids = paddle.to_tensor(np.array([0, 1, 1, 3, 3, 3], np.int64))
    run_op("lookup_table_v2", {"Ids": ids, "W": w}, {"padding_idx": 3})["Out"].sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1, 1], [2, 2], [0, 0], [0, 0]])


def test_pad3d_reflect_too_large():
    x = paddle.to_tensor(np.zeros((1, 1, 1, 2, 2), np.float32))
    with pytest.raises(ValueError, match="reflect padding"):
        run_op("pad3d", {"X": x}, {"paddings": [2, 0, 0, 0, 0, 0], "mode": "reflect"})


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_float32_in_float32_out(spec):
    from tests.ops.harness import sample, _tensors, _pick
    out = _pick(spec, spec.fn(*_tensors(sample(spec), np.float32), **spec.kwargs))
    assert out.numpy().dtype == np.float32, f"{spec.name}: {out.numpy().dtype}"
