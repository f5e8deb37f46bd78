"""``optimizer.AdamW``: Adam with decoupled weight decay (``p -= lr * coeff * p`` before the Adam step)."""
from __future__ import annotations

from ..core.tensor import Tensor
from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    """AdamW.

    Args:
        weight_decay: the decay coefficient (float or 0-d Tensor), default 0.01. It is not added to
            the gradient: the parameter is decayed by ``lr * lr_ratio * coeff * p`` in the update.
        lr_ratio: optional ``fn(param) -> float`` scaling the learning rate per parameter (decay and
            update alike, like Paddle's GPU kernel; Paddle's CPU build rejects ``lr_ratio``).
        apply_decay_param_fun: optional ``fn(param.name) -> bool``; parameters for which it returns
            False are not decayed.

    Example:
        >>> import sampan as paddle
        >>> lin = paddle.nn.Linear(2, 1)
        >>> opt = paddle.optimizer.AdamW(learning_rate=0.01, parameters=lin.parameters(), weight_decay=0.01,
        ...                              apply_decay_param_fun=lambda n: not n.endswith('.b_0'))
        >>> lin(paddle.ones([3, 2])).mean().backward()
        >>> opt.step()
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, parameters=None,
                 weight_decay=0.01, lr_ratio=None, apply_decay_param_fun=None, grad_clip=None, lazy_mode=False,
                 multi_precision=False, amsgrad=False, name=None):
        if weight_decay is None:
            weight_decay = 0.0
        if not isinstance(weight_decay, (int, float, Tensor)) or isinstance(weight_decay, bool):
            raise TypeError(f"AdamW: weight_decay must be a float or a Tensor (the decoupled decay coefficient). "
                            f"Received: {type(weight_decay).__name__}.")
        if lr_ratio is not None and not callable(lr_ratio):
            raise TypeError("AdamW: lr_ratio must be a function param -> float.")
        self._coeff = weight_decay
        self._lr_ratio = lr_ratio
        self._apply_decay_param_fun = apply_decay_param_fun
        super().__init__(learning_rate, beta1, beta2, epsilon, parameters, None, grad_clip, lazy_mode,
                         multi_precision, name=name, amsgrad=amsgrad)

    def _group_defaults(self):
        d = super()._group_defaults()
        d["coeff"] = self._coeff
        return d

    def _make_group(self, group):
        # in a group, 'weight_decay' is AdamW's coefficient, not a regularizer
        coeff = group.pop("weight_decay", None)
        if coeff is not None and not isinstance(coeff, (int, float, Tensor)):
            raise TypeError("AdamW: a parameter group's weight_decay must be a float.")
        group = super()._make_group(group)
        if coeff is not None:
            group["coeff"] = coeff
        group["weight_decay"] = None
        return group

    def _decay_args(self, p, group):
        coeff = group["coeff"]
        coeff = float(coeff.item()) if isinstance(coeff, Tensor) else float(coeff)
        decay = self._apply_decay_param_fun is None or bool(self._apply_decay_param_fun(p.name))
        ratio = 1.0 if self._lr_ratio is None else float(self._lr_ratio(p))
        return coeff, ratio, decay

    def _static_update(self, param, grad, lr_var, accs):
        from ..core.dispatch import run_op
        m1, m2, b1p, b2p = accs
        decay = self._apply_decay_param_fun is None or bool(self._apply_decay_param_fun(param.name))
        coeff = self._coeff
        coeff = float(coeff.item()) if isinstance(coeff, Tensor) else float(coeff)
        attrs = {"beta1": float(self._beta1), "beta2": float(self._beta2), "epsilon": float(self._epsilon),
                 "lazy_mode": self._lazy_mode, "multi_precision": False, "coeff": coeff,
                 "lr_ratio": 1.0 if self._lr_ratio is None else float(self._lr_ratio(param)), "with_decay": decay}
        run_op("adamw", {"Param": param, "Grad": grad, "LearningRate": lr_var, "Moment1": m1, "Moment2": m2,
                         "Beta1Pow": b1p, "Beta2Pow": b2p}, attrs,
               bind={"ParamOut": param, "Moment1Out": m1, "Moment2Out": m2, "Beta1PowOut": b1p,
                     "Beta2PowOut": b2p})
