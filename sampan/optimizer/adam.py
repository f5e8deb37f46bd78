"""``optimizer.Adam`` (Paddle's formula: bias correction folded into the learning rate and epsilon).

Accumulators per parameter: ``moment1``, ``moment2`` (parameter shape), ``beta1_pow_acc``,
``beta2_pow_acc`` (shape ``[1]``, starting at ``beta1``/``beta2`` and multiplied by them after each
step).
"""
from __future__ import annotations

from ..core.tensor import Tensor
from ..ops.optim import adam_scalars, adam_apply
from .optimizer import Optimizer

__all__ = ["Adam"]


def _beta_value(b, what):
    if isinstance(b, Tensor):
        return float(b.item())
    b = float(b)
    if not 0 <= b < 1:
        raise ValueError(f"Adam: {what} must be in [0, 1). Received: {what}={b}.")
    return b


class Adam(Optimizer):
    """Adam.

    ``lr_t = lr * sqrt(1 - beta2_pow) / (1 - beta1_pow)``;
    ``m1 = beta1*m1 + (1-beta1)*g``; ``m2 = beta2*m2 + (1-beta2)*g*g``;
    ``p -= lr_t * m1 / (sqrt(m2) + epsilon * sqrt(1 - beta2_pow))``.

    Example:
        >>> import sampan as paddle
        >>> lin = paddle.nn.Linear(2, 1)
        >>> adam = paddle.optimizer.Adam(learning_rate=0.01, parameters=lin.parameters())
        >>> lin(paddle.ones([3, 2])).mean().backward()
        >>> adam.step(); adam.clear_grad()
        >>> sorted(adam.state_dict())[0]
        'linear_0.b_0_beta1_pow_acc_0'
    """

    _acc_kinds = ("moment1", "moment2", "beta1_pow_acc", "beta2_pow_acc")
    _moment1_acc_str = "moment1"
    _moment2_acc_str = "moment2"
    _beta1_pow_acc_str = "beta1_pow_acc"
    _beta2_pow_acc_str = "beta2_pow_acc"

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, parameters=None,
                 weight_decay=None, grad_clip=None, lazy_mode=False, multi_precision=False, use_multi_tensor=False,
                 name=None, amsgrad=False):
        if not isinstance(epsilon, Tensor) and not float(epsilon) >= 0:
            raise ValueError(f"Adam: epsilon must be >= 0. Received: epsilon={epsilon}.")
        _beta_value(beta1, "beta1")
        _beta_value(beta2, "beta2")
        if amsgrad:
            raise NotImplementedError("Adam(amsgrad=True) is not supported by sampan yet.")
        self._beta1, self._beta2, self._epsilon = beta1, beta2, epsilon
        self._lazy_mode = lazy_mode
        self._multi_precision = multi_precision
        self._step_cache = {}
        super().__init__(learning_rate, parameters, weight_decay, grad_clip, name)

    def _group_defaults(self):
        return {"beta1": self._beta1, "beta2": self._beta2, "epsilon": self._epsilon}

    def _create_state(self, param, group):
        b1 = _beta_value(group["beta1"], "beta1")
        b2 = _beta_value(group["beta2"], "beta2")
        return (self._add_accumulator("moment1", param),
                self._add_accumulator("moment2", param),
                self._add_accumulator("beta1_pow_acc", param, fill_value=b1, shape=[1]),
                self._add_accumulator("beta2_pow_acc", param, fill_value=b2, shape=[1]))

    def _decay_args(self, p, group):
        return 0.0, 1.0, False

    def step(self):
        self._step_cache = {}
        super().step()

    def _update(self, p, g, accs, lr, group):
        m1, m2, b1p, b2p = accs
        b1, b2, eps = group["beta1"], group["beta2"], group["epsilon"]
        if b1.__class__ is not float or b2.__class__ is not float or eps.__class__ is not float:
            b1, b2, eps = _beta_value(b1, "beta1"), _beta_value(b2, "beta2"), float(eps)
        coeff, ratio, decay = self._decay_args(p, group)
        a1, a2 = b1p._data, b2p._data
        dt = p._data.dtype
        # Parameters normally share beta pow values and options: compute the step scalars and the
        # advanced beta pows once per step (the new [1] arrays are never written in place, so the
        # accumulators can share them).
        key = (dt, lr, a1.item(0), a2.item(0), b1, b2, eps, ratio)
        hit = self._step_cache.get(key)
        if hit is None:
            sc = adam_scalars(dt, lr, a1, a2, b1, b2, eps, ratio)
            hit = self._step_cache[key] = (sc, a1 * a1.dtype.type(b1), a2 * a2.dtype.type(b2))
        sc, n1, n2 = hit
        p._data = adam_apply(p._data, g, m1._data, m2._data, sc, coeff, decay)   # moments in place
        b1p._data, b2p._data = n1, n2

    def _static_acc_specs(self, param):
        return [("moment1", 0.0, None), ("moment2", 0.0, None), ("beta1_pow_acc", float(self._beta1), [1]),
                ("beta2_pow_acc", float(self._beta2), [1])]

    def _static_update(self, param, grad, lr_var, accs):
        from ..core.dispatch import run_op
        m1, m2, b1p, b2p = accs
        attrs = {"beta1": float(self._beta1), "beta2": float(self._beta2), "epsilon": float(self._epsilon),
                 "lazy_mode": self._lazy_mode, "multi_precision": False}
        run_op("adam", {"Param": param, "Grad": grad, "LearningRate": lr_var, "Moment1": m1, "Moment2": m2,
                        "Beta1Pow": b1p, "Beta2Pow": b2p}, attrs,
               bind={"ParamOut": param, "Moment1Out": m1, "Moment2Out": m2, "Beta1PowOut": b1p, "Beta2PowOut": b2p})
