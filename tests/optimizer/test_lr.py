"""Learning-rate schedulers: values per epoch (closed forms written here) and state_dict layouts."""
import math
import warnings

import pytest

import sampan as paddle

lr = paddle.optimizer.lr


def _values(s, n):
    out = [s()]
    for _ in range(n):
        s.step()
        out.append(s())
    return out


def test_step_decay_values_and_state():
    s = lr.StepDecay(0.01, step_size=2, gamma=0.5)
    assert _values(s, 4) == pytest.approx([0.01, 0.01, 0.005, 0.005, 0.0025])
    assert s.state_dict() == {"last_epoch": 4, "last_lr": pytest.approx(0.0025)}


def test_multistep_exponential_natural_inverse_polynomial_lambda():
    assert _values(lr.MultiStepDecay(1.0, [2, 4], gamma=0.1), 5) == pytest.approx([1, 1, .1, .1, .01, .01])
    assert _values(lr.ExponentialDecay(1.0, gamma=0.5), 3) == pytest.approx([1, .5, .25, .125])
    assert _values(lr.NaturalExpDecay(1.0, gamma=0.5), 2) == pytest.approx([1, math.exp(-.5), math.exp(-1)])
    assert _values(lr.InverseTimeDecay(1.0, gamma=0.5), 2) == pytest.approx([1, 1 / 1.5, 1 / 2])
    assert _values(lr.PolynomialDecay(1.0, decay_steps=4, end_lr=0.0, power=2), 5) == pytest.approx(
        [1, .5625, .25, .0625, 0, 0])
    cyc = _values(lr.PolynomialDecay(1.0, decay_steps=2, end_lr=0.0, power=1, cycle=True), 3)
    assert cyc == pytest.approx([1, .5, 0, 0.25])
    assert _values(lr.LambdaDecay(2.0, lambda e: 0.5 ** e), 2) == pytest.approx([2, 1, .5])


def test_piecewise_and_noam():
    assert _values(lr.PiecewiseDecay([2, 4], [1.0, 0.5, 0.1]), 5) == pytest.approx([1, 1, .5, .5, .1, .1])
    noam = lr.NoamDecay(d_model=16, warmup_steps=2, learning_rate=1.0)
    want = [16 ** -0.5 * min(1 if e == 0 else e ** -0.5, e * 2 ** -1.5) for e in range(4)]
    assert _values(noam, 3) == pytest.approx(want)


def test_cosine_annealing_recursive_form_and_closed_form_jump():
    s = lr.CosineAnnealingDecay(0.1, T_max=4, eta_min=0.0)
    got = _values(s, 4)
    want = [0.05 * (1 + math.cos(math.pi * e / 4)) for e in range(5)]
    assert got == pytest.approx(want)
    s.step(epoch=2)
    assert s() == pytest.approx(0.05)


def test_linear_warmup_float_and_nested_scheduler_state():
    w = lr.LinearWarmup(0.5, warmup_steps=2, start_lr=0.0, end_lr=0.5)
    assert _values(w, 3) == pytest.approx([0.0, 0.25, 0.5, 0.5])
    assert set(w.state_dict()) == {"last_epoch", "last_lr"}
    inner = lr.MultiStepDecay(0.05, milestones=[2], gamma=0.5)
    w = lr.LinearWarmup(inner, warmup_steps=2, start_lr=0.01, end_lr=0.05)
    assert _values(w, 5) == pytest.approx([0.01, 0.03, 0.05, 0.05, 0.025, 0.025])
    sd = w.state_dict()
    assert sd == {"last_epoch": 5, "last_lr": pytest.approx(0.025),
                  "LinearWarmup_LR": {"last_epoch": 3, "last_lr": pytest.approx(0.025)}}
    w2 = lr.LinearWarmup(lr.MultiStepDecay(0.05, milestones=[2], gamma=0.5), 2, 0.01, 0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w2.set_state_dict(sd)
    assert w2.learning_rate.last_epoch == 3
    w2.step()
    w.step()
    assert w2() == w()


def test_reduce_on_plateau():
    s = lr.ReduceOnPlateau(1.0, factor=0.5, patience=1, cooldown=1)
    for m in [1.0, 1.0, 1.0]:          # best, bad 1, bad 2 > patience -> reduce
        s.step(m)
    assert s() == 0.5
    s.step(1.0)                         # cooldown
    assert s() == 0.5 and s.cooldown_counter == 0
    assert s.state_dict() == {"cooldown_counter": 0, "best": 1.0, "num_bad_epochs": 0, "last_epoch": 4,
                              "last_lr": 0.5}
    s.step(paddle.to_tensor([0.1]))
    assert s.best == pytest.approx(0.1)
    with pytest.raises(TypeError, match="metrics"):
        s.step("x")
    mx = lr.ReduceOnPlateau(1.0, mode="max", patience=0, threshold_mode="abs", threshold=0.1)
    mx.step(1.0)
    mx.step(1.05)                       # not better by 0.1 -> reduce
    assert mx() == pytest.approx(0.1)


def test_set_state_dict_errors_and_warnings():
    s = lr.StepDecay(0.1, 1)
    with pytest.raises(RuntimeError, match="last_lr"):
        s.set_state_dict({"last_epoch": 3})
    with pytest.warns(UserWarning, match="unused entries"):
        s.set_state_dict({"last_epoch": 3, "last_lr": 0.5, "other": 1})
    assert s.last_epoch == 3 and s() == 0.5


def test_constructor_validation():
    with pytest.raises(TypeError):
        lr.StepDecay("0.1", 2)
    with pytest.raises(ValueError, match="gamma"):
        lr.StepDecay(0.1, 2, gamma=2.0)
    with pytest.raises(ValueError, match="increasing"):
        lr.MultiStepDecay(0.1, [3, 1])
    with pytest.raises(ValueError, match="end_lr"):
        lr.LinearWarmup(0.1, 2, start_lr=0.5, end_lr=0.1)
    with pytest.raises(ValueError, match="len\\(values\\)"):
        lr.PiecewiseDecay([1], [0.1])


def test_one_cycle_cyclic_linear_warm_restarts_multiplicative():
    oc = lr.OneCycleLR(max_learning_rate=1.0, total_steps=10, divide_factor=4.0, end_learning_rate=0.0,
                       phase_pct=0.3, anneal_strategy="linear")
    vals = _values(oc, 9)
    assert vals[0] == pytest.approx(0.25) and vals[2] == pytest.approx(1.0) and vals[9] == pytest.approx(0.0)
    assert vals[1] == pytest.approx(0.625)          # halfway up phase 1 (steps 0..2)
    cyc = lr.CyclicLR(0.1, 0.5, step_size_up=2, step_size_down=2)
    assert _values(cyc, 5) == pytest.approx([0.1, 0.3, 0.5, 0.3, 0.1, 0.3])
    lin = lr.LinearLR(1.0, total_steps=4, start_factor=0.2, end_factor=1.0)
    assert _values(lin, 5) == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0, 1.0])
    wr = lr.CosineAnnealingWarmRestarts(1.0, T_0=2, T_mult=2)
    want = [1.0, 0.5, 1.0, 0.5 * (1 + math.cos(math.pi / 4)), 0.5, 0.5 * (1 + math.cos(3 * math.pi / 4)), 1.0]
    assert _values(wr, 6) == pytest.approx(want)
    md = lr.MultiplicativeDecay(1.0, lambda e: 0.5)
    assert _values(md, 3) == pytest.approx([1, .5, .25, .125])
