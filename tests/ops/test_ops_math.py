"""Elementwise arithmetic, unary math, matmul / mul / sum, scale, cast, clip, pow, cumsum."""
import math

import numpy as np
import pytest

import sampan as paddle
from sampan.core.dispatch import run_op, OpError
from tests.ops.harness import OpSpec, spec_tests


def _op(type_name, in_slots, out_slot="Out", **fixed):
    def fn(*ts, **attrs):
        return run_op(type_name, dict(zip(in_slots, ts)), {**fixed, **attrs})[out_slot]
    fn.__name__ = type_name
    return fn


def pos(shape, lo=0.5, hi=2.0):
    return lambda rng: rng.uniform(lo, hi, size=shape)


def away(shape, lo=0.2, hi=1.0):
    """Values with |x| in [lo, hi]: away from the kink of abs/relu/sign at 0."""
    return lambda rng: rng.uniform(lo, hi, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def frac_vals(shape):
    """Values away from integers and half-integers (floor/ceil/round are flat there)."""
    return lambda rng: rng.integers(-3, 3, size=shape) + rng.uniform(0.1, 0.4, size=shape) + \
        rng.choice([0.0, 0.5], size=shape)


def distinct_pair(shape):
    """Two inputs whose entries differ by at least 0.1 (max/min are not differentiable at ties)."""
    def a(rng):
        return rng.uniform(-1, 1, size=shape)

    def b(rng):
        x = np.random.default_rng(0).uniform(-1, 1, size=shape)  # same stream position as `a`
        rng.uniform(-1, 1, size=shape)
        return x + rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 0.5, size=shape)
    return a, b


def ints(shape, lo=-9, hi=10, nonzero=False):
    def f(rng):
        v = rng.integers(lo, hi, size=shape)
        if nonzero:
            v[v == 0] = 1
        return v.astype(np.int64)
    return f


_erf64 = np.vectorize(math.erf)

mx_a, mx_b = distinct_pair([3, 4])

