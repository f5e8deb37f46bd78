"""Comparison / logic ops and their public functions (bool results, no gradients)."""
import numpy as np

import sampan as paddle
from sampan.core.dispatch import run_op
from tests.ops.harness import OpSpec, spec_tests


def grid(shape):
    """Small integers as floats so that equality cases actually occur."""
    return lambda rng: rng.integers(-2, 3, size=shape).astype(np.float64)


def bools(shape):
    return lambda rng: rng.integers(0, 2, size=shape).astype(bool)


S = [3, 4]

SPECS = [
    OpSpec("equal", paddle.equal, np.equal, [grid(S), grid(S)]),
    OpSpec("not_equal", paddle.not_equal, np.not_equal, [grid(S), grid([4])]),
    OpSpec("greater_than", paddle.greater_than, np.greater, [grid(S), grid(S)]),
    OpSpec("greater_equal", paddle.greater_equal, np.greater_equal, [grid(S), grid([3, 1])]),
    OpSpec("less_than", paddle.less_than, np.less, [grid(S), grid(S)]),
    OpSpec("less_equal", paddle.less_equal, np.less_equal, [grid(S), grid(S)]),
    OpSpec("less_than_axis", lambda x, y: run_op("less_than", {"X": x, "Y": y}, {"axis": 0})["Out"],
           lambda x, y: x < y[:, None], [grid(S), grid([3])]),
    OpSpec("op_gt_scalar", lambda x: x > 0.5, lambda x: x > 0.5, [grid(S)]),
    OpSpec("op_eq_scalar", lambda x: x == 1, lambda x: x == 1, [grid(S)]),
    OpSpec("op_le_tensor", lambda x, y: x <= y, np.less_equal, [grid(S), grid(S)]),
    OpSpec("op_ne_int_tensor", lambda x: x != 2,
           lambda x: x != 2, [lambda rng: rng.integers(0, 4, S)]),
    OpSpec("logical_and", paddle.logical_and, np.logical_and, [bools(S), bools(S)]),
    OpSpec("logical_or", paddle.logical_or, np.logical_or, [bools(S), bools([4])]),
    OpSpec("logical_xor", paddle.logical_xor, np.logical_xor, [bools(S), bools(S)]),
    OpSpec("logical_not", paddle.logical_not, np.logical_not, [bools(S)]),
    OpSpec("op_invert_and_or", lambda a, b: (~a & b) | (a & ~b), np.logical_xor, [bools(S), bools(S)]),
    OpSpec("bitwise_and", paddle.bitwise_and, np.bitwise_and, [lambda rng: rng.integers(0, 16, S)] * 2),
    OpSpec("bitwise_not", paddle.bitwise_not, np.invert, [lambda rng: rng.integers(-8, 8, S)]),
    OpSpec("isnan", paddle.isnan, np.isnan, [lambda rng: np.array([0.0, np.nan, np.inf, -1.0])]),
    OpSpec("isinf", paddle.isinf, np.isinf, [lambda rng: np.array([0.0, np.nan, np.inf, -np.inf])]),
    OpSpec("isfinite", paddle.isfinite, np.isfinite, [lambda rng: np.array([0.0, np.nan, np.inf, -1.0])]),
    OpSpec("equal_all_true", paddle.equal_all, lambda x, y: np.asarray(True),
           [lambda rng: np.arange(4.0), lambda rng: np.arange(4.0)]),
    OpSpec("equal_all_false", paddle.equal_all, lambda x, y: np.asarray(False), [grid(S), grid(S)]),
    OpSpec("allclose", lambda x, y: paddle.allclose(x, y, rtol=1e-3), lambda x, y: np.asarray(True),
           [lambda rng: np.array([1.0, 2.0]), lambda rng: np.array([1.0005, 2.001])]),
    OpSpec("allclose_false", paddle.allclose, lambda x, y: np.asarray(False),
           [lambda rng: np.array([1.0, 2.0]), lambda rng: np.array([1.0005, 2.001])]),
    OpSpec("isclose_nan", lambda x, y: paddle.isclose(x, y, equal_nan=True), lambda x, y: np.array([True, True]),
           [lambda rng: np.array([np.nan, 1.0]), lambda rng: np.array([np.nan, 1.0])]),
    OpSpec("any_all_methods", lambda x: paddle.logical_and(paddle.any(x), paddle.all(x)),
           lambda x: np.asarray(x.any() and x.all()), [bools(S)]),
]


test_forward, _, test_static = spec_tests(SPECS)   # comparisons have no gradient


def test_results_are_bool_and_stop_gradient():
    x = paddle.to_tensor([1.0, 2.0], stop_gradient=False)
    y = x > 1.0
    assert y.dtype == paddle.bool and y.stop_gradient


def test_compare_attrs_as_paddle_writes_them():
    from sampan.ops.registry import get_op
    for t in ("equal", "not_equal", "greater_than", "greater_equal", "less_than", "less_equal"):
        assert set(get_op(t).attrs) == {"axis", "force_cpu"}
        assert get_op(t).defaults == {"axis": -1, "force_cpu": False}
