"""Activation ops: forward vs float64 NumPy references, backward vs central differences, static."""
import math

import numpy as np

import sampan as paddle
from sampan.core.dispatch import run_op
from tests.ops.harness import OpSpec, spec_tests


def _op(type_name, **fixed):
    def fn(x, **attrs):
        return run_op(type_name, {"X": x}, {**fixed, **attrs})["Out"]
    fn.__name__ = type_name
    return fn


def away(shape, lo=0.05, hi=3.0, kinks=(0.0,)):
    """Samples in [-hi, hi] at least ``lo`` away from every kink."""
    def f(rng):
        x = rng.uniform(-hi, hi, size=shape)
        for k in kinks:
            near = np.abs(x - k) < lo
            x[near] = k + np.where(x[near] >= k, lo, -lo) * 2
        return x
    return f


def sig(x):
    return 1 / (1 + np.exp(-x))


_erf = np.vectorize(math.erf)
S = [4, 5]

SPECS = [
    OpSpec("relu", _op("relu"), lambda x: np.maximum(x, 0), [away(S)]),
    OpSpec("relu6", _op("relu6"), lambda x: np.minimum(np.maximum(x, 0), 6), [away(S, 0.05, 8.0, (0.0, 6.0))]),
    OpSpec("leaky_relu", _op("leaky_relu", alpha=0.1), lambda x: np.where(x > 0, x, 0.1 * x), [away(S)]),
    OpSpec("gelu_exact", _op("gelu", approximate=False), lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
           [lambda rng: rng.uniform(-4, 4, S)]),
    OpSpec("gelu_tanh", _op("gelu", approximate=True),
           lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
           [lambda rng: rng.uniform(-4, 4, S)]),
    OpSpec("sigmoid", _op("sigmoid"), sig, [lambda rng: rng.uniform(-6, 6, S)]),
    OpSpec("sigmoid_fn", paddle.sigmoid, sig, [S]),
    OpSpec("logsigmoid", _op("logsigmoid"), lambda x: np.log(sig(x)), [lambda rng: rng.uniform(-6, 6, S)]),
    OpSpec("tanh", _op("tanh"), np.tanh, [lambda rng: rng.uniform(-3, 3, S)]),
    OpSpec("tanh_fn", paddle.tanh, np.tanh, [S]),
    OpSpec("hard_swish", _op("hard_swish"), lambda x: x * np.minimum(np.maximum(x + 3, 0), 6) / 6,
           [away(S, 0.05, 5.0, (-3.0, 3.0))]),
    OpSpec("hard_sigmoid", _op("hard_sigmoid", slope=0.1666667, offset=0.5),
           lambda x: np.clip(0.1666667 * x + 0.5, 0, 1), [away(S, 0.05, 5.0, (-3.0, 3.0))]),
    OpSpec("swish", _op("swish"), lambda x: x * sig(x), [lambda rng: rng.uniform(-4, 4, S)]),
    OpSpec("silu", _op("silu"), lambda x: x * sig(x), [lambda rng: rng.uniform(-4, 4, S)]),
    OpSpec("softplus", _op("softplus", beta=2.0, threshold=4.0),
           lambda x: np.where(2 * x > 4, x, np.log1p(np.exp(2 * x)) / 2), [away(S, 0.05, 4.0, (2.0,))]),
    OpSpec("elu", _op("elu", alpha=0.7), lambda x: np.where(x > 0, x, 0.7 * (np.exp(x) - 1)), [away(S)]),
    OpSpec("selu", _op("selu"), lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 *
                                                                       (np.exp(x) - 1)), [away(S)]),
    OpSpec("mish", _op("mish"), lambda x: x * np.tanh(np.log1p(np.exp(x))), [lambda rng: rng.uniform(-4, 4, S)]),
    OpSpec("softsign", _op("softsign"), lambda x: x / (1 + np.abs(x)), [away(S)]),
    OpSpec("tanh_shrink", _op("tanh_shrink"), lambda x: x - np.tanh(x), [S]),
    OpSpec("brelu", _op("brelu", t_min=-1.0, t_max=1.0), lambda x: np.clip(x, -1, 1),
           [away(S, 0.05, 2.0, (-1.0, 1.0))]),
]


test_forward, test_backward, test_static = spec_tests(SPECS)


def test_sigmoid_extremes_are_finite_and_silent():
    import warnings
    x = paddle.to_tensor([-1000.0, -80.0, 0.0, 80.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = paddle.sigmoid(x).numpy()
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y[[0, 2, 4]], [0.0, 0.5, 1.0])


def test_relu6_honours_threshold_attr_of_older_programs():
    x = paddle.to_tensor([-1.0, 3.0, 9.0])
    np.testing.assert_allclose(run_op("relu6", {"X": x}, {"threshold": 4.0})["Out"].numpy(), [0, 3, 4])


def test_attrs_match_paddle_262():
    from sampan.ops.registry import get_op
    assert set(get_op("relu6").attrs) == set()
    assert set(get_op("swish").attrs) == set()
    assert set(get_op("hard_swish").attrs) == {"threshold", "scale", "offset"}
    assert set(get_op("hard_sigmoid").attrs) == {"slope", "offset"}
    assert set(get_op("leaky_relu").attrs) == {"alpha"}
    assert set(get_op("gelu").attrs) == {"approximate"}
