"""Shape ops: reshape2, transpose2, flatten, squeeze2/unsqueeze2, concat, split, stack/unstack, expand,
tile, shape, flip, roll, pad."""
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


S = [2, 3, 4]

SPECS = [
    OpSpec("reshape", lambda x: paddle.reshape(x, [4, 6]), lambda x: x.reshape(4, 6), [S]),
    OpSpec("reshape_zero_and_infer", lambda x: paddle.reshape(x, [0, -1]), lambda x: x.reshape(2, 12), [S]),
    OpSpec("reshape_zero_middle", lambda x: paddle.reshape(x, [-1, 0, 2]), lambda x: x.reshape(4, 3, 2), [S]),
    OpSpec("reshape_shape_tensor", lambda x, s: paddle.reshape(x, s), lambda x, s: x.reshape(6, 4),
           [S, lambda rng: np.array([6, 4], np.int32)], static=False),
    OpSpec("reshape_shape_list_with_tensor", lambda x, d: paddle.reshape(x, [d, -1]),
           lambda x, d: x.reshape(3, 8), [S, lambda rng: np.array([3], np.int64)], static=False),
    OpSpec("reshape_method", lambda x: x.reshape([3, 8]), lambda x: x.reshape(3, 8), [S]),
    OpSpec("transpose", lambda x: paddle.transpose(x, [2, 0, 1]), lambda x: x.transpose(2, 0, 1), [S]),
    OpSpec("transpose_neg", lambda x: paddle.transpose(x, [0, -1, 1]), lambda x: x.transpose(0, 2, 1), [S]),
    OpSpec("T", lambda x: x.T, lambda x: x.T, [S], static=False),
    OpSpec("t", paddle.t, lambda x: x.T, [[3, 4]]),
    OpSpec("moveaxis", lambda x: paddle.moveaxis(x, 0, -1), lambda x: np.moveaxis(x, 0, -1), [S]),
    OpSpec("flatten", paddle.flatten, lambda x: x.reshape(-1), [S]),
    OpSpec("flatten_range", lambda x: paddle.flatten(x, 1, 2), lambda x: x.reshape(2, 12, 1), [[2, 3, 4, 1]]),
    OpSpec("flatten_neg", lambda x: paddle.flatten(x, -2), lambda x: x.reshape(2, 12), [S]),
    OpSpec("squeeze_all", paddle.squeeze, lambda x: x.reshape(3, 4), [[1, 3, 1, 4]]),
    OpSpec("squeeze_axis", lambda x: paddle.squeeze(x, 2), lambda x: x.reshape(1, 3, 4), [[1, 3, 1, 4]]),
    OpSpec("squeeze_non1_ignored", lambda x: paddle.squeeze(x, [0, 1]), lambda x: x.reshape(3, 1, 4),
           [[1, 3, 1, 4]]),
    OpSpec("unsqueeze", lambda x: paddle.unsqueeze(x, 1), lambda x: x[:, None], [S]),
    OpSpec("unsqueeze_multi", lambda x: paddle.unsqueeze(x, [0, 2]), lambda x: x[None, :, None], [[3, 4]]),
    OpSpec("unsqueeze_neg", lambda x: paddle.unsqueeze(x, -1), lambda x: x[..., None], [[3, 4]]),
    OpSpec("unsqueeze_seq_neg", lambda x: paddle.unsqueeze(x, [-1, -1]), lambda x: x[..., None, None], [[3]]),
    OpSpec("unsqueeze_0d", lambda x: paddle.unsqueeze(x, 0), lambda x: x.reshape(1), [lambda rng: np.array(0.5)]),
    OpSpec("concat", lambda a, b: paddle.concat([a, b], axis=1), lambda a, b: np.concatenate([a, b], 1),
           [[2, 3, 4], [2, 2, 4]]),
    OpSpec("concat_neg_axis", lambda a, b, c: paddle.concat([a, b, c], axis=-1),
           lambda a, b, c: np.concatenate([a, b, c], -1), [[2, 1], [2, 3], [2, 2]]),
    OpSpec("split_num", lambda x: paddle.split(x, 2, axis=2), lambda x: x[:, :, :2], [S], pick=0),
    OpSpec("split_num_second", lambda x: paddle.split(x, 2, axis=2), lambda x: x[:, :, 2:], [S], pick=1),
    OpSpec("split_sections_infer", lambda x: paddle.split(x, [1, -1], axis=1), lambda x: x[:, 1:], [S], pick=1),
    OpSpec("chunk", lambda x: paddle.chunk(x, 3, axis=1), lambda x: x[:, 2:3], [S], pick=2),
    OpSpec("stack", lambda a, b: paddle.stack([a, b], axis=1), lambda a, b: np.stack([a, b], 1), [[3, 4], [3, 4]]),
    OpSpec("stack_neg", lambda a, b: paddle.stack([a, b], axis=-1), lambda a, b: np.stack([a, b], -1),
           [[3], [3]]),
    OpSpec("unstack", lambda x: paddle.unstack(x, axis=1), lambda x: x[:, 2], [S], pick=2),
    OpSpec("unbind", lambda x: paddle.unbind(x, 0), lambda x: x[1], [S], pick=1),
    OpSpec("expand", lambda x: paddle.expand(x, [2, 3, 4]), lambda x: np.broadcast_to(x, [2, 3, 4]), [[3, 1]]),
    OpSpec("expand_keep", lambda x: paddle.expand(x, [4, -1, 5]), lambda x: np.broadcast_to(x, [4, 3, 5]),
           [[3, 1]]),
    OpSpec("broadcast_to", lambda x: paddle.broadcast_to(x, [2, 4]), lambda x: np.broadcast_to(x, [2, 4]), [[4]]),
    OpSpec("expand_as", lambda x, y: paddle.expand_as(x, y), lambda x, y: np.broadcast_to(x, y.shape),
           [[1, 4], [3, 4]], grad=(0,)),
    OpSpec("tile", lambda x: paddle.tile(x, [2, 1, 3]), lambda x: np.tile(x, [2, 1, 3]), [[3, 2]]),
    OpSpec("tile_fewer_reps", lambda x: paddle.tile(x, [2]), lambda x: np.tile(x, [2]), [[3, 2]]),
    OpSpec("shape", paddle.shape, lambda x: np.array(x.shape, np.int32), [S], nondiff=True),
    OpSpec("flip", lambda x: paddle.flip(x, [0, 2]), lambda x: x[::-1, :, ::-1], [S]),
    OpSpec("roll", lambda x: paddle.roll(x, [1, -2], [0, 2]), lambda x: np.roll(x, [1, -2], [0, 2]), [S]),
    OpSpec("roll_flat", lambda x: paddle.roll(x, 5), lambda x: np.roll(x.reshape(-1), 5).reshape(x.shape), [S]),
    OpSpec("rot90", lambda x: paddle.rot90(x), lambda x: np.rot90(x), [[3, 4]]),
    OpSpec("pad_op", _op("pad", ["X"], paddings=[1, 0, 0, 2], pad_value=0.5),
           lambda x: np.pad(x, [(1, 0), (0, 2)], constant_values=0.5), [[3, 4]]),
    OpSpec("repeat_interleave", lambda x: paddle.repeat_interleave(x, 2, axis=0), lambda x: np.repeat(x, 2, 0),
           [[3, 2]]),
    OpSpec("broadcast_tensors", lambda a, b: paddle.broadcast_tensors([a, b])[0],
           lambda a, b: np.broadcast_to(a, [3, 4]), [[3, 1], [1, 4]], grad=(0,)),
    OpSpec("meshgrid", lambda a, b: paddle.meshgrid(a, b)[1], lambda a, b: np.meshgrid(a, b, indexing="ij")[1],
           [[3], [4]], grad=(1,)),
]