SPECS = [
    # ------------------------------------------------------------- elementwise binary
    OpSpec("add", paddle.add, np.add, [[3, 4], [3, 4]]),
    OpSpec("add_broadcast", paddle.add, np.add, [[2, 3, 4], [4]]),
    OpSpec("add_broadcast_both", paddle.add, np.add, [[2, 1, 4], [3, 1]]),
    OpSpec("elementwise_add_axis", _op("elementwise_add", ["X", "Y"], axis=1),
           lambda x, y: x + y[None, :, None], [[2, 3, 4], [3]]),
    OpSpec("elementwise_add_axis_trailing1", _op("elementwise_add", ["X", "Y"], axis=1),
           lambda x, y: x + y.reshape(1, 3, 1), [[2, 3, 4], [3, 1]]),
    OpSpec("elementwise_add_axis0_x_smaller", _op("elementwise_add", ["X", "Y"], axis=0),
           lambda x, y: x[:, :, None] + y, [[2, 3], [2, 3, 4]]),
    OpSpec("subtract", paddle.subtract, np.subtract, [[3, 4], [4]]),
    OpSpec("elementwise_sub_axis", _op("elementwise_sub", ["X", "Y"], axis=0),
           lambda x, y: x - y[:, None, None], [[2, 3, 4], [2]]),
    OpSpec("multiply", paddle.multiply, np.multiply, [[3, 4], [3, 1]]),
    OpSpec("elementwise_mul_axis", _op("elementwise_mul", ["X", "Y"], axis=1),
           lambda x, y: x * y[None, :, :, None], [[2, 3, 4, 5], [3, 4]]),
    OpSpec("divide", paddle.divide, np.divide, [[3, 4], pos([4])]),
    OpSpec("elementwise_div_axis", _op("elementwise_div", ["X", "Y"], axis=1),
           lambda x, y: x / y[None, :, None], [[2, 3, 4], pos([3])]),
    OpSpec("pow_tensor", paddle.pow, np.power, [pos([3, 4]), [3, 4]]),
    OpSpec("maximum", paddle.maximum, np.maximum, [mx_a, mx_b]),
    OpSpec("maximum_broadcast", paddle.maximum, np.maximum, [[3, 4], lambda rng: np.array([0.55, -0.45, 0.05, 2.0])]),
    OpSpec("minimum", paddle.minimum, np.minimum, [mx_a, mx_b]),
    OpSpec("floor_divide_int", paddle.floor_divide, lambda x, y: x // y, [ints([3, 4]), ints([3, 4], nonzero=True)],
           nondiff=True),
    OpSpec("floor_divide_float", paddle.floor_divide, np.floor_divide, [[3, 4], pos([3, 4], 0.3, 0.9)], nondiff=True),
    OpSpec("remainder_int", paddle.remainder, lambda x, y: x % y, [ints([3, 4]), ints([3, 4], nonzero=True)],
           nondiff=True),
    OpSpec("remainder_float", paddle.remainder, np.mod, [pos([3, 4], 1.1, 3.0), pos([3, 4], 0.3, 0.9)],
           nondiff=True, atol=1e-5),
    # ------------------------------------------------------------- matrix products
    OpSpec("matmul", paddle.matmul, lambda x, y: x @ y, [[3, 4], [4, 5]]),
    OpSpec("matmul_batched_broadcast", paddle.matmul, lambda x, y: x @ y, [[2, 3, 4], [4, 5]]),
    OpSpec("matmul_batch_both", paddle.matmul, lambda x, y: x @ y, [[2, 1, 3, 4], [3, 4, 2]]),
    OpSpec("matmul_vec_mat", paddle.matmul, lambda x, y: x @ y, [[4], [4, 3]]),
    OpSpec("matmul_mat_vec", paddle.matmul, lambda x, y: x @ y, [[2, 3, 4], [4]]),
    OpSpec("matmul_vec_vec", paddle.matmul, lambda x, y: np.asarray(x @ y), [[4], [4]]),
    OpSpec("matmul_trans_x", lambda x, y: paddle.matmul(x, y, transpose_x=True), lambda x, y: x.T @ y,
           [[4, 3], [4, 5]]),
    OpSpec("matmul_trans_y", lambda x, y: paddle.matmul(x, y, transpose_y=True),
           lambda x, y: x @ np.swapaxes(y, -1, -2), [[2, 3, 4], [2, 5, 4]]),
    OpSpec("matmul_trans_both", lambda x, y: paddle.matmul(x, y, True, True), lambda x, y: x.T @ y.T,
           [[4, 3], [5, 4]]),
    OpSpec("mm", paddle.mm, lambda x, y: x @ y, [[2, 3], [3, 2]]),
    OpSpec("bmm", paddle.bmm, lambda x, y: np.einsum("bij,bjk->bik", x, y), [[2, 3, 4], [2, 4, 2]]),
    OpSpec("dot", paddle.dot, lambda x, y: np.asarray((x * y).sum(-1)), [[5], [5]]),
    OpSpec("dot_batched", paddle.dot, lambda x, y: (x * y).sum(-1), [[3, 5], [3, 5]]),
    OpSpec("mul_op", _op("mul", ["X", "Y"], x_num_col_dims=1, y_num_col_dims=1),
           lambda x, y: x.reshape(2, 12) @ y, [[2, 3, 4], [12, 5]]),
    OpSpec("mul_op_col2", _op("mul", ["X", "Y"], x_num_col_dims=2, y_num_col_dims=1),
           lambda x, y: (x.reshape(6, 4) @ y).reshape(2, 3, 5), [[2, 3, 4], [4, 5]]),
    OpSpec("add_n", lambda a, b, c: paddle.add_n([a, b, c]), lambda a, b, c: a + b + c, [[2, 3]] * 3),
    OpSpec("add_n_single", lambda a: paddle.add_n([a]), lambda a: a, [[2, 3]]),
    # ------------------------------------------------------------- scale / cast / clip / pow
    OpSpec("scale", lambda x: paddle.scale(x, 2.5, 0.5), lambda x: 2.5 * x + 0.5, [[3, 4]]),
    OpSpec("scale_bias_before", lambda x: paddle.scale(x, 2.5, 0.5, bias_after_scale=False),
           lambda x: 2.5 * (x + 0.5), [[3, 4]]),
    OpSpec("scale_tensor", lambda x, s: paddle.scale(x, s, 1.0), lambda x, s: x * s[0] + 1.0,
           [[3, 4], pos([1])], grad=(0,)),
    OpSpec("neg", paddle.neg, np.negative, [[3]]),
    OpSpec("cast_f64", lambda x: paddle.cast(x, "float64"), lambda x: x, [[3, 4]]),
    OpSpec("cast_int32", lambda x: paddle.cast(x, "int32"), lambda x: np.trunc(x).astype(np.int32),
           [frac_vals([3, 4])], nondiff=True),
    OpSpec("cast_bool", lambda x: paddle.cast(x, "bool"), lambda x: x != 0,
           [lambda rng: rng.integers(0, 2, [5]).astype(np.float64)], nondiff=True),
    OpSpec("clip", lambda x: paddle.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5),
           [lambda rng: rng.choice([-1.0, 1.0], [3, 4]) * rng.choice([0.2, 0.3, 0.7, 0.9], [3, 4])]),
    OpSpec("clip_min_only", lambda x: paddle.clip(x, min=0.0), lambda x: np.maximum(x, 0.0), [away([3, 4])]),
    OpSpec("clip_tensors", lambda x, lo, hi: paddle.clip(x, lo, hi), lambda x, lo, hi: np.clip(x, lo[0], hi[0]),
           [lambda rng: rng.choice([-1.0, 1.0], [6]) * rng.choice([0.2, 0.7], [6]),
            lambda rng: np.array([-0.5]), lambda rng: np.array([0.5])], grad=(0,)),
    OpSpec("pow_factor", lambda x: paddle.pow(x, 3.0), lambda x: x ** 3, [[3, 4]]),
    OpSpec("pow_factor_frac", lambda x: paddle.pow(x, 0.5), np.sqrt, [pos([3, 4])]),
    OpSpec("pow_factor_2", lambda x: x ** 2, np.square, [[3, 4]]),
    # ------------------------------------------------------------- unary math
    OpSpec("sqrt", paddle.sqrt, np.sqrt, [pos([3, 4])]),
    OpSpec("rsqrt", paddle.rsqrt, lambda x: 1 / np.sqrt(x), [pos([3, 4])]),
    OpSpec("exp", paddle.exp, np.exp, [[3, 4]]),
    OpSpec("expm1", paddle.expm1, np.expm1, [[3, 4]]),
    OpSpec("log", paddle.log, np.log, [pos([3, 4])]),
    OpSpec("log2", paddle.log2, np.log2, [pos([3, 4])]),
    OpSpec("log10", paddle.log10, np.log10, [pos([3, 4])]),
    OpSpec("log1p", paddle.log1p, np.log1p, [pos([3, 4])]),
    OpSpec("abs", paddle.abs, np.abs, [away([3, 4])]),
    OpSpec("square", paddle.square, np.square, [[3, 4]]),
    OpSpec("sign", paddle.sign, np.sign, [away([3, 4])]),
    OpSpec("floor", paddle.floor, np.floor, [frac_vals([3, 4])]),
    OpSpec("ceil", paddle.ceil, np.ceil, [frac_vals([3, 4])]),
    OpSpec("round", paddle.round, lambda x: np.sign(x) * np.floor(np.abs(x) + 0.5), [frac_vals([3, 4])]),
    OpSpec("round_halves_away", paddle.round, lambda x: np.array([-3.0, -1.0, 1.0, 3.0, 0.0]),
           [lambda rng: np.array([-2.5, -0.5, 0.5, 2.5, 0.2])], nondiff=True),
    OpSpec("reciprocal", paddle.reciprocal, lambda x: 1 / x, [pos([3, 4])]),
    OpSpec("sin", paddle.sin, np.sin, [[3, 4]]),
    OpSpec("cos", paddle.cos, np.cos, [[3, 4]]),
    OpSpec("tan", paddle.tan, np.tan, [[3, 4]]),
    OpSpec("asin", paddle.asin, np.arcsin, [lambda rng: rng.uniform(-0.8, 0.8, [3, 4])]),
    OpSpec("acos", paddle.acos, np.arccos, [lambda rng: rng.uniform(-0.8, 0.8, [3, 4])]),
    OpSpec("atan", paddle.atan, np.arctan, [[3, 4]]),
    OpSpec("sinh", paddle.sinh, np.sinh, [[3, 4]]),
    OpSpec("cosh", paddle.cosh, np.cosh, [[3, 4]]),
    OpSpec("erf", paddle.erf, _erf64, [lambda rng: rng.uniform(-4, 4, [4, 5])]),
    OpSpec("erf_large", paddle.erf, _erf64, [lambda rng: np.array([-6.0, -3.5, -3.0, 2.999, 3.2, 5.0, 30.0])]),
    OpSpec("assign", paddle.assign, lambda x: x, [[3, 4]]),
    OpSpec("clone", paddle.clone, lambda x: x, [[3]]),
    OpSpec("cumsum", lambda x: paddle.cumsum(x, axis=1), lambda x: np.cumsum(x, 1), [[3, 4]]),
    OpSpec("cumsum_flat", paddle.cumsum, lambda x: np.cumsum(x), [[3, 4]]),
    OpSpec("cumsum_exclusive_reverse",
           _op("cumsum", ["X"], axis=0, exclusive=True, reverse=True),
           lambda x: np.flip(np.cumsum(np.flip(x, 0), 0), 0) - x, [[4, 3]]),
    OpSpec("logsumexp", lambda x: paddle.logsumexp(x, axis=1), lambda x: np.log(np.exp(x).sum(1)), [[3, 4]]),
    OpSpec("logsumexp_all", paddle.logsumexp, lambda x: np.asarray(np.log(np.exp(x).sum())), [[3, 4]]),
    OpSpec("lerp", paddle.lerp, lambda x, y, w: x + w * (y - x), [[3], [3], [3]]),
    # ------------------------------------------------------------- operators
    OpSpec("op_add_scalar", lambda x: x + 1.5, lambda x: x + 1.5, [[3, 4]]),
    OpSpec("op_radd_scalar", lambda x: 2 + x, lambda x: x + 2, [[3, 4]]),
    OpSpec("op_rsub_scalar", lambda x: 1.0 - x, lambda x: 1.0 - x, [[3, 4]]),
    OpSpec("op_mul_scalar", lambda x: x * 3, lambda x: x * 3, [[3, 4]]),
    OpSpec("op_div_scalar", lambda x: x / 4.0, lambda x: x / 4.0, [[3, 4]]),
    OpSpec("op_rdiv_scalar", lambda x: 2.0 / x, lambda x: 2.0 / x, [pos([3, 4])]),
    OpSpec("op_rpow_scalar", lambda x: 2.0 ** x, lambda x: 2.0 ** x, [[3, 4]]),
    OpSpec("op_neg", lambda x: -x, np.negative, [[3, 4]]),
    OpSpec("op_matmul", lambda x, y: x @ y, lambda x, y: x @ y, [[3, 4], [4, 2]]),
    OpSpec("op_sub_tensor", lambda x, y: x - y, np.subtract, [[3, 4], [3, 4]]),
    OpSpec("op_truediv_int", lambda x, y: x / y, lambda x, y: x / y,
           [ints([4]), ints([4], 1, 5)], nondiff=True),
]


