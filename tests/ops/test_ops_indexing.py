"""slice / strided_slice / gather / gather_nd / scatter / index_select / where / masked_select /
take_along_axis / one_hot_v2 / set_value, and Tensor indexing lowered onto them."""
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


def idx(values):
    return lambda rng: np.asarray(values, np.int64)


def mask(shape, p=0.5):
    def f(rng):
        m = rng.uniform(size=shape) < p
        m.reshape(-1)[0] = True
        return m
    return f


S = [4, 5, 6]
BIG = 2**31 - 1

SPECS = [
    # ------------------------------------------------------------- the ops themselves
    OpSpec("slice", lambda x: paddle.slice(x, [0, 2], [1, -4], [3, BIG]), lambda x: x[1:3, :, -4:], [S]),
    OpSpec("slice_clamped", lambda x: paddle.slice(x, [1], [-100], [100]), lambda x: x, [S]),
    OpSpec("slice_empty", lambda x: paddle.slice(x, [1], [3], [2]), lambda x: x[:, 3:2], [S]),
    OpSpec("slice_decrease", _op("slice", ["Input"], axes=[0, 1], starts=[1, 2], ends=[2, 3], infer_flags=[1, 1],
                                 decrease_axis=[0, 1]), lambda x: x[1, 2], [S]),
    OpSpec("slice_decrease_all_0d", _op("slice", ["Input"], axes=[0], starts=[2], ends=[3], infer_flags=[1],
                                        decrease_axis=[0]), lambda x: np.asarray(x[2]), [[5]]),
    OpSpec("slice_starts_tensor", lambda x, s: paddle.slice(x, [1], s, [4]), lambda x, s: x[:, 1:4],
           [S, idx([1])], static=False),
    OpSpec("strided_slice", lambda x: paddle.strided_slice(x, [0, 2], [0, 5], [4, 0], [2, -2]),
           lambda x: x[0:4:2, :, 5:0:-2], [S]),
    OpSpec("strided_slice_reverse_all", _op("strided_slice", ["Input"], axes=[1], starts=[BIG], ends=[-1],
                                            strides=[-1], infer_flags=[1], decrease_axis=[]),
           lambda x: x[:, ::-1], [S]),
    OpSpec("strided_slice_neg_bounds", lambda x: paddle.strided_slice(x, [2], [-1], [-7], [-2]),
           lambda x: x[:, :, -1:-7:-2], [S]),
    OpSpec("gather", lambda x, i: paddle.gather(x, i), lambda x, i: x[i], [S, idx([3, 0, 3])]),
    OpSpec("gather_axis", lambda x, i: paddle.gather(x, i, axis=2), lambda x, i: x[:, :, i], [S, idx([5, 1])]),
    OpSpec("gather_negative_index", lambda x, i: paddle.gather(x, i, axis=1), lambda x, i: x[:, i],
           [S, idx([-1, 0])]),
    OpSpec("gather_nd", paddle.gather_nd, lambda x, i: x[i[..., 0], i[..., 1]], [S, idx([[1, 2], [3, 0], [1, 2]])]),
    OpSpec("gather_nd_full", paddle.gather_nd, lambda x, i: x[i[:, 0], i[:, 1], i[:, 2]],
           [S, idx([[1, 2, 3], [0, 0, 5]])]),
    OpSpec("index_select", lambda x, i: paddle.index_select(x, i, axis=1), lambda x, i: x[:, i],
           [S, idx([4, 4, 0])]),
    OpSpec("scatter_overwrite", paddle.scatter, lambda x, i, u: _scatter_ref(x, i, u, True),
           [[5, 3], idx([3, 1]), [2, 3]]),
    OpSpec("scatter_add", lambda x, i, u: paddle.scatter(x, i, u, overwrite=False),
           lambda x, i, u: _scatter_ref(x, i, u, False), [[5, 3], idx([3, 1, 3]), [3, 3]]),
    OpSpec("where", lambda c, x, y: paddle.where(c, x, y), lambda c, x, y: np.where(c, x, y),
           [mask([3, 4]), [3, 4], [3, 4]]),
    OpSpec("where_broadcast", lambda c, x, y: paddle.where(c, x, y), lambda c, x, y: np.where(c, x, y),
           [mask([3, 4]), [4], [3, 1]]),
    OpSpec("where_scalar", lambda c, x: paddle.where(c, x, 0.0), lambda c, x: np.where(c, x, 0.0),
           [mask([3, 4]), [3, 4]]),
    OpSpec("masked_select", paddle.masked_select, lambda x, m: x[m], [[3, 4], mask([3, 4])], static=False),
    OpSpec("nonzero", paddle.nonzero, lambda m: np.argwhere(m), [mask([3, 4])], nondiff=True, static=False),
    OpSpec("take_along_axis", lambda x, i: paddle.take_along_axis(x, i, 1),
           lambda x, i: np.take_along_axis(x, i, 1), [[3, 4], idx([[0, 3], [1, 1], [2, 0]])]),
    OpSpec("one_hot", _op("one_hot_v2", ["X"], depth=4, dtype=5), lambda x: np.eye(4)[x], [idx([[0, 3], [2, 1]])],
           nondiff=True),
    # ------------------------------------------------------------- Tensor.__getitem__
    OpSpec("getitem_int", lambda x: x[1], lambda x: x[1], [S]),
    OpSpec("getitem_neg_int", lambda x: x[-1], lambda x: x[-1], [S]),
    OpSpec("getitem_ints_all_0d", lambda x: x[1, 2, 3], lambda x: np.asarray(x[1, 2, 3]), [S]),
    OpSpec("getitem_slices", lambda x: x[1:3, :, ::2], lambda x: x[1:3, :, ::2], [S]),
    OpSpec("getitem_negative_step", lambda x: x[::-1, 1], lambda x: x[::-1, 1], [S]),
    OpSpec("getitem_negative_step_bounds", lambda x: x[3:0:-2], lambda x: x[3:0:-2], [S]),
    OpSpec("getitem_mixed", lambda x: x[-2:, 0, 1:-1], lambda x: x[-2:, 0, 1:-1], [S]),
    OpSpec("getitem_ellipsis", lambda x: x[..., 2], lambda x: x[..., 2], [S]),
    OpSpec("getitem_ellipsis_mid", lambda x: x[1, ..., 2], lambda x: x[1, ..., 2], [S]),
    OpSpec("getitem_none", lambda x: x[None, 1, :, None], lambda x: x[None, 1, :, None], [S]),
    OpSpec("getitem_full", lambda x: x[:], lambda x: x, [S]),
    OpSpec("getitem_list", lambda x: x[[0, 2, 2]], lambda x: x[[0, 2, 2]], [S]),
    OpSpec("getitem_int_tensor", lambda x, i: x[i], lambda x, i: x[i], [S, idx([3, 1])]),
    OpSpec("getitem_int_tensor_axis1", lambda x, i: x[:, i], lambda x, i: x[:, i], [S, idx([4, 0, 4])]),
    OpSpec("getitem_int_tensor_2d", lambda x, i: x[i], lambda x, i: x[i], [S, idx([[0, 1], [3, 3]])]),
    OpSpec("getitem_int_tensor_0d", lambda x, i: x[i], lambda x, i: x[i], [S, idx(2)]),
    OpSpec("getitem_two_int_tensors", lambda x, i, j: x[i, j], lambda x, i, j: x[i, j],
           [S, idx([0, 3]), idx([4, 1])]),
    OpSpec("getitem_two_int_tensors_after_slice", lambda x, i, j: x[:, i, j], lambda x, i, j: x[:, i, j],
           [S, idx([0, 3]), idx([5, 1])]),
    OpSpec("getitem_bool_mask", lambda x, m: x[m], lambda x, m: x[m], [S, mask(S)], static=False),
    OpSpec("getitem_bool_mask_leading", lambda x, m: x[m], lambda x, m: x[m], [S, mask([4, 5])], static=False),
    OpSpec("getitem_bool_mask_axis1", lambda x, m: x[:, m], lambda x, m: x[:, m], [S, mask([5])], static=False),
    OpSpec("getitem_compare_mask", lambda x: x[x > 0], lambda x: x[x > 0], [[3, 4]], static=False),
    OpSpec("getitem_numpy_index", lambda x: x[np.array([1, 0])], lambda x: x[[1, 0]], [S]),
    # ------------------------------------------------------------- set_value / __setitem__ (eager)
    OpSpec("setitem_slice_tensor", lambda x, v: _setitem(x, (slice(1, 3), 0), v),
           lambda x, v: _setitem_ref(x, (slice(1, 3), 0), v), [S, [2, 6]], static=False),
    OpSpec("setitem_scalar_strided", lambda x: _setitem(x, (slice(None), slice(None, None, 2)), 0.5),
           lambda x: _setitem_ref(x, (slice(None), slice(None, None, 2)), 0.5), [S], static=False),
    OpSpec("setitem_broadcast_value", lambda x, v: _setitem(x, (Ellipsis, 1), v),
           lambda x, v: _setitem_ref(x, (Ellipsis, 1), v), [S, [5]], static=False),
    OpSpec("setitem_bool_mask", lambda x, m: _setitem(x, m, 0.0), lambda x, m: _setitem_ref(x, m, 0.0),
           [S, mask(S)], static=False),
    OpSpec("setitem_int_tensor_rows", lambda x, i, v: _setitem(x, i, v), lambda x, i, v: _setitem_ref(x, i, v),
           [[5, 3], idx([4, 0]), [2, 3]], static=False),
]