test_forward, test_backward, test_static = spec_tests(SPECS)


def test_xshape_is_paddle_layout():
    x = paddle.ones([2, 3])
    r = run_op("reshape2", {"X": x}, {"shape": [3, 2]})
    assert r["XShape"].shape == [0, 2, 3]
    for t in ("transpose2", "squeeze2", "unsqueeze2", "flatten_contiguous_range"):
        from sampan.ops.registry import get_op
        assert "XShape" in get_op(t).output_names


def test_static_shapes_with_unknown_batch():
    paddle.enable_static()
    try:
        with paddle.static.program_guard(paddle.static.Program(), paddle.static.Program()):
            x = paddle.static.data("x", [None, 3, 4], "float32")
            assert paddle.reshape(x, [0, -1]).shape == [-1, 12]
            assert paddle.reshape(x, [-1, 4]).shape == [-1, 4]
            assert paddle.flatten(x, 1).shape == [-1, 12]
            assert paddle.unsqueeze(x, [0, 3]).shape == [1, -1, 3, 1, 4]
            assert paddle.transpose(x, [1, 0, 2]).shape == [3, -1, 4]
            assert [t.shape for t in paddle.split(x, [1, 2], axis=1)] == [[-1, 1, 4], [-1, 2, 4]]
            assert [t.shape for t in paddle.split(x, 2, axis=2)] == [[-1, 3, 2], [-1, 3, 2]]
            assert len(paddle.unstack(x, axis=1)) == 3
            assert paddle.expand(paddle.static.data("y", [1, 4], "float32"), [5, 4]).shape == [5, 4]
            assert paddle.concat([x, x], axis=0).shape == [-1, 3, 4]
            assert paddle.shape(x).shape == [3]
            assert paddle.shape(x).dtype == paddle.int32
    finally:
        paddle.disable_static()


def test_shape_of_unknown_dims_at_run_time():
    paddle.enable_static()
    try:
        main = paddle.static.Program()
        with paddle.static.program_guard(main, paddle.static.Program()):
            x = paddle.static.data("x", [None, 3], "float32")
            s = paddle.shape(x)
            y = paddle.reshape(x, s[::-1])
        exe = paddle.static.Executor(paddle.CPUPlace())
        got_s, got_y = exe.run(main, feed={"x": np.ones([2, 3], np.float32)}, fetch_list=[s, y])
        np.testing.assert_array_equal(got_s, [2, 3])
        assert got_y.shape == (3, 2)
    finally:
        paddle.disable_static()


@pytest.mark.parametrize("call, match", [
    (lambda: paddle.reshape(paddle.ones([2, 3]), [4, 2]), r"reshape2: cannot reshape X of shape \[2, 3\]"),
    (lambda: paddle.reshape(paddle.ones([2, 3]), [-1, -1]), r"only one dimension may be -1"),
    (lambda: paddle.concat([paddle.ones([2, 3]), paddle.ones([3, 3])], axis=1), r"concat: X\[1\] of shape \[3, 3\]"),
    (lambda: paddle.split(paddle.ones([2, 5]), 2, axis=1), r"not divisible by num=2"),
    (lambda: paddle.split(paddle.ones([2, 5]), [2, 2], axis=1), r"do not add up"),
    (lambda: paddle.stack([paddle.ones([2]), paddle.ones([3])]), r"stack: X\[1\] has shape \[3\]"),
    (lambda: paddle.expand(paddle.ones([2, 3]), [4, 3]), r"cannot be expanded to \[4, 3\]"),
    (lambda: paddle.transpose(paddle.ones([2, 3]), [0, 0]), r"not a permutation"),
])
def test_bad_input_messages(call, match):
    with pytest.raises(OpError, match=match):
        call()
