"""Reductions, arg_max/arg_min, top_k_v2, argsort and the stat functions."""
import numpy as np
import pytest

import sampan as paddle
from sampan.core.dispatch import run_op, OpError
from tests.ops.harness import OpSpec, spec_tests


def _op(type_name, out_slot="Out", **fixed):
    def fn(x, **attrs):
        return run_op(type_name, {"X": x}, {**fixed, **attrs})[out_slot]
    fn.__name__ = type_name
    return fn


def distinct(shape):
    """A permutation of well separated values (no ties: max/min/top-k are differentiable)."""
    def f(rng):
        n = int(np.prod(shape))
        return (rng.permutation(n) * 0.1 - n * 0.05).reshape(shape)
    return f


def pos(shape):
    return lambda rng: rng.uniform(0.5, 1.5, size=shape)


S = [3, 4, 5]

SPECS = [
    OpSpec("sum_all", paddle.sum, lambda x: np.asarray(x.sum()), [S]),
    OpSpec("sum_axis", lambda x: paddle.sum(x, axis=1), lambda x: x.sum(1), [S]),
    OpSpec("sum_axes_keepdim", lambda x: paddle.sum(x, axis=[0, 2], keepdim=True),
           lambda x: x.sum((0, 2), keepdims=True), [S]),
    OpSpec("sum_neg_axis", lambda x: paddle.sum(x, axis=-1), lambda x: x.sum(-1), [S]),
    OpSpec("sum_dtype", lambda x: paddle.sum(x, dtype="float64"), lambda x: np.asarray(x.sum()), [S]),
    OpSpec("sum_int32_gives_int64", lambda x: paddle.sum(x, axis=0),
           lambda x: x.sum(0).astype(np.int64), [lambda rng: rng.integers(0, 9, [3, 4]).astype(np.int32)],
           nondiff=True),
    OpSpec("sum_bool", lambda x: paddle.sum(x), lambda x: np.asarray(x.sum(), np.int64),
           [lambda rng: rng.integers(0, 2, [6]).astype(bool)], nondiff=True),
    OpSpec("reduce_sum_reduce_all_attr", _op("reduce_sum", dim=[1], reduce_all=True),
           lambda x: np.asarray(x.sum()), [S]),
    OpSpec("reduce_sum_out_dtype", _op("reduce_sum", dim=[0], out_dtype=6), lambda x: x.sum(0), [S]),
    OpSpec("mean_all", paddle.mean, lambda x: np.asarray(x.mean()), [S]),
    OpSpec("mean_axis", lambda x: paddle.mean(x, axis=[1, 2]), lambda x: x.mean((1, 2)), [S]),
    OpSpec("mean_keepdim", lambda x: paddle.mean(x, axis=1, keepdim=True), lambda x: x.mean(1, keepdims=True), [S]),
    OpSpec("mean_op", _op("mean"), lambda x: np.asarray(x.mean()), [S]),
    OpSpec("max_all", paddle.max, lambda x: np.asarray(x.max()), [distinct(S)]),
    OpSpec("max_axis", lambda x: paddle.max(x, axis=1), lambda x: x.max(1), [distinct(S)]),
    OpSpec("min_axis_keepdim", lambda x: paddle.min(x, axis=-1, keepdim=True),
           lambda x: x.min(-1, keepdims=True), [distinct(S)]),
    OpSpec("amax", lambda x: paddle.amax(x, axis=0), lambda x: x.max(0), [distinct(S)]),
    OpSpec("prod_axis", lambda x: paddle.prod(x, axis=1), lambda x: x.prod(1), [pos(S)]),
    OpSpec("prod_all", paddle.prod, lambda x: np.asarray(x.prod()), [pos([2, 3])]),
    OpSpec("prod_with_zero", lambda x: paddle.prod(x, axis=0), lambda x: x.prod(0),
           [lambda rng: np.array([[0.0, 2.0], [3.0, 0.0], [0.5, 1.5]])]),
    OpSpec("all", lambda x: paddle.all(x, axis=1), lambda x: x.all(1),
           [lambda rng: rng.integers(0, 2, [3, 4]).astype(bool)], nondiff=True),
    OpSpec("any", paddle.any, lambda x: np.asarray(x.any()), [lambda rng: np.zeros([3], bool)], nondiff=True),
    OpSpec("argmax", lambda x: paddle.argmax(x, axis=1), lambda x: x.argmax(1), [distinct(S)], nondiff=True),
    OpSpec("argmax_flat", paddle.argmax, lambda x: np.asarray(x.argmax()), [distinct(S)], nondiff=True),
    OpSpec("argmin_keepdim", lambda x: paddle.argmin(x, axis=-1, keepdim=True),
           lambda x: x.argmin(-1)[..., None], [distinct(S)], nondiff=True),
    OpSpec("argmax_int32", lambda x: paddle.argmax(x, axis=0, dtype="int32"),
           lambda x: x.argmax(0).astype(np.int32), [distinct(S)], nondiff=True),
    OpSpec("topk_values", lambda x: paddle.topk(x, 2)[0], lambda x: -np.sort(-x, -1)[..., :2], [distinct(S)]),
    OpSpec("topk_indices", lambda x: paddle.topk(x, 3, axis=1)[1],
           lambda x: np.argsort(-x, 1, kind="stable")[:, :3], [distinct(S)], nondiff=True),
    OpSpec("topk_smallest", lambda x: paddle.topk(x, 2, axis=0, largest=False)[0],
           lambda x: np.sort(x, 0)[:2], [distinct(S)]),
    OpSpec("topk_all", lambda x: paddle.topk(x, 5)[0], lambda x: -np.sort(-x, -1), [distinct(S)]),
    OpSpec("sort", lambda x: paddle.sort(x, axis=1), lambda x: np.sort(x, 1), [distinct(S)]),
    OpSpec("sort_descending", lambda x: paddle.sort(x, descending=True), lambda x: -np.sort(-x, -1), [distinct(S)]),
    OpSpec("argsort", lambda x: paddle.argsort(x, axis=0), lambda x: np.argsort(x, 0), [distinct(S)],
           nondiff=True),
    OpSpec("argsort_desc_stable_ties", lambda x: paddle.argsort(x, descending=True),
           lambda x: np.array([1, 3, 0, 2]), [lambda rng: np.array([1.0, 2.0, 0.5, 2.0])], nondiff=True),
    OpSpec("var", paddle.var, lambda x: np.asarray(x.var(ddof=1)), [S]),
    OpSpec("var_axis_biased", lambda x: paddle.var(x, axis=1, unbiased=False), lambda x: x.var(1), [S]),
    OpSpec("std_axis_keepdim", lambda x: paddle.std(x, axis=[0, 2], keepdim=True),
           lambda x: x.std((0, 2), ddof=1, keepdims=True), [S]),
    OpSpec("median_odd", lambda x: paddle.median(x, axis=1), lambda x: np.median(x, 1), [distinct([3, 5])]),
    OpSpec("median_even_all", paddle.median, lambda x: np.asarray(np.median(x)), [distinct([2, 3])]),
    OpSpec("numel", paddle.numel, lambda x: np.asarray(x.size, np.int64), [S], nondiff=True),
    OpSpec("norm_fro", paddle.norm, lambda x: np.asarray(np.sqrt((x * x).sum())), [S]),
    OpSpec("norm_p1_axis", lambda x: paddle.norm(x, p=1, axis=1), lambda x: np.abs(x).sum(1),
           [lambda rng: rng.uniform(0.2, 1, S) * rng.choice([-1, 1], S)]),
    OpSpec("norm_fro_2axes", lambda x: paddle.norm(x, axis=[0, 1]), lambda x: np.sqrt((x * x).sum((0, 1))), [S]),
]


