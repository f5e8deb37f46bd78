"""Optimizer update ops (sgd, adam, adamw, momentum, rmsprop, adagrad) against float64 NumPy
references of Paddle's formulas; every output slot is checked, eager and through the Executor."""
import numpy as np
import pytest

from sampan.core.dispatch import run_op
from tests.ops.harness import OpSpec, spec_tests


def _op(type_name, in_slots, out_slot, **fixed):
    def fn(*ts, **attrs):
        return run_op(type_name, dict(zip(in_slots, ts)), {**fixed, **attrs})[out_slot]
    fn.__name__ = f"{type_name}.{out_slot}"
    return fn


def _pos(shape, lo=0.1, hi=1.0):
    return lambda rng: rng.uniform(lo, hi, size=shape)


def _const(v):
    return lambda rng: np.array([v])


S = (3, 4)


def ref_adam(p, g, lr, m1, m2, b1p, b2p, beta1=0.9, beta2=0.999, epsilon=1e-8, coeff=0.0, with_decay=False,
             lr_ratio=1.0, out="ParamOut"):
    lr = lr[0] * lr_ratio
    if with_decay:
        p = p - lr * coeff * p
    m1 = beta1 * m1 + (1 - beta1) * g
    m2 = beta2 * m2 + (1 - beta2) * g * g
    lr_t = lr * np.sqrt(1 - b2p[0]) / (1 - b1p[0])
    p = p - lr_t * m1 / (np.sqrt(m2) + epsilon * np.sqrt(1 - b2p[0]))
    return {"ParamOut": p, "Moment1Out": m1, "Moment2Out": m2, "Beta1PowOut": b1p * beta1,
            "Beta2PowOut": b2p * beta2}[out]


def ref_momentum(p, g, v, lr, mu=0.9, use_nesterov=False, regularization_method="", regularization_coeff=0.0,
                 out="ParamOut"):
    if regularization_method == "l2_decay":
        g = g + regularization_coeff * p
    v = mu * v + g
    p = p - lr[0] * (g + mu * v) if use_nesterov else p - lr[0] * v
    return {"ParamOut": p, "VelocityOut": v}[out]


def ref_rmsprop(p, ms, mg, lr, g, mom, epsilon=1e-10, decay=0.9, momentum=0.0, centered=False, out="ParamOut"):
    ms = decay * ms + (1 - decay) * g * g
    if centered:
        mg = decay * mg + (1 - decay) * g
        den = np.sqrt(ms - mg * mg + epsilon)
    else:
        den = np.sqrt(ms + epsilon)
    mom = momentum * mom + lr[0] * g / den
    return {"ParamOut": p - mom, "MomentOut": mom, "MeanSquareOut": ms, "MeanGradOut": mg}[out]


def ref_adagrad(p, g, m, lr, epsilon=1e-6, out="ParamOut"):
    m = m + g * g
    return {"ParamOut": p - lr[0] * g / (np.sqrt(m) + epsilon), "MomentOut": m}[out]


ADAM_IN = ["Param", "Grad", "LearningRate", "Moment1", "Moment2", "Beta1Pow", "Beta2Pow"]
ADAM_SAMPLERS = [S, S, _const(0.05), S, _pos(S, 0.01, 0.1), _const(0.9 ** 3), _const(0.999 ** 3)]


def _ref(fn, order, out, **attrs):
    def r(*arrays):
        return fn(*[arrays[i] for i in order], out=out, **attrs)
    return r


SPECS = []
for out in ["ParamOut", "Moment1Out", "Moment2Out", "Beta1PowOut", "Beta2PowOut"]:
    SPECS.append(OpSpec(f"adam.{out}", _op("adam", ADAM_IN, out), _ref(ref_adam, range(7), out),
                        ADAM_SAMPLERS, nondiff=True))
    SPECS.append(OpSpec(f"adamw.{out}", _op("adamw", ADAM_IN, out, coeff=0.1, with_decay=True, lr_ratio=0.5),
                        _ref(ref_adam, range(7), out, coeff=0.1, with_decay=True, lr_ratio=0.5),
                        ADAM_SAMPLERS, nondiff=True))
SPECS.append(OpSpec("adam.attrs", _op("adam", ADAM_IN, "ParamOut", beta1=0.5, beta2=0.8, epsilon=1e-3),
                    _ref(ref_adam, range(7), "ParamOut", beta1=0.5, beta2=0.8, epsilon=1e-3),
                    [S, S, _const(0.05), S, _pos(S, 0.01, 0.1), _const(0.25), _const(0.64)], nondiff=True))
SPECS.append(OpSpec("sgd", _op("sgd", ["Param", "LearningRate", "Grad"], "ParamOut"),
                    lambda p, lr, g: p - lr[0] * g, [S, _const(0.1), S], nondiff=True))
for out in ["ParamOut", "VelocityOut"]:
    for kw in [{}, {"use_nesterov": True}, {"regularization_method": "l2_decay", "regularization_coeff": 0.1}]:
        SPECS.append(OpSpec(f"momentum.{out}.{'-'.join(kw) or 'plain'}",
                            _op("momentum", ["Param", "Grad", "Velocity", "LearningRate"], out, mu=0.8, **kw),
                            _ref(ref_momentum, range(4), out, mu=0.8, **kw), [S, S, S, _const(0.1)], nondiff=True))
for out in ["ParamOut", "MomentOut", "MeanSquareOut", "MeanGradOut"]:
    for centered in (False, True):
        SPECS.append(OpSpec(
            f"rmsprop.{out}.{'centered' if centered else 'plain'}",
            _op("rmsprop", ["Param", "MeanSquare", "MeanGrad", "LearningRate", "Grad", "Moment"], out,
                epsilon=1e-6, decay=0.9, momentum=0.5, centered=centered),
            _ref(ref_rmsprop, range(6), out, epsilon=1e-6, decay=0.9, momentum=0.5, centered=centered),
            [S, _pos(S, 0.5, 1.0), _pos(S, -0.1, 0.1), _const(0.01), S, S], nondiff=True, rtol=1e-4))
for out in ["ParamOut", "MomentOut"]:
    SPECS.append(OpSpec(f"adagrad.{out}", _op("adagrad", ["Param", "Grad", "Moment", "LearningRate"], out),
                        _ref(ref_adagrad, range(4), out), [S, S, _pos(S), _const(0.1)], nondiff=True))


test_forward, _, test_static = spec_tests(SPECS)   # comparisons have no gradient


def test_adam_rejects_mismatched_grad():
    import sampan as paddle
    from sampan.core.dispatch import OpError
    z = paddle.zeros([3])
    with pytest.raises((ValueError, OpError), match="adam"):
        run_op("adam", {"Param": z, "Grad": paddle.zeros([4]), "LearningRate": paddle.ones([1]), "Moment1": z,
                        "Moment2": z, "Beta1Pow": paddle.ones([1]), "Beta2Pow": paddle.ones([1])})
