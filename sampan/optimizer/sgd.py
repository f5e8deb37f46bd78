"""``optimizer.SGD``: ``param -= lr * grad`` (no accumulators)."""
from __future__ import annotations

from ..ops.optim import sgd_update
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent.

    Example:
        >>> import sampan as paddle
        >>> lin = paddle.nn.Linear(2, 1)
        >>> sgd = paddle.optimizer.SGD(learning_rate=0.1, parameters=lin.parameters())
        >>> lin(paddle.ones([3, 2])).mean().backward()
        >>> sgd.step(); sgd.clear_grad()
        >>> sgd.state_dict()
        {}
    """

    _acc_kinds = ()

    def __init__(self, learning_rate=0.001, parameters=None, weight_decay=None, grad_clip=None,
                 multi_precision=False, name=None):
        super().__init__(learning_rate, parameters, weight_decay, grad_clip, name)
        self._multi_precision = multi_precision

    def _create_state(self, param, group):
        return ()

    def _update(self, p, g, accs, lr, group):
        p._data = sgd_update(p._data, g, lr)

    def _static_update(self, param, grad, lr_var, accs):
        from ..core.dispatch import run_op
        run_op("sgd", {"Param": param, "LearningRate": lr_var, "Grad": grad}, {}, bind={"ParamOut": param})
