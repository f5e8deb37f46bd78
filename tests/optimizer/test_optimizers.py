"""Optimizers: update rules against float64 NumPy references written from Paddle's formulas,
accumulator names/order, weight decay, gradient clipping, and state_dict round trips that make the
next step bit-identical."""
import numpy as np
import pytest

import sampan as paddle
from sampan.core import unique_name
from sampan.nn import Layer


class Affine(Layer):
    def __init__(self, i=3, o=2, weight_attr=None, bias_attr=None):
        super().__init__(name_scope="linear")
        self.weight = self.create_parameter([i, o], attr=weight_attr)
        self.bias = self.create_parameter([o], attr=bias_attr, is_bias=True)


def _model(seed=0, **kw):
    m = Affine(**kw)
    rng = np.random.default_rng(seed)
    m.set_state_dict({k: rng.uniform(-1, 1, v.shape).astype("float32") for k, v in m.state_dict().items()})
    return m


def _grads(step, shapes):
    rng = np.random.default_rng(100 + step)
    return [rng.uniform(-1, 1, s).astype("float32") for s in shapes]


def _run(opt_factory, steps=3, model_kw=None, sched_step=False):
    """Run ``steps`` steps with fixed gradients; returns (model, optimizer, [params after each step])."""
    m = _model(**(model_kw or {}))
    opt = opt_factory(m.parameters())
    hist = []
    for s in range(steps):
        for p, g in zip(m.parameters(), _grads(s, [p.shape for p in m.parameters()])):
            p.grad = g
        opt.step()
        opt.clear_grad()
        if sched_step:
            opt._learning_rate.step()
        hist.append([p.numpy().copy() for p in m.parameters()])
    return m, opt, hist


def _ref_run(update, steps=3, model_kw=None):
    """The same trajectory with a float64 reference ``update(i, p, g, state, step) -> p``."""
    m = _model(**(model_kw or {}))
    ps = [p.numpy().astype(np.float64) for p in m.parameters()]
    states = [dict() for _ in ps]
    hist = []
    for s in range(steps):
        for i, g in enumerate(_grads(s, [p.shape for p in ps])):
            ps[i] = update(i, ps[i], g.astype(np.float64), states[i], s)
        hist.append([p.copy() for p in ps])
    return hist


def _close(hist, ref, rtol=2e-5, atol=2e-6):
    for s, (a, b) in enumerate(zip(hist, ref)):
        for i, (x, y) in enumerate(zip(a, b)):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=f"step {s} param {i}")


# ---------------------------------------------------------------------------- update rules
def test_sgd_matches_reference_and_has_no_state():
    _, opt, hist = _run(lambda ps: paddle.optimizer.SGD(0.1, parameters=ps))
    _close(hist, _ref_run(lambda i, p, g, st, s: p - 0.1 * g))
    assert opt.state_dict() == {}


def _adam_ref(lr=0.01, b1=0.9, b2=0.999, eps=1e-8, coeff=0.0, decay=lambda i: False):
    def upd(i, p, g, st, s):
        m1, m2 = st.get("m1", 0 * p), st.get("m2", 0 * p)
        b1p, b2p = st.get("b1p", b1), st.get("b2p", b2)
        if decay(i):
            p = p - lr * coeff * p
        m1 = b1 * m1 + (1 - b1) * g
        m2 = b2 * m2 + (1 - b2) * g * g
        lr_t = lr * np.sqrt(1 - b2p) / (1 - b1p)
        p = p - lr_t * m1 / (np.sqrt(m2) + eps * np.sqrt(1 - b2p))
        st.update(m1=m1, m2=m2, b1p=b1p * b1, b2p=b2p * b2)
        return p
    return upd


def test_adam_matches_reference_and_state_layout():
    _, opt, hist = _run(lambda ps: paddle.optimizer.Adam(0.01, parameters=ps))
    _close(hist, _ref_run(_adam_ref()))
    sd = opt.state_dict()
    assert list(sd) == ["linear_0.w_0_moment1_0", "linear_0.b_0_moment1_0", "linear_0.w_0_moment2_0",
                        "linear_0.b_0_moment2_0", "linear_0.w_0_beta1_pow_acc_0", "linear_0.b_0_beta1_pow_acc_0",
                        "linear_0.w_0_beta2_pow_acc_0", "linear_0.b_0_beta2_pow_acc_0"]
    assert all(sd[k].name == k for k in sd)
    assert sd["linear_0.w_0_beta1_pow_acc_0"].shape == [1]
    np.testing.assert_allclose(sd["linear_0.w_0_beta1_pow_acc_0"].numpy(), [0.9 ** 4], rtol=1e-6)
    np.testing.assert_allclose(sd["linear_0.b_0_beta2_pow_acc_0"].numpy(), [0.999 ** 4], rtol=1e-6)


