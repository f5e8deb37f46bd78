"""``optimizer.Adagrad`` (accumulator ``moment``)."""
from __future__ import annotations

from ..ops.optim import adagrad_update
from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad: ``moment += g*g``; ``p -= lr * g / (sqrt(moment) + epsilon)``.

    Example:
        >>> import sampan as paddle
        >>> lin = paddle.nn.Linear(2, 1)
        >>> opt = paddle.optimizer.Adagrad(learning_rate=0.1, parameters=lin.parameters())
        >>> lin(paddle.ones([1, 2])).sum().backward(); opt.step()
        >>> list(opt.state_dict())
        ['linear_0.w_0_moment_0', 'linear_0.b_0_moment_0']
    """

    _acc_kinds = ("moment",)

    def __init__(self, learning_rate, epsilon=1e-6, parameters=None, weight_decay=None, grad_clip=None, name=None,
                 initial_accumulator_value=0.0):
        if learning_rate is None:
            raise ValueError("Adagrad: learning_rate is not set.")
        if epsilon is None:
            raise ValueError("Adagrad: epsilon is not set.")
        self._epsilon = float(epsilon)
        self._initial_accumulator_value = float(initial_accumulator_value)
        super().__init__(learning_rate, parameters, weight_decay, grad_clip, name)

    def _group_defaults(self):
        return {"epsilon": self._epsilon, "initial_accumulator_value": self._initial_accumulator_value}

    def _create_state(self, param, group):
        return (self._add_accumulator("moment", param, fill_value=group["initial_accumulator_value"]),)

    def _update(self, p, g, accs, lr, group):
        m = accs[0]
        p._data = adagrad_update(p._data, g, m._data, lr, group["epsilon"])   # moment in place

    def _static_acc_specs(self, param):
        return [("moment", self._initial_accumulator_value, None)]

    def _static_update(self, param, grad, lr_var, accs):
        from ..core.dispatch import run_op
        m = accs[0]
        run_op("adagrad", {"Param": param, "Grad": grad, "Moment": m, "LearningRate": lr_var},
               {"epsilon": self._epsilon}, bind={"ParamOut": param, "MomentOut": m})