test_forward, test_backward, test_static = spec_tests(SPECS)


# ---------------------------------------------------------------------------- dtype behaviour
def test_scalar_operands_keep_float32():
    x = paddle.to_tensor([1.0, 2.0])
    for y in (x + 1, x - 1.5, 2 * x, x / 3, x ** 2, 1.0 - x, 3 / x, x * np.float64(2.0), paddle.maximum(x, 0.5)):
        assert y.dtype == paddle.float32, y


def test_int_tensor_with_float_scalar_promotes_to_float32():
    x = paddle.to_tensor([1, 2, 3])
    assert (x * 2).dtype == paddle.int64
    np.testing.assert_array_equal((x * 2).numpy(), [2, 4, 6])
    y = x * 1.5
    assert y.dtype == paddle.float32
    np.testing.assert_allclose(y.numpy(), [1.5, 3.0, 4.5])
    z = x / 2
    assert z.dtype == paddle.float32
    np.testing.assert_allclose(z.numpy(), [0.5, 1.0, 1.5])


def test_elementwise_div_int_kernel_truncates_like_cpp():
    x = paddle.to_tensor(np.array([7, -7, 7, -7], np.int64))
    y = paddle.to_tensor(np.array([2, 2, -2, -2], np.int64))
    out = run_op("elementwise_div", {"X": x, "Y": y})["Out"].numpy()
    np.testing.assert_array_equal(out, [3, -3, -3, 3])


