"""``optimizer.minimize(loss)`` in a static program: the update ops (sgd, adam, adamw, momentum,
rmsprop, adagrad) with clipping and regularization, run by the Executor, train exactly like eager."""
import numpy as np
import pytest

import sampan as paddle
from sampan.core import unique_name

RNG = np.random.default_rng(0)
W = RNG.uniform(-1, 1, (4, 2)).astype("float32")
B = RNG.uniform(-1, 1, (2,)).astype("float32")
X = RNG.uniform(-1, 1, (5, 4)).astype("float32")
Y = RNG.uniform(-1, 1, (5, 2)).astype("float32")

OPTS = {
    "sgd_l2": lambda ps: paddle.optimizer.SGD(0.1, parameters=ps, weight_decay=0.01),
    "adam_global_norm": lambda ps: paddle.optimizer.Adam(0.1, parameters=ps,
                                                         grad_clip=paddle.nn.ClipGradByGlobalNorm(0.5)),
    "adamw": lambda ps: paddle.optimizer.AdamW(0.1, parameters=ps),
    "momentum_nesterov_l1": lambda ps: paddle.optimizer.Momentum(
        0.1, parameters=ps, use_nesterov=True, weight_decay=paddle.regularizer.L1Decay(0.01)),
    "rmsprop_centered_clip_norm": lambda ps: paddle.optimizer.RMSProp(
        0.1, parameters=ps, centered=True, grad_clip=paddle.nn.ClipGradByNorm(0.2)),
    "adagrad_clip_value": lambda ps: paddle.optimizer.Adagrad(0.1, parameters=ps,
                                                              grad_clip=paddle.nn.ClipGradByValue(0.1)),
}


def _eager(make, steps=3):
    with unique_name.guard():
        lin = paddle.nn.Linear(4, 2)
        lin.set_state_dict({"weight": W, "bias": B})
        opt = make(lin.parameters())
        for _ in range(steps):
            loss = paddle.mean((lin(paddle.to_tensor(X)) - paddle.to_tensor(Y)) ** 2)
            loss.backward()
            opt.step()
            opt.clear_grad()
        return lin.weight.numpy(), lin.bias.numpy(), {k: v.numpy() for k, v in opt.state_dict().items()}


def _static(make, steps=3):
    paddle.enable_static()
    try:
        main, startup = paddle.static.Program(), paddle.static.Program()
        with paddle.static.program_guard(main, startup), unique_name.guard():
            x = paddle.static.data("x", [None, 4], "float32")
            y = paddle.static.data("y", [None, 2], "float32")
            lin = paddle.nn.Linear(4, 2)
            loss = paddle.mean((lin(x) - y) ** 2)
            opt = make(None)
            opt.minimize(loss)
        exe = paddle.static.Executor(paddle.CPUPlace())
        exe.run(startup)
        scope = paddle.static.global_scope()
        scope.set("linear_0.w_0", W.copy())
        scope.set("linear_0.b_0", B.copy())
        for _ in range(steps):
            exe.run(main, feed={"x": X, "y": Y}, fetch_list=[loss])
        accs = {v.name: np.array(scope.get(v.name)) for d in opt._accumulators.values() for v in d.values()}
        return np.array(scope.get("linear_0.w_0")), np.array(scope.get("linear_0.b_0")), accs, main
    finally:
        paddle.disable_static()


@pytest.mark.parametrize("kind", sorted(OPTS))
def test_static_minimize_trains_like_eager(kind):
    w, b, eager_state = _eager(OPTS[kind])
    sw, sb, static_state, main = _static(OPTS[kind])
    np.testing.assert_allclose(sw, w, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(sb, b, rtol=1e-6, atol=1e-7)
    assert sorted(static_state) == sorted(eager_state)       # same accumulator names
    for k, v in eager_state.items():
        np.testing.assert_allclose(static_state[k].reshape(v.shape), v, rtol=1e-6, atol=1e-8, err_msg=k)
    op_type = {"sgd_l2": "sgd", "adam_global_norm": "adam", "adamw": "adamw", "momentum_nesterov_l1": "momentum",
               "rmsprop_centered_clip_norm": "rmsprop", "adagrad_clip_value": "adagrad"}[kind]
    ops = [op.type for op in main.global_block().ops]
    assert ops.count(op_type) == 2
    assert "learning_rate_0" in main.global_block().vars