def _scatter_ref(x, i, u, overwrite):
    out = x.copy()
    if overwrite:
        for k, r in enumerate(i):
            out[r] = u[k]
    else:
        out[i] = 0
        for k, r in enumerate(i):
            out[r] += u[k]
    return out


def _setitem(x, index, v):
    y = x * 1.0  # a non-leaf copy: in-place on a leaf that needs grad is refused, as Paddle
    y[index] = v
    return y


def _setitem_ref(x, index, v):
    y = x.copy()
    y[index] = v
    return y


test_forward, test_backward, test_static = spec_tests(SPECS)


def test_getitem_lowers_to_paddle_slice_ops():
    paddle.enable_static()
    try:
        main = paddle.static.Program()
        with paddle.static.program_guard(main, paddle.static.Program()):
            x = paddle.static.data("x", [None, 4, 5], "float32")
            a = x[:, 1]
            b = x[:, ::2]
            c = x[0, None]
        ops = main.global_block().ops
        assert [o.type for o in ops] == ["slice", "strided_slice", "slice", "unsqueeze2"]
        assert ops[0].attrs["axes"] == [1] and ops[0].attrs["decrease_axis"] == [1]
        assert ops[0].attrs["starts"] == [1] and ops[0].attrs["ends"] == [2] and ops[0].attrs["infer_flags"] == [1]
        assert ops[1].attrs["strides"] == [2] and ops[1].attrs["ends"] == [2**31 - 1]
        assert a.shape == [-1, 5] and b.shape == [-1, 2, 5] and c.shape == [1, 4, 5]
    finally:
        paddle.disable_static()


