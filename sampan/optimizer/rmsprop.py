"""``optimizer.RMSProp`` (accumulators ``momentum``, ``mean_square``, ``mean_grad``)."""
from __future__ import annotations

from ..ops.optim import rmsprop_update
from .optimizer import Optimizer

__all__ = ["RMSProp"]


class RMSProp(Optimizer):
    """RMSProp: ``ms = rho*ms + (1-rho)*g^2``; ``mom = momentum*mom + lr*g/sqrt(ms + eps)``
    (centered: ``sqrt(ms - mg^2 + eps)`` with ``mg = rho*mg + (1-rho)*g``); ``p -= mom``.

    Example:
        >>> import sampan as paddle
        >>> lin = paddle.nn.Linear(2, 1)
        >>> opt = paddle.optimizer.RMSProp(learning_rate=0.01, parameters=lin.parameters())
        >>> lin(paddle.ones([1, 2])).sum().backward(); opt.step()
        >>> list(opt.state_dict())[0]
        'linear_0.w_0_momentum_0'
    """

    _acc_kinds = ("momentum", "mean_square", "mean_grad")

    def __init__(self, learning_rate, rho=0.95, epsilon=1e-6, momentum=0.0, centered=False, parameters=None,
                 weight_decay=None, grad_clip=None, name=None):
        if learning_rate is None:
            raise ValueError("RMSProp: learning_rate is not set.")
        if not 0.0 <= epsilon:
            raise ValueError("RMSProp: epsilon must be >= 0.")
        if not 0.0 <= momentum:
            raise ValueError("RMSProp: momentum must be >= 0.")
        if not 0.0 <= rho:
            raise ValueError("RMSProp: rho must be >= 0.")
        self._rho, self._epsilon, self._momentum, self._centered = float(rho), float(epsilon), float(momentum), centered
        super().__init__(learning_rate, parameters, weight_decay, grad_clip, name)

    def _group_defaults(self):
        return {"rho": self._rho, "epsilon": self._epsilon, "momentum": self._momentum, "centered": self._centered}

    def _create_state(self, param, group):
        return (self._add_accumulator("momentum", param), self._add_accumulator("mean_square", param),
                self._add_accumulator("mean_grad", param))

    def _update(self, p, g, accs, lr, group):
        mom, ms, mg = accs
        p._data = rmsprop_update(p._data, g, ms._data, mg._data, mom._data, lr, group["epsilon"], group["rho"],
                                 group["momentum"], group["centered"])   # accumulators in place

    def _static_acc_specs(self, param):
        return [("momentum", 0.0, None), ("mean_square", 0.0, None), ("mean_grad", 0.0, None)]

    def _static_update(self, param, grad, lr_var, accs):
        from ..core.dispatch import run_op
        mom, ms, mg = accs
        run_op("rmsprop", {"Param": param, "MeanSquare": ms, "MeanGrad": mg, "LearningRate": lr_var, "Grad": grad,
                           "Moment": mom},
               {"epsilon": self._epsilon, "decay": self._rho, "momentum": self._momentum, "centered": self._centered},
               bind={"ParamOut": param, "MomentOut": mom, "MeanSquareOut": ms, "MeanGradOut": mg})