test_forward, test_backward, test_static = spec_tests(SPECS)


def test_full_reduction_is_0d():
    x = paddle.ones([2, 3])
    for y in (x.sum(), x.mean(), x.max(), paddle.mean(x), run_op("mean", {"X": x})["Out"]):
        assert y.shape == []


def test_reduce_max_gradient_goes_to_every_tie_like_paddle():
    x = paddle.to_tensor([1.0, 3.0, 3.0], stop_gradient=False)
    paddle.max(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 1.0])


def test_reduce_attrs_as_paddle_writes_them():
    paddle.enable_static()
    try:
        main = paddle.static.Program()
        with paddle.static.program_guard(main, paddle.static.Program()):
            x = paddle.static.data("x", [None, 4], "float32")
            paddle.mean(x)
            paddle.sum(x, axis=1)
        a0, a1 = (o.attrs for o in main.global_block().ops)
        assert a0["dim"] == [] and a0["reduce_all"] is True and a0["keep_dim"] is False
        assert a1["dim"] == [1] and a1["reduce_all"] is False
        assert a1["in_dtype"] == -1 and a1["out_dtype"] == -1
    finally:
        paddle.disable_static()


def test_topk_bad_k_message():
    with pytest.raises(OpError, match=r"top_k_v2: k=7"):
        paddle.topk(paddle.ones([2, 3]), 7)


def test_reduce_bad_axis_message():
    with pytest.raises(OpError, match=r"out of range"):
        paddle.sum(paddle.ones([2, 3]), axis=[0, 5])