def test_adam_custom_betas_epsilon():
    _, _, hist = _run(lambda ps: paddle.optimizer.Adam(0.05, beta1=0.5, beta2=0.8, epsilon=1e-3, parameters=ps))
    _close(hist, _ref_run(_adam_ref(0.05, 0.5, 0.8, 1e-3)))


def test_adamw_decoupled_decay_and_apply_decay_param_fun():
    def make(ps):
        return paddle.optimizer.AdamW(0.01, parameters=ps, weight_decay=0.1,
                                      apply_decay_param_fun=lambda n: n.endswith(".w_0"))
    _, opt, hist = _run(make)
    _close(hist, _ref_run(_adam_ref(coeff=0.1, decay=lambda i: i == 0)))
    assert list(opt.state_dict())[0] == "linear_0.w_0_moment1_0"


def test_adamw_lr_ratio_scales_decay_and_step():
    _, _, hist = _run(lambda ps: paddle.optimizer.AdamW(0.02, parameters=ps, weight_decay=0.1,
                                                        lr_ratio=lambda p: 0.5))
    _close(hist, _ref_run(_adam_ref(lr=0.01, coeff=0.1, decay=lambda i: True)))


def test_momentum_plain_and_nesterov():
    def ref(nesterov):
        def upd(i, p, g, st, s):
            v = 0.9 * st.get("v", 0 * p) + g
            st["v"] = v
            return p - 0.1 * (g + 0.9 * v) if nesterov else p - 0.1 * v
        return upd
    for nesterov in (False, True):
        with unique_name.guard():
            _, opt, hist = _run(lambda ps, n=nesterov: paddle.optimizer.Momentum(0.1, momentum=0.9, use_nesterov=n,
                                                                                 parameters=ps))
            _close(hist, _ref_run(ref(nesterov)))
            assert list(opt.state_dict()) == ["linear_0.w_0_velocity_0", "linear_0.b_0_velocity_0"]


def test_rmsprop_plain_and_centered_with_momentum():
    def ref(centered):
        def upd(i, p, g, st, s):
            ms = 0.9 * st.get("ms", 0 * p) + 0.1 * g * g
            mg = 0.9 * st.get("mg", 0 * p) + 0.1 * g
            den = np.sqrt(ms - mg * mg + 1e-6) if centered else np.sqrt(ms + 1e-6)
            mom = 0.5 * st.get("mom", 0 * p) + 0.01 * g / den
            st.update(ms=ms, mg=mg, mom=mom)
            return p - mom
        return upd
    for centered in (False, True):
        with unique_name.guard():
            _, opt, hist = _run(lambda ps, c=centered: paddle.optimizer.RMSProp(0.01, rho=0.9, epsilon=1e-6,
                                                                                momentum=0.5, centered=c,
                                                                                parameters=ps))
            _close(hist, _ref_run(ref(centered)), rtol=1e-4)
            assert list(opt.state_dict()) == ["linear_0.w_0_momentum_0", "linear_0.b_0_momentum_0",
                                              "linear_0.w_0_mean_square_0", "linear_0.b_0_mean_square_0",
                                              "linear_0.w_0_mean_grad_0", "linear_0.b_0_mean_grad_0"]


def test_adagrad_with_initial_accumulator():
    def upd(i, p, g, st, s):
        m = st.get("m", 0 * p + 0.1) + g * g
        st["m"] = m
        return p - 0.1 * g / (np.sqrt(m) + 1e-6)
    _, opt, hist = _run(lambda ps: paddle.optimizer.Adagrad(0.1, parameters=ps, initial_accumulator_value=0.1))
    _close(hist, _ref_run(upd))
    assert list(opt.state_dict()) == ["linear_0.w_0_moment_0", "linear_0.b_0_moment_0"]


