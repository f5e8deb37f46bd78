"""``optimizer.Momentum`` (``velocity`` accumulator; optional Nesterov)."""
from __future__ import annotations

from ..ops.optim import momentum_update
from .optimizer import Optimizer

__all__ = ["Momentum"]


class Momentum(Optimizer):
    """Momentum SGD: ``v = mu*v + g``; ``p -= lr*v`` (Nesterov: ``p -= lr*(g + mu*v)``).

    Example:
        >>> import sampan as paddle
        >>> lin = paddle.nn.Linear(2, 2)
        >>> opt = paddle.optimizer.Momentum(learning_rate=0.1, momentum=0.9, parameters=lin.parameters())
        >>> lin(paddle.ones([1, 2])).sum().backward(); opt.step()
        >>> list(opt.state_dict())
        ['linear_0.w_0_velocity_0', 'linear_0.b_0_velocity_0']
    """

    _acc_kinds = ("velocity",)
    _velocity_acc_str = "velocity"

    def __init__(self, learning_rate=0.001, momentum=0.9, parameters=None, use_nesterov=False, weight_decay=None,
                 grad_clip=None, multi_precision=False, rescale_grad=1.0, use_multi_tensor=False, name=None):
        if momentum is None:
            raise ValueError("Momentum: momentum is not set")
        self._momentum = float(momentum)
        self._use_nesterov = bool(use_nesterov)
        self._rescale_grad = float(rescale_grad)
        self._multi_precision = multi_precision
        super().__init__(learning_rate, parameters, weight_decay, grad_clip, name)

    def _group_defaults(self):
        return {"momentum": self._momentum, "use_nesterov": self._use_nesterov, "rescale_grad": self._rescale_grad}

    def _create_state(self, param, group):
        return (self._add_accumulator("velocity", param),)

    def _update(self, p, g, accs, lr, group):
        v = accs[0]
        p._data = momentum_update(p._data, g, v._data, lr, group["momentum"], group["use_nesterov"],
                                  rescale_grad=group["rescale_grad"])   # velocity in place

    def _static_acc_specs(self, param):
        return [("velocity", 0.0, None)]

    def _static_update(self, param, grad, lr_var, accs):
        from ..core.dispatch import run_op
        v = accs[0]
        run_op("momentum", {"Param": param, "Grad": grad, "Velocity": v, "LearningRate": lr_var},
               {"mu": self._momentum, "use_nesterov": self._use_nesterov, "rescale_grad": self._rescale_grad},
               bind={"ParamOut": param, "VelocityOut": v})