def test_scale_keeps_int_dtype():
    x = paddle.to_tensor([1, 2], dtype="int32")
    out = paddle.scale(x, 2.0, 1.0)
    assert out.dtype == paddle.int32
    np.testing.assert_array_equal(out.numpy(), [3, 5])


def test_sum_op_float64_and_0d_outputs_are_arrays():
    x = paddle.to_tensor(2.0, dtype="float64")
    for y in (paddle.sqrt(x), x * x, paddle.exp(x), paddle.tanh(x), x + 1.0):
        assert isinstance(y._data, np.ndarray) and y.shape == []


def test_cast_bfloat16_round_trip():
    x = paddle.to_tensor([1.0, -2.5, 3.140625])
    b = run_op("cast", {"X": x}, {"in_dtype": 5, "out_dtype": 22})["Out"]
    assert b._data.dtype == np.uint16
    back = run_op("cast", {"X": b}, {"in_dtype": 22, "out_dtype": 5})["Out"]
    np.testing.assert_array_equal(back.numpy(), [1.0, -2.5, 3.140625])


# ---------------------------------------------------------------------------- bad input
def test_matmul_shape_mismatch_names_op_inputs_and_shapes():
    x, y = paddle.ones([2, 3]), paddle.ones([4, 5])
    with pytest.raises(OpError) as ei:
        paddle.matmul(x, y)
    msg = str(ei.value)
    assert "matmul_v2" in msg and "X [2, 3]" in msg and "Y [4, 5]" in msg


