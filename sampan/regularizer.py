"""Weight-decay regularizers (``paddle.regularizer``): ``L1Decay`` and ``L2Decay``.

A regularizer adds its term to a parameter's gradient before the optimizer update
(after gradient clipping, as Paddle orders them). A regularizer set on a parameter through
``ParamAttr(regularizer=...)`` takes precedence over the optimizer's ``weight_decay``.

Example:
    >>> import sampan as paddle
    >>> lin = paddle.nn.Linear(2, 2)
    >>> opt = paddle.optimizer.SGD(0.1, parameters=lin.parameters(),
    ...                            weight_decay=paddle.regularizer.L2Decay(1e-4))
"""
from __future__ import annotations

import numpy as np

__all__ = ["L1Decay", "L2Decay", "WeightDecayRegularizer"]


class WeightDecayRegularizer:
    """Base class: ``term(param_array) -> array`` added to the gradient."""

    def __init__(self, coeff=0.0):
        self._coeff = float(coeff)
        self._regularization_coeff = self._coeff

    @property
    def coeff(self):
        return self._coeff

    def term(self, p):
        raise NotImplementedError

    def apply(self, p, g):
        """The regularized gradient (a new array; ``g`` is not modified)."""
        return g + self.term(p)

    def __call__(self, param, grad, block=None):
        """Paddle's call form: the regularization term for ``param`` as a Tensor / static Variable."""
        from .core.tensor import Tensor
        if isinstance(param, Tensor):
            return Tensor._wrap(self.term(param._data))
        return self._static_term(param)

    def _static_term(self, param):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(coeff={self._coeff})"

    __str__ = __repr__


class L2Decay(WeightDecayRegularizer):
    """L2 weight decay: adds ``coeff * param`` to the gradient.

    Example:
        >>> import sampan as paddle
        >>> paddle.regularizer.L2Decay(coeff=0.01)
        L2Decay(coeff=0.01)
    """

    def term(self, p):
        return p * p.dtype.type(self._coeff)

    def _static_term(self, param):
        from .tensor_api import math as m
        return m.scale(param, self._coeff)


class L1Decay(WeightDecayRegularizer):
    """L1 weight decay: adds ``coeff * sign(param)`` to the gradient.

    Example:
        >>> import sampan as paddle
        >>> paddle.regularizer.L1Decay(coeff=0.01)
        L1Decay(coeff=0.01)
    """

    def term(self, p):
        return np.sign(p) * p.dtype.type(self._coeff)

    def _static_term(self, param):
        from .tensor_api import math as m
        return m.scale(m.sign(param), self._coeff)


# Paddle 1.x / fluid spellings
L1DecayRegularizer = L1Decay
L2DecayRegularizer = L2Decay