def test_iterating_a_tensor_stops_with_index_error():
    x = paddle.to_tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    rows = [r.numpy().tolist() for r in x]
    assert rows == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    a, b = paddle.to_tensor([7, 8])
    assert int(a) == 7 and int(b) == 8


def test_getitem_gradient_accumulates_over_repeated_indices():
    x = paddle.to_tensor([1.0, 2.0, 3.0], stop_gradient=False)
    (x[[0, 0, 2]] * paddle.to_tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 3.0])


def test_setitem_on_leaf_requiring_grad_is_refused():
    x = paddle.to_tensor([1.0, 2.0], stop_gradient=False)
    with pytest.raises(RuntimeError, match="inplace"):
        x[0] = 3.0


def test_setitem_plain_tensor_changes_values_in_place():
    x = paddle.zeros([2, 3])
    ref = x
    x[1, 1:] = paddle.to_tensor([4.0, 5.0])
    x[0] = 1
    assert ref is x
    np.testing.assert_array_equal(x.numpy(), [[1, 1, 1], [0, 4, 5]])
    assert x.dtype == paddle.float32


def test_setitem_makes_value_gradient_flow():
    v = paddle.to_tensor([2.0, 3.0], stop_gradient=False)
    x = paddle.zeros([3, 2])
    x[1] = v
    assert not x.stop_gradient
    (x * x).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [4.0, 6.0])


@pytest.mark.parametrize("call, exc, match", [
    (lambda x: x[5], IndexError, r"out of bounds for axis 0 with size 4"),
    (lambda x: x[0, 0, 0, 0], IndexError, r"too many indices"),
    (lambda x: x[..., ...], IndexError, r"single Ellipsis"),
    (lambda x: x[1.5], IndexError, r"valid indices"),
    (lambda x: paddle.gather(x, paddle.to_tensor([7])), OpError, r"gather: Index values must be in \[-4, 4\)"),
    (lambda x: paddle.gather(x, paddle.to_tensor([0.5])), OpError, r"Index must be an integer tensor"),
])
def test_bad_indices(call, exc, match):
    x = paddle.ones([4, 5, 6])
    with pytest.raises(exc, match=match):
        call(x)