# ---------------------------------------------------------------------------- decay, clip, lr scale
def test_weight_decay_float_l2_l1_and_param_regularizer_precedence():
    L1, L2 = paddle.regularizer.L1Decay, paddle.regularizer.L2Decay
    _, _, hist = _run(lambda ps: paddle.optimizer.SGD(0.1, parameters=ps, weight_decay=0.01))
    _close(hist, _ref_run(lambda i, p, g, st, s: p - 0.1 * (g + 0.01 * p)))
    _, _, hist = _run(lambda ps: paddle.optimizer.SGD(0.1, parameters=ps, weight_decay=L1(0.01)))
    _close(hist, _ref_run(lambda i, p, g, st, s: p - 0.1 * (g + 0.01 * np.sign(p))))
    # the bias carries its own L2Decay(0.5), which wins over the optimizer's L1Decay
    kw = {"bias_attr": paddle.ParamAttr(regularizer=L2(0.5))}
    _, _, hist = _run(lambda ps: paddle.optimizer.SGD(0.1, parameters=ps, weight_decay=L1(0.01)), model_kw=kw)
    _close(hist, _ref_run(lambda i, p, g, st, s: p - 0.1 * (g + (0.5 * p if i == 1 else 0.01 * np.sign(p))),
                          model_kw=kw))


def test_param_attr_learning_rate_scales_the_step():
    kw = {"weight_attr": paddle.ParamAttr(learning_rate=0.5)}
    _, _, hist = _run(lambda ps: paddle.optimizer.SGD(0.1, parameters=ps), model_kw=kw)
    _close(hist, _ref_run(lambda i, p, g, st, s: p - (0.05 if i == 0 else 0.1) * g, model_kw=kw))


def test_clip_grad_by_global_norm():
    def upd_factory():
        cache = {}

        def upd(i, p, g, st, s):
            if i == 0:
                gs = _grads(s, [(3, 2), (2,)])
                norm = np.sqrt(sum((x.astype(np.float64) ** 2).sum() for x in gs))
                cache["scale"] = 0.5 / max(norm, 0.5)
            return p - 0.1 * g * cache["scale"]
        return upd
    _, _, hist = _run(lambda ps: paddle.optimizer.SGD(0.1, parameters=ps,
                                                      grad_clip=paddle.nn.ClipGradByGlobalNorm(0.5)))
    _close(hist, _ref_run(upd_factory()))


def test_clip_grad_by_norm_and_value_and_need_clip():
    def by_norm(i, p, g, st, s):
        n = np.sqrt((g ** 2).sum())
        return p - 0.1 * (g * 0.3 / n if n > 0.3 else g)
    _, _, hist = _run(lambda ps: paddle.optimizer.SGD(0.1, parameters=ps, grad_clip=paddle.nn.ClipGradByNorm(0.3)))
    _close(hist, _ref_run(by_norm))
    kw = {"bias_attr": paddle.ParamAttr(need_clip=False)}
    _, _, hist = _run(lambda ps: paddle.optimizer.SGD(0.1, parameters=ps, grad_clip=paddle.nn.ClipGradByValue(0.2)),
                      model_kw=kw)
    _close(hist, _ref_run(lambda i, p, g, st, s: p - 0.1 * (np.clip(g, -0.2, 0.2) if i == 0 else g), model_kw=kw))


def test_clipping_does_not_modify_param_grads():
    m = _model()
    opt = paddle.optimizer.SGD(0.1, parameters=m.parameters(), grad_clip=paddle.nn.ClipGradByValue(0.01))
    g = np.full([3, 2], 5.0, "float32")
    m.weight.grad = g
    opt.step()
    np.testing.assert_array_equal(m.weight.grad.numpy(), np.full([3, 2], 5.0))


def test_clip_call_form_on_tensor_pairs():
    p = paddle.Parameter(np.zeros(2, "float32"))
    [(q, g)] = paddle.nn.ClipGradByGlobalNorm(1.0)([(p, paddle.to_tensor([3.0, 4.0]))])
    assert q is p
    np.testing.assert_allclose(g.numpy(), [0.6, 0.8], rtol=1e-6)


# ---------------------------------------------------------------------------- names, groups, api
def test_two_optimizers_over_the_same_parameters_get_the_next_counter():
    m = _model()
    a = paddle.optimizer.AdamW(0.01, parameters=m.parameters())
    b = paddle.optimizer.Adam(0.01, parameters=m.parameters())
    for p in m.parameters():
        p.grad = np.ones(p.shape, "float32")
    a.step()
    b.step()
    assert list(a.state_dict())[0] == "linear_0.w_0_moment1_0"
    assert list(b.state_dict())[0] == "linear_0.w_0_moment1_1"


