"""``ParamAttr``: how a Layer creates one of its parameters (``paddle.ParamAttr``).

Example:
    >>> import sampan as paddle
    >>> attr = paddle.ParamAttr(name='fc_w', initializer=paddle.nn.initializer.Constant(0.1),
    ...                         learning_rate=0.5, trainable=True)
    >>> lin = paddle.nn.Linear(3, 2, weight_attr=attr)
    >>> lin.weight.name
    'fc_w'
"""
from __future__ import annotations

__all__ = ["ParamAttr", "WeightNormParamAttr"]


class ParamAttr:
    """Name, initializer, per-parameter learning-rate scale, regularizer, trainable and need_clip.

    Args:
        name: parameter name; ``None`` lets the Layer generate ``<full_name>.w_<n>``.
        initializer: an ``nn.initializer.Initializer``; ``None`` uses the layer's default.
        learning_rate: multiplies the optimizer's learning rate for this parameter.
        regularizer: ``L1Decay``/``L2Decay``; overrides the optimizer's ``weight_decay``.
        trainable: ``False`` makes the parameter ``stop_gradient``.
        do_model_average: kept for API compatibility.
        need_clip: ``False`` exempts the parameter from gradient clipping.
    """

    def __init__(self, name=None, initializer=None, learning_rate=1.0, regularizer=None, trainable=True,
                 do_model_average=True, need_clip=True):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"ParamAttr: name must be a str or None. Received: name={name!r}.")
        if not isinstance(learning_rate, (int, float)):
            raise TypeError(f"ParamAttr: learning_rate must be a number. Received: learning_rate={learning_rate!r}.")
        self.name = name
        self.initializer = initializer
        self.learning_rate = float(learning_rate)
        self.regularizer = regularizer
        self.trainable = bool(trainable)
        self.do_model_average = do_model_average
        self.need_clip = need_clip

    def _set_default_initializer(self, initializer):
        if initializer is not None and self.initializer is None:
            self.initializer = initializer

    @staticmethod
    def _to_attr(arg):
        """Normalise what a Layer received as ``weight_attr``/``bias_attr``.

        ``None``/``True`` -> default ``ParamAttr``; ``False`` -> ``False`` (no parameter);
        a str -> the name; an Initializer / regularizer -> that field; lists map element-wise.
        """
        from .initializer import Initializer
        from ..regularizer import WeightDecayRegularizer
        if arg is None or arg is True:
            return ParamAttr()
        if arg is False:
            return False
        if isinstance(arg, ParamAttr):
            return arg
        if isinstance(arg, (list, tuple)):
            return [ParamAttr._to_attr(a) for a in arg]
        if isinstance(arg, str):
            return ParamAttr(name=arg) if arg else ParamAttr()
        if isinstance(arg, Initializer):
            return ParamAttr(initializer=arg)
        if isinstance(arg, WeightDecayRegularizer):
            return ParamAttr(regularizer=arg)
        raise TypeError(f"ParamAttr: cannot build a parameter attribute from {type(arg).__name__}: {arg!r}. "
                        "Pass a ParamAttr, a name, an Initializer, a regularizer, None or False.")

    def __repr__(self):
        return (f"ParamAttr(name={self.name!r}, initializer={self.initializer!r}, learning_rate={self.learning_rate}, "
                f"regularizer={self.regularizer!r}, trainable={self.trainable}, need_clip={self.need_clip})")


class WeightNormParamAttr(ParamAttr):
    """``ParamAttr`` with a weight-norm ``dim`` (accepted for API compatibility)."""

    def __init__(self, dim=None, name=None, initializer=None, learning_rate=1.0, regularizer=None, trainable=True,
                 do_model_average=False, need_clip=True):
        super().__init__(name, initializer, learning_rate, regularizer, trainable, do_model_average, need_clip)
        self.dim = dim
