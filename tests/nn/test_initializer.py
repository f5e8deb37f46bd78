"""Initializers: eager values, and in static mode the startup ops Paddle uses (fill_constant,
uniform_random, gaussian_random, truncated_gaussian_random, assign_value) with their attributes."""
import math

import numpy as np
import pytest

import sampan as paddle
import sampan.nn.initializer as I
from sampan.core import unique_name


def test_eager_values_and_statistics():
    paddle.seed(3)
    np.testing.assert_array_equal(I.Constant(2.5).generate([2, 3], "float32"), np.full([2, 3], 2.5, "float32"))
    u = I.Uniform(-0.5, 0.25).generate([4000], "float64")
    assert u.dtype == np.float64 and u.min() >= -0.5 and u.max() < 0.25 and abs(u.mean() + 0.125) < 0.01
    n = I.Normal(1.0, 2.0).generate([20000], "float32")
    assert abs(n.mean() - 1) < 0.05 and abs(n.std() - 2) < 0.05
    t = I.TruncatedNormal(0.0, 1.0, a=-1.0, b=1.5).generate([5000], "float32")
    assert t.min() >= -1.0 and t.max() <= 1.5
    xu = I.XavierUniform().generate([30, 70], "float32")
    assert np.abs(xu).max() <= math.sqrt(6 / 100)
    xn = I.XavierNormal().generate([300, 700], "float32")
    assert abs(xn.std() - math.sqrt(2 / 1000)) < 0.002
    kn = I.KaimingNormal().generate([64, 16, 3, 3], "float32")          # fan_in = 16*9
    assert abs(kn.std() - math.sqrt(2 / 144)) < 0.005
    ku = I.KaimingUniform(nonlinearity="leaky_relu", negative_slope=0.1).generate([400, 100], "float32")
    assert np.abs(ku).max() <= math.sqrt(2 / 1.01) * math.sqrt(3 / 400)
    np.testing.assert_array_equal(I.Assign([[1, 2], [3, 4]]).generate([2, 2], "int64"), [[1, 2], [3, 4]])
    o = I.Orthogonal().generate([6, 4], "float64")
    np.testing.assert_allclose(o.T @ o, np.eye(4), atol=1e-10)
    d = I.Dirac().generate([2, 2, 3, 3], "float32")
    assert d[0, 0, 1, 1] == 1 and d[1, 1, 1, 1] == 1 and d.sum() == 2
    b = I.Bilinear().generate([1, 1, 4, 4], "float32")
    np.testing.assert_allclose(b[0, 0, 0], [0.0625, 0.1875, 0.1875, 0.0625])
    assert I.calculate_gain("tanh") == pytest.approx(5 / 3) and I.calculate_gain("relu") == pytest.approx(2 ** 0.5)
    with pytest.raises(ValueError, match="nonlinearity"):
        I.calculate_gain("nope")


def test_initializer_call_reinitialises_a_parameter_in_place():
    lin = paddle.nn.Linear(2, 2)
    w = lin.weight
    I.Constant(0.25)(lin.weight)
    assert lin.weight is w and np.all(w.numpy() == 0.25)


def test_global_initializer():
    I.set_global_initializer(I.Constant(0.5), I.Constant(-1.0))
    try:
        lin = paddle.nn.Linear(2, 2)
    finally:
        I.set_global_initializer(None)
    assert np.all(lin.weight.numpy() == 0.5) and np.all(lin.bias.numpy() == -1)
    assert np.abs(paddle.nn.Linear(2, 2).weight.numpy()).max() <= 1.0


def _startup_ops(build):
    paddle.enable_static()
    try:
        main, startup = paddle.static.Program(), paddle.static.Program()
        with paddle.static.program_guard(main, startup), unique_name.guard():
            layer = build()
        exe = paddle.static.Executor(paddle.CPUPlace())
        exe.run(startup)
        scope = paddle.static.global_scope()
        values = {v.name: np.array(scope.get(v.name)) for v in layer.state_dict().values()}
        return layer, startup, main, values
    finally:
        paddle.disable_static()


def test_static_parameters_are_initialised_by_startup_ops():
    _, startup, main, values = _startup_ops(lambda: paddle.nn.Linear(4, 3))
    ops = {op.output("Out")[0]: op for op in startup.global_block().ops}
    w, b = ops["linear_0.w_0"], ops["linear_0.b_0"]
    assert w.type == "uniform_random" and b.type == "fill_constant"
    lim = math.sqrt(6 / 7)
    assert w.attr("min") == pytest.approx(-lim) and w.attr("max") == pytest.approx(lim)
    assert w.attr("shape") == [4, 3] and w.attr("dtype") == 5 and w.attr("seed") == 0
    assert b.attr("value") == 0.0 and b.attr("str_value") == "0.0" and b.attr("shape") == [3]
    assert main.global_block().var("linear_0.w_0").is_parameter
    assert np.abs(values["linear_0.w_0"]).max() <= lim and np.all(values["linear_0.b_0"] == 0)


def test_static_conv_bn_and_assign_init_ops():
    def build():
        seq = paddle.nn.Sequential(
            paddle.nn.Conv2D(2, 3, 3), paddle.nn.BatchNorm2D(3),
            paddle.nn.Linear(2, 2, weight_attr=paddle.ParamAttr(initializer=I.Assign(np.eye(2)))))
        return seq
    _, startup, _, values = _startup_ops(build)
    ops = {op.output("Out")[0]: op for op in startup.global_block().ops}
    assert ops["conv2d_0.w_0"].type == "gaussian_random"
    assert ops["conv2d_0.w_0"].attr("std") == pytest.approx(math.sqrt(2 / 18))
    assert [ops[f"batch_norm2d_0.{n}"].attr("value") for n in ("w_0", "b_0", "w_1", "w_2")] == [1.0, 0.0, 0.0, 1.0]
    assert ops["linear_0.w_0"].type == "assign_value" and ops["linear_0.w_0"].attr("fp32_values") == [1, 0, 0, 1]
    np.testing.assert_array_equal(values["linear_0.w_0"], np.eye(2))
    np.testing.assert_array_equal(values["batch_norm2d_0.w_2"], np.ones(3))
