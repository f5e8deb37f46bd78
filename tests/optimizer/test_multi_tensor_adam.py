"""The multi-tensor (flat-buffer) Adam/AdamW step against the per-parameter step: bit-identical
parameters and accumulators through state_dict round trips, set_value, LR schedulers, parameter
groups, weight decay, clipping and steps where some parameters have no gradient; parameters get a
fresh array every step and the accumulator Tensors stay live."""
import functools

import numpy as np
import pytest

import sampan as paddle
from sampan.core import unique_name
from sampan.optimizer.adam import Adam
from sampan.optimizer.optimizer import Optimizer


def _net(seed=0, dtype="float32"):
    with unique_name.guard():
        net = paddle.nn.Sequential(paddle.nn.Linear(5, 4), paddle.nn.ReLU(), paddle.nn.Linear(4, 4), paddle.nn.ReLU(),
                                   paddle.nn.Linear(4, 3))
    rng = np.random.default_rng(seed)
    for p in net.parameters():
        p.set_value(rng.uniform(-1, 1, p.shape).astype(dtype))
    return net


def _grads(step, params, skip=()):
    rng = np.random.default_rng(1000 + step)
    for i, p in enumerate(params):
        g = rng.uniform(-1, 1, p.shape).astype(p.numpy().dtype)
        p.grad = None if i in skip else g


def _per_param(opt):
    """Force the per-parameter path on ``opt`` (the reference)."""
    opt._step_group = functools.partial(Optimizer._step_group, opt)
    return opt


def _bits(ts):
    return [(t.numpy().dtype.str, t.shape, t.numpy().tobytes()) for t in ts]


def _state_bits(opt):
    """The accumulators in state_dict order (names differ between optimizers: unique-name counters)."""
    return [v.numpy().tobytes() if hasattr(v, "numpy") else v for v in opt.state_dict().values()]


def _assert_same(a, b, oa, ob):
    assert _bits(a.parameters()) == _bits(b.parameters())
    assert _state_bits(oa) == _state_bits(ob)


def _is_flat(opt, params):
    """True when the multi-tensor path updated ``params`` last (views of one flat array)."""
    bases = {id(p._data.base) for p in params}
    return len(bases) == 1 and any(fg.p_flat is params[0]._data.base for fg in opt._flat.values())


def _flat(opt):
    """Take the multi-tensor path from 2 parameters on (the default threshold is a speed choice)."""
    opt._MULTI_TENSOR_MIN_PARAMS = 2
    return opt


def _pair(make_opt, seed=0, dtype="float32"):
    a, b = _net(seed, dtype), _net(seed, dtype)
    return a, b, _flat(make_opt(a)), _per_param(make_opt(b))


def _step(nets_opts, s, skip=()):
    for net, opt in nets_opts:
        _grads(s, net.parameters(), skip)
        opt.step()
        opt.clear_grad()


ADAM = lambda net: paddle.optimizer.Adam(learning_rate=0.01, parameters=net.parameters())  # noqa: E731


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_several_steps_bit_identical(dtype):
    a, b, oa, ob = _pair(ADAM, dtype=dtype)
    for s in range(6):
        _step([(a, oa), (b, ob)], s)
        assert _is_flat(oa, a.parameters())
        assert not _is_flat(ob, b.parameters())
        _assert_same(a, b, oa, ob)


def test_parameters_get_a_fresh_array_every_step_and_state_stays_live():
    a, b, oa, ob = _pair(ADAM)
    _step([(a, oa), (b, ob)], 0)
    params = a.parameters()
    old = [p._data for p in params]
    kept = [x.copy() for x in old]
    sd = oa.state_dict()
    m1 = sd[f"{params[0].name}_moment1_0"]
    _step([(a, oa), (b, ob)], 1)
    for p, o, k in zip(params, old, kept):
        assert p._data is not o
        np.testing.assert_array_equal(o, k)           # never modified in place
    # the state_dict Tensors are live: they show the moments after the later step
    np.testing.assert_array_equal(m1.numpy(), list(ob.state_dict().values())[0].numpy())
    assert m1 is oa.state_dict()[m1.name]


