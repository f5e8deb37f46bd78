"""Creation ops: fill_constant, fill_any_like, assign_value, range, linspace, eye, empty, tril_triu, and the
random ops (uniform_random, gaussian_random, randint, randperm, bernoulli) checked statistically."""
import numpy as np

import sampan as paddle
from sampan.core.dispatch import run_op
from tests.ops.harness import OpSpec, spec_tests


def _c(fn):
    """A spec function with a dummy float input (the harness feeds one); the creation ignores it."""
    return lambda x: fn()


DUMMY = [[1]]

SPECS = [
    OpSpec("zeros", _c(lambda: paddle.zeros([2, 3])), lambda x: np.zeros([2, 3]), DUMMY, nondiff=True),
    OpSpec("ones_int", _c(lambda: paddle.ones([3], "int32")), lambda x: np.ones([3], np.int32), DUMMY,
           nondiff=True),
    OpSpec("full", _c(lambda: paddle.full([2, 2], 1.5)), lambda x: np.full([2, 2], 1.5), DUMMY, nondiff=True),
    OpSpec("full_int64_exact", _c(lambda: paddle.full([2], 2**53 + 1, "int64")),
           lambda x: np.full([2], 2**53 + 1, np.int64), DUMMY, nondiff=True),
    OpSpec("full_bool", _c(lambda: paddle.full([2], True, "bool")), lambda x: np.ones([2], bool), DUMMY,
           nondiff=True),
    OpSpec("full_0d", _c(lambda: paddle.full([], -3.0)), lambda x: np.asarray(-3.0), DUMMY, nondiff=True),
    OpSpec("full_value_tensor", lambda v: paddle.full([3], v), lambda v: np.full([3], v[0]), [[1]], nondiff=True),
    OpSpec("zeros_like", paddle.zeros_like, np.zeros_like, [[2, 3]], nondiff=True),
    OpSpec("ones_like_dtype", lambda x: paddle.ones_like(x, "int64"), lambda x: np.ones(x.shape, np.int64),
           [[2, 3]], nondiff=True),
    OpSpec("full_like", lambda x: paddle.full_like(x, 7.0), lambda x: np.full_like(x, 7.0), [[2, 3]], nondiff=True),
    OpSpec("empty", _c(lambda: paddle.empty([2, 3])), lambda x: np.zeros([2, 3]), DUMMY, nondiff=True),
    OpSpec("arange", _c(lambda: paddle.arange(5)), lambda x: np.arange(5), DUMMY, nondiff=True),
    OpSpec("arange_float", _c(lambda: paddle.arange(0.0, 1.0, 0.25)), lambda x: np.arange(0, 1, 0.25), DUMMY,
           nondiff=True),
    OpSpec("arange_neg_step", _c(lambda: paddle.arange(5, 0, -2)), lambda x: np.arange(5, 0, -2), DUMMY,
           nondiff=True),
    OpSpec("linspace", _c(lambda: paddle.linspace(-1, 1, 5)), lambda x: np.linspace(-1, 1, 5), DUMMY, nondiff=True),
    OpSpec("linspace_float64", _c(lambda: paddle.linspace(0, 1, 7, "float64")), lambda x: np.linspace(0, 1, 7),
           DUMMY, nondiff=True),
    OpSpec("eye", _c(lambda: paddle.eye(3)), lambda x: np.eye(3), DUMMY, nondiff=True),
    OpSpec("eye_rect", _c(lambda: paddle.eye(2, 4, "int32")), lambda x: np.eye(2, 4, dtype=np.int32), DUMMY,
           nondiff=True),
    OpSpec("assign_value_f32", _c(lambda: paddle.assign(np.array([[1.5, 2.0]], np.float32))),
           lambda x: np.array([[1.5, 2.0]]), DUMMY, nondiff=True),
    OpSpec("assign_value_int", _c(lambda: paddle.assign(np.array([1, 2, 3]))), lambda x: np.array([1, 2, 3]), DUMMY,
           nondiff=True),
    OpSpec("assign_value_bool", _c(lambda: paddle.assign(np.array([True, False]))), lambda x: np.array([True, False]),
           DUMMY, nondiff=True),
    OpSpec("assign_value_list", _c(lambda: paddle.assign([0.5, 1.5])), lambda x: np.array([0.5, 1.5]), DUMMY,
           nondiff=True),
    OpSpec("tril", paddle.tril, np.tril, [[3, 4]]),
    OpSpec("triu_offset", lambda x: paddle.triu(x, 1), lambda x: np.triu(x, 1), [[2, 3, 4]]),
    OpSpec("diag_vector", paddle.diag, np.diag, [[3]]),
    OpSpec("diag_vector_offset", lambda x: paddle.diag(x, 1), lambda x: np.diag(x, 1), [[3]]),
    OpSpec("diag_vector_neg_offset", lambda x: paddle.diag(x, -2), lambda x: np.diag(x, -2), [[2]]),
    OpSpec("diag_matrix", paddle.diag, np.diag, [[3, 4]]),
    OpSpec("diag_matrix_neg", lambda x: paddle.diag(x, -1), lambda x: np.diag(x, -1), [[3, 4]]),
]


test_forward, test_backward, test_static = spec_tests(SPECS)