def test_matmul_batch_mismatch_names_op_and_shapes():
    with pytest.raises(OpError) as ei:
        paddle.matmul(paddle.ones([2, 3, 4]), paddle.ones([3, 4, 5]))
    msg = str(ei.value)
    assert "matmul_v2" in msg and "[2, 3, 4]" in msg and "[3, 4, 5]" in msg


def test_mul_shape_mismatch_message():
    with pytest.raises(OpError) as ei:
        run_op("mul", {"X": paddle.ones([2, 3]), "Y": paddle.ones([4, 5])})
    assert "mul" in str(ei.value) and "[2, 3]" in str(ei.value) and "[4, 5]" in str(ei.value)


def test_elementwise_broadcast_mismatch_message():
    with pytest.raises(OpError) as ei:
        paddle.add(paddle.ones([2, 3]), paddle.ones([4]))
    msg = str(ei.value)
    assert "elementwise_add" in msg and "[2, 3]" in msg and "[4]" in msg


def test_static_broadcast_mismatch_is_caught_at_build_time():
    paddle.enable_static()
    try:
        with paddle.static.program_guard(paddle.static.Program(), paddle.static.Program()):
            x = paddle.static.data("x", [None, 3], "float32")
            with pytest.raises(OpError, match="elementwise_add"):
                paddle.add(x, paddle.static.data("y", [None, 4], "float32"))
    finally:
        paddle.disable_static()


def test_matmul_static_builds_with_unknown_batch():
    paddle.enable_static()
    try:
        main = paddle.static.Program()
        with paddle.static.program_guard(main, paddle.static.Program()):
            x = paddle.static.data("x", [None, 3], "float32")
            w = paddle.static.data("w", [3, 5], "float32")
            y = paddle.tanh(paddle.matmul(x, w))
        assert y.shape == [-1, 5]
        assert [o.type for o in main.global_block().ops] == ["matmul_v2", "tanh"]
    finally:
        paddle.disable_static()