def test_state_dict_round_trip_mid_run():
    a, b, oa, ob = _pair(ADAM)
    for s in range(3):
        _step([(a, oa), (b, ob)], s)
    saved = {k: v.numpy() for k, v in oa.state_dict().items()}
    params = {p.name: p.numpy() for p in a.parameters()}
    for s in range(3, 5):   # diverge from the saved state ...
        _step([(a, oa), (b, ob)], s)
    # ... then restore a fresh model + optimizer from it, and the same optimizer too
    c = _net(7)
    for p in c.parameters():
        p.set_value(params[p.name])
    oc = _flat(ADAM(c))
    oc.set_state_dict(saved)
    oa.set_state_dict(saved)
    for p in a.parameters():
        p.set_value(params[p.name])
    d = _net(7)
    for p in d.parameters():
        p.set_value(params[p.name])
    od = _per_param(ADAM(d))
    od.set_state_dict(saved)
    for s in range(3, 6):
        _step([(a, oa), (c, oc), (d, od)], s)
        _assert_same(a, d, oa, od)
        _assert_same(c, d, oc, od)
    assert _is_flat(oa, a.parameters()) and _is_flat(oc, c.parameters())


def test_set_state_dict_before_the_first_step():
    a, b, oa, ob = _pair(ADAM)
    for s in range(2):
        _step([(a, oa), (b, ob)], s)
    saved = {k: v.numpy() for k, v in ob.state_dict().items()}
    params = [p.numpy() for p in b.parameters()]
    c = _net(3)
    for p, v in zip(c.parameters(), params):
        p.set_value(v)
    oc = _flat(ADAM(c))
    oc.set_state_dict(saved)
    for s in range(2, 5):
        _step([(b, ob), (c, oc)], s)
        _assert_same(b, c, ob, oc)


def test_set_value_on_parameters_and_accumulators_mid_run():
    a, b, oa, ob = _pair(ADAM)
    for s in range(2):
        _step([(a, oa), (b, ob)], s)
    rng = np.random.default_rng(5)
    w = rng.uniform(-1, 1, a.parameters()[0].shape).astype("float32")
    m2 = rng.uniform(0, 1, a.parameters()[2].shape).astype("float32")
    for net, opt in ((a, oa), (b, ob)):
        net.parameters()[0].set_value(w)
        [t for k, t in opt.state_dict().items() if "moment2" in k][2].set_value(m2)
    for s in range(2, 5):
        _step([(a, oa), (b, ob)], s)
        _assert_same(a, b, oa, ob)
    assert _is_flat(oa, a.parameters())


def test_lr_scheduler():
    def make(net):
        sched = paddle.optimizer.lr.StepDecay(learning_rate=0.05, step_size=2, gamma=0.5)
        return paddle.optimizer.Adam(learning_rate=sched, parameters=net.parameters())
    a, b, oa, ob = _pair(make)
    for s in range(6):
        _step([(a, oa), (b, ob)], s)
        oa._learning_rate.step()
        ob._learning_rate.step()
        _assert_same(a, b, oa, ob)
    assert _is_flat(oa, a.parameters())


def test_two_groups_with_their_own_options():
    def make(net):
        ps = net.parameters()
        return paddle.optimizer.Adam(learning_rate=0.01, parameters=[
            {"params": ps[:3]},
            {"params": ps[3:], "learning_rate": 0.5, "beta1": 0.8, "weight_decay": 0.01}])
    a, b, oa, ob = _pair(make)
    for s in range(5):
        _step([(a, oa), (b, ob)], s)
        _assert_same(a, b, oa, ob)
    ps = a.parameters()
    assert _is_flat(oa, ps[:3]) and _is_flat(oa, ps[3:]) and len(oa._flat) == 2


@pytest.mark.parametrize("decay_fun", [None, lambda name: not name.endswith("b_0")])
def test_adamw(decay_fun):
    def make(net):
        return paddle.optimizer.AdamW(learning_rate=0.01, parameters=net.parameters(), weight_decay=0.1,
                                      apply_decay_param_fun=decay_fun)
    a, b, oa, ob = _pair(make)
    for s in range(5):
        _step([(a, oa), (b, ob)], s)
        _assert_same(a, b, oa, ob)
    # mixed decay flags in one group: the per-parameter path runs
    assert _is_flat(oa, a.parameters()) == (decay_fun is None)


def test_grad_clip_and_l2_weight_decay():
    def make(net):
        return paddle.optimizer.Adam(learning_rate=0.01, parameters=net.parameters(), weight_decay=0.05,
                                     grad_clip=paddle.nn.ClipGradByGlobalNorm(0.5))
    a, b, oa, ob = _pair(make)
    for s in range(4):
        _step([(a, oa), (b, ob)], s)
        _assert_same(a, b, oa, ob)
    assert _is_flat(oa, a.parameters())