# ---------------------------------------------------------------------------- dtypes and attrs
def test_default_dtypes_follow_paddle():
    assert paddle.zeros([2]).dtype == paddle.float32
    assert paddle.full([2], 3).dtype == paddle.float32
    assert paddle.arange(3).dtype == paddle.int64
    assert paddle.arange(3.0).dtype == paddle.float32
    assert paddle.linspace(0, 1, 3).dtype == paddle.float32
    assert paddle.eye(2).dtype == paddle.float32
    assert paddle.rand([2]).dtype == paddle.float32
    assert paddle.randn([2]).dtype == paddle.float32
    assert paddle.randint(0, 5, [2]).dtype == paddle.int64
    assert paddle.randperm(4).dtype == paddle.int64
    paddle.set_default_dtype("float64")
    try:
        assert paddle.zeros([2]).dtype == paddle.float64
        assert paddle.rand([2]).dtype == paddle.float64
    finally:
        paddle.set_default_dtype("float32")


def test_fill_constant_attrs_as_paddle_writes_them():
    paddle.enable_static()
    try:
        main = paddle.static.Program()
        with paddle.static.program_guard(main, paddle.static.Program()):
            paddle.full([2, 3], 1.5)
            paddle.full([], 4, "int32")
        a, b = (o.attrs for o in main.global_block().ops)
        assert a["shape"] == [2, 3] and a["value"] == 1.5 and a["str_value"] == "1.5" and a["dtype"] == 5
        assert b["shape"] == [] and b["value"] == 4.0 and b["str_value"] == "4" and b["dtype"] == 2
        from sampan.ops.registry import get_op
        spec = get_op("fill_constant").attrs
        assert spec["shape"].type == "longs" and spec["value"].type == "float" and spec["dtype"].type == "int"
        assert {"force_cpu", "place_type", "str_value"} <= set(spec)
    finally:
        paddle.disable_static()


def test_shape_tensor_inputs():
    s = paddle.to_tensor([2, 3], dtype="int32")
    assert paddle.zeros(s).shape == [2, 3]
    assert paddle.ones([paddle.to_tensor([4]), 2]).shape == [4, 2]
    assert paddle.rand(s).shape == [2, 3]


# ---------------------------------------------------------------------------- random ops
def test_uniform_statistics_and_bounds():
    paddle.seed(3)
    x = paddle.uniform([20000], min=-2.0, max=4.0).numpy()
    assert x.dtype == np.float32 and x.min() >= -2.0 and x.max() < 4.0
    assert abs(x.mean() - 1.0) < 0.05 and abs(x.var() - 3.0) < 0.1


def test_gaussian_statistics():
    paddle.seed(4)
    x = paddle.normal(1.5, 2.0, [20000]).numpy()
    assert abs(x.mean() - 1.5) < 0.06 and abs(x.std() - 2.0) < 0.06


def test_normal_with_tensor_mean_and_std():
    paddle.seed(5)
    m = paddle.to_tensor([0.0, 100.0])
    x = paddle.normal(m, paddle.to_tensor([1e-6, 1e-6]))
    np.testing.assert_allclose(x.numpy(), [0.0, 100.0], atol=1e-4)


def test_randint_randperm_bernoulli():
    paddle.seed(6)
    r = paddle.randint(2, 5, [5000]).numpy()
    assert set(np.unique(r)) == {2, 3, 4}
    p = paddle.randperm(10).numpy()
    assert sorted(p.tolist()) == list(range(10))
    b = paddle.bernoulli(paddle.full([10000], 0.25)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.25) < 0.03


def test_seed_reproduces_draws():
    paddle.seed(7)
    a = [paddle.rand([3]).numpy(), paddle.randn([2]).numpy(), paddle.randint(0, 100, [4]).numpy()]
    paddle.seed(7)
    b = [paddle.rand([3]).numpy(), paddle.randn([2]).numpy(), paddle.randint(0, 100, [4]).numpy()]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_nonzero_seed_attr_is_its_own_stream():
    a = paddle.uniform([4], seed=11).numpy()
    paddle.rand([10])
    b = paddle.uniform([4], seed=11).numpy()
    np.testing.assert_array_equal(a, b)


def test_uniform_random_diag_attrs():
    out = run_op("uniform_random", {}, {"shape": [3, 3], "diag_num": 3, "diag_step": 3, "diag_val": 9.0})["Out"]
    np.testing.assert_array_equal(np.diag(out.numpy()), [9.0, 9.0, 9.0])


def test_random_ops_run_in_static_programs():
    paddle.enable_static()
    try:
        main, startup = paddle.static.Program(), paddle.static.Program()
        with paddle.static.program_guard(main, startup):
            x = paddle.static.data("x", [None, 3], "float32")
            y = x + paddle.rand([3])
            z = paddle.randn([2, 2])
        assert [o.type for o in main.global_block().ops] == ["uniform_random", "elementwise_add", "gaussian_random"]
        exe = paddle.static.Executor(paddle.CPUPlace())
        a, c = exe.run(main, feed={"x": np.zeros([2, 3], np.float32)}, fetch_list=[y, z])
        b, d = exe.run(main, feed={"x": np.zeros([2, 3], np.float32)}, fetch_list=[y, z])
        assert a.shape == (2, 3) and c.shape == (2, 2)
        assert not np.array_equal(c, d)  # a fresh draw each run
    finally:
        paddle.disable_static()