def test_params_without_grad_or_trainable_false_are_skipped():
    m = _model(weight_attr=paddle.ParamAttr(trainable=False))
    opt = paddle.optimizer.Adam(0.01, parameters=m.parameters())
    before = m.weight.numpy().copy()
    m.bias.grad = np.ones(2, "float32")
    opt.step()
    np.testing.assert_array_equal(m.weight.numpy(), before)
    assert list(opt.state_dict()) == ["linear_0.b_0_moment1_0", "linear_0.b_0_moment2_0",
                                      "linear_0.b_0_beta1_pow_acc_0", "linear_0.b_0_beta2_pow_acc_0"]


def test_parameter_groups_with_own_learning_rate_scale_and_options():
    m = _model()
    opt = paddle.optimizer.Momentum(0.1, parameters=[{"params": [m.weight], "learning_rate": 0.5},
                                                     {"params": [m.bias], "momentum": 0.0}])
    w0, b0 = m.weight.numpy().copy(), m.bias.numpy().copy()
    for _ in range(2):
        m.weight.grad = np.ones([3, 2], "float32")
        m.bias.grad = np.ones([2], "float32")
        opt.step()
    np.testing.assert_allclose(m.weight.numpy(), w0 - 0.05 * (1 + 1.9), rtol=1e-6)
    np.testing.assert_allclose(m.bias.numpy(), b0 - 0.1 * 2, rtol=1e-6)
    with pytest.raises(ValueError, match="more than one parameter group"):
        paddle.optimizer.SGD(0.1, parameters=[{"params": [m.weight]}, {"params": [m.weight]}])


def test_clear_grad_and_minimize_and_lr_api():
    m = _model()
    opt = paddle.optimizer.SGD(0.1, parameters=m.parameters())
    x = paddle.ones([1, 3])
    loss = paddle.add(paddle.matmul(x, m.weight), m.bias).sum()
    w0 = m.weight.numpy().copy()
    _, pg = opt.minimize(loss)             # eager minimize runs backward (graph not used yet), then step
    assert [p.name for p, _ in pg] == ["linear_0.w_0", "linear_0.b_0"]
    np.testing.assert_allclose(m.weight.numpy(), w0 - 0.1, rtol=1e-6)
    opt.clear_grad()
    np.testing.assert_array_equal(m.weight.grad.numpy(), np.zeros([3, 2]))
    opt.clear_grad(set_to_zero=False)
    assert m.weight.grad is None
    assert opt.get_lr() == 0.1
    opt.set_lr(0.3)
    assert opt.get_lr() == 0.3
    with pytest.raises(TypeError, match="float"):
        opt.set_lr("x")
    sched = paddle.optimizer.lr.StepDecay(0.1, step_size=1)
    opt2 = paddle.optimizer.SGD(sched, parameters=m.parameters())
    with pytest.raises(RuntimeError, match="LRScheduler"):
        opt2.set_lr(0.1)
    sched.step()
    assert opt2.get_lr() == pytest.approx(0.01)


def test_constructor_errors():
    m = _model()
    with pytest.raises(TypeError, match="learning_rate"):
        paddle.optimizer.SGD("0.1", parameters=m.parameters())
    with pytest.raises(TypeError, match="not a single Tensor"):
        paddle.optimizer.SGD(0.1, parameters=m.weight)
    with pytest.raises(AttributeError, match="should not be None"):
        paddle.optimizer.Adam(0.1)
    with pytest.raises(ValueError, match="beta1"):
        paddle.optimizer.Adam(0.1, beta1=1.5, parameters=m.parameters())
    with pytest.raises(TypeError, match="grad_clip"):
        paddle.optimizer.SGD(0.1, parameters=m.parameters(), grad_clip=1.0)


# ---------------------------------------------------------------------------- state round trips
def _snapshot(model, opt):
    p = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    o = {k: (v.numpy().copy() if hasattr(v, "numpy") else dict(v)) for k, v in opt.state_dict().items()}
    return p, o