def test_steps_where_a_parameter_has_no_gradient():
    a, b, oa, ob = _pair(ADAM)
    _step([(a, oa), (b, ob)], 0)
    _step([(a, oa), (b, ob)], 1, skip=(1,))     # the bias of layer 0 skips: per-parameter path
    _assert_same(a, b, oa, ob)
    for s in range(2, 5):   # beta pows now differ between parameters: still per-parameter, still equal
        _step([(a, oa), (b, ob)], s)
        _assert_same(a, b, oa, ob)
    assert not _is_flat(oa, a.parameters())


def test_per_parameter_learning_rate_scale():
    def make(net):
        return paddle.optimizer.Adam(learning_rate=0.01, parameters=net.parameters())
    a, b = _net(), _net()
    for net in (a, b):
        net.parameters()[1].optimize_attr["learning_rate"] = 0.3
    oa, ob = _flat(make(a)), _per_param(make(b))
    for s in range(3):
        _step([(a, oa), (b, ob)], s)
        _assert_same(a, b, oa, ob)
    assert not _is_flat(oa, a.parameters())
    for net in (a, b):      # the same scale everywhere again: flat
        for p in net.parameters():
            p.optimize_attr["learning_rate"] = 0.3
    for s in range(3, 5):
        _step([(a, oa), (b, ob)], s)
        _assert_same(a, b, oa, ob)


def test_minimize_with_a_subset_of_parameters():
    a, b, oa, ob = _pair(ADAM)
    for s in range(4):
        for net, opt in ((a, oa), (b, ob)):
            _grads(s, net.parameters())
            sub = net.parameters()[:2] if s % 2 else None
            if sub is None:
                opt.step()
            else:
                saved = [(g, g["params"]) for g in opt._groups]
                opt._groups[0]["params"] = sub
                try:
                    opt.step()
                finally:
                    for g, ps in saved:
                        g["params"] = ps
            opt.clear_grad()
        _assert_same(a, b, oa, ob)


def test_training_loop_matches_per_parameter_path():
    x = paddle.to_tensor(np.random.default_rng(0).uniform(-1, 1, (8, 5)).astype("float32"))
    y = paddle.to_tensor(np.random.default_rng(1).integers(0, 3, (8, 1)))
    a, b, oa, ob = _pair(ADAM)
    loss_fn = paddle.nn.CrossEntropyLoss()
    for _ in range(5):
        for net, opt in ((a, oa), (b, ob)):
            loss_fn(net(x), y).backward()
            opt.step()
            opt.clear_grad()
        _assert_same(a, b, oa, ob)


def test_set_state_dict_alone_mid_run():
    """Only the optimizer state is restored (the parameters keep their arrays)."""
    a, b, oa, ob = _pair(ADAM)
    for s in range(2):
        _step([(a, oa), (b, ob)], s)
    saved = {k: v.numpy() for k, v in oa.state_dict().items()}
    for s in range(2, 4):
        _step([(a, oa), (b, ob)], s)
    oa.set_state_dict(saved)
    ob.set_state_dict(saved)
    for s in range(4, 7):
        _step([(a, oa), (b, ob)], s)
        _assert_same(a, b, oa, ob)
    assert _is_flat(oa, a.parameters())


@pytest.mark.parametrize("kind", ["moment1", "moment2", "beta1_pow_acc", "beta2_pow_acc"])
def test_set_value_on_one_accumulator(kind):
    a, b, oa, ob = _pair(ADAM)
    for s in range(2):
        _step([(a, oa), (b, ob)], s)
    for opt in (oa, ob):
        t = [t for k, t in opt.state_dict().items() if kind in k][1]
        v = t.numpy() * 0.5 + 0.01
        t.set_value(v)
    for s in range(2, 5):
        _step([(a, oa), (b, ob)], s)
        _assert_same(a, b, oa, ob)


def test_set_value_on_one_parameter():
    a, b, oa, ob = _pair(ADAM)
    for s in range(2):
        _step([(a, oa), (b, ob)], s)
    for net in (a, b):
        p = net.parameters()[3]
        p.set_value(p.numpy() * 2.0 - 0.1)
    for s in range(2, 5):
        _step([(a, oa), (b, ob)], s)
        _assert_same(a, b, oa, ob)
    assert _is_flat(oa, a.parameters())


def test_small_groups_take_the_per_parameter_path():
    a, b = _net(), _net()
    small = paddle.optimizer.Adam(learning_rate=0.01, parameters=a.parameters()[:2])
    big = paddle.optimizer.Adam(learning_rate=0.01, parameters=b.parameters())
    assert 2 < Adam._MULTI_TENSOR_MIN_PARAMS <= len(b.parameters())
    for s in range(2):
        _step([(a, small), (b, big)], s)
    assert not small._flat and _is_flat(big, b.parameters())