FACTORIES = {
    "adam_sched": lambda ps: paddle.optimizer.Adam(paddle.optimizer.lr.StepDecay(0.01, 2, 0.5), parameters=ps),
    "adamw": lambda ps: paddle.optimizer.AdamW(0.01, parameters=ps),
    "momentum_cos": lambda ps: paddle.optimizer.Momentum(paddle.optimizer.lr.CosineAnnealingDecay(0.1, 4),
                                                         use_nesterov=True, parameters=ps),
    "rmsprop": lambda ps: paddle.optimizer.RMSProp(0.01, centered=True, parameters=ps),
    "adagrad": lambda ps: paddle.optimizer.Adagrad(0.1, parameters=ps),
}


def _step(m, opt, s):
    for p, g in zip(m.parameters(), _grads(s, [p.shape for p in m.parameters()])):
        p.grad = g
    opt.step()
    opt.clear_grad()
    from sampan.optimizer.lr import LRScheduler
    if isinstance(opt._learning_rate, LRScheduler):
        opt._learning_rate.step()


@pytest.mark.parametrize("kind", sorted(FACTORIES))
@pytest.mark.parametrize("restore_before_first_step", [True, False])
def test_state_round_trip_gives_bit_identical_next_steps(kind, restore_before_first_step):
    with unique_name.guard():
        m = _model()
        opt = FACTORIES[kind](m.parameters())
        for s in range(2):
            _step(m, opt, s)
        psd, osd = _snapshot(m, opt)
        for s in range(2, 4):
            _step(m, opt, s)
        want = [p.numpy().copy() for p in m.parameters()]
        want_state = {k: v.numpy().copy() for k, v in opt.state_dict().items() if hasattr(v, "numpy")}
    with unique_name.guard():
        m2 = _model(seed=7)
        opt2 = FACTORIES[kind](m2.parameters())
        if not restore_before_first_step:    # accumulators already exist when the state is loaded
            _step(m2, opt2, 9)
        m2.set_state_dict(psd)
        opt2.set_state_dict(osd)
        for s in range(2, 4):
            _step(m2, opt2, s)
    for a, b in zip(want, m2.parameters()):
        np.testing.assert_array_equal(a, b.numpy())
    got_state = opt2.state_dict()
    for k, v in want_state.items():
        np.testing.assert_array_equal(v, got_state[k].numpy(), err_msg=k)


def test_state_dict_lr_scheduler_entry_is_last_and_only_for_schedulers():
    m = _model()
    opt = FACTORIES["adam_sched"](m.parameters())
    _step(m, opt, 0)
    sd = opt.state_dict()
    assert list(sd)[-1] == "LR_Scheduler" and sd["LR_Scheduler"] == {"last_epoch": 1, "last_lr": 0.01}
    opt2 = paddle.optimizer.Adam(0.01, parameters=m.parameters())
    _step(m, opt2, 0)
    assert "LR_Scheduler" not in opt2.state_dict()


def test_set_state_dict_errors_name_the_missing_accumulator():
    m = _model()
    opt = paddle.optimizer.Adam(0.01, parameters=m.parameters())
    _step(m, opt, 0)
    sd = {k: v.numpy() for k, v in opt.state_dict().items() if "moment2" not in k}
    with pytest.raises(KeyError, match="linear_0.w_0_moment2_0"):
        opt.set_state_dict(sd)
    sched_opt = FACTORIES["adam_sched"](m.parameters())
    with pytest.raises(KeyError, match="LR_Scheduler"):
        sched_opt.set_state_dict({})
    bad = {k: v.numpy() for k, v in opt.state_dict().items()}
    bad["linear_0.b_0_moment1_0"] = np.zeros([5], "float32")
    with pytest.raises(ValueError, match="shape mismatch"):
        opt.set_state_dict(bad)


def test_loaded_state_with_other_counters_is_matched_by_parameter_and_kind():
    m = _model()
    opt = paddle.optimizer.Adam(0.01, parameters=m.parameters())
    _step(m, opt, 0)
    saved = {k.replace("moment1_0", "moment1_3"): v.numpy().copy() for k, v in opt.state_dict().items()}
    opt2 = paddle.optimizer.Adam(0.01, parameters=m.parameters())   # its accumulators will be named ..._1
    opt2.set_state_dict(saved)
    _step(m, opt2, 1)
    sd2 = opt2.state_dict()
    assert list(sd2)[0] == "linear_0.w_0_moment1_1"
    np.testing.assert_allclose(sd2["linear_0.w_0_beta1_pow_acc_1"].numpy(), [0.9 ** 3], rtol=1e-6)
