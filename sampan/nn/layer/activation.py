"""Activation layers: thin wrappers over ``nn.functional`` (only ``PReLU`` has a parameter)."""
from __future__ import annotations

from .. import functional as F
from ..initializer import Constant
from .layers import Layer, functional

__all__ = ["ReLU", "ReLU6", "LeakyReLU", "ELU", "CELU", "SELU", "GELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
           "Hardswish", "Hardsigmoid", "Hardtanh", "Hardshrink", "Softshrink", "Tanhshrink", "Swish", "Silu", "SiLU",
           "Mish", "Softplus", "Softsign", "LogSigmoid", "ThresholdedReLU", "PReLU", "RReLU", "Maxout", "GLU",
           "Softmax2D"]


class _Act(Layer):
    """Calls ``F.<_fn>(x, **self._kw)``."""
    _fn = None

    def __init__(self, name=None, **kw):
        super().__init__()
        self._kw = kw
        self._name = name

    def forward(self, x):
        return functional(self._fn)(x, **self._kw)

    def extra_repr(self):
        return ", ".join(f"{k}={v}" for k, v in self._kw.items())


def _act(cls_name, fn, doc, params=()):
    """Build an activation Layer class whose constructor takes ``params`` ((name, default) pairs)."""
    def __init__(self, *args, name=None, **kwargs):
        kw = {}
        for i, (k, d) in enumerate(params):
            kw[k] = args[i] if i < len(args) else kwargs.pop(k, d)
        if kwargs:
            raise TypeError(f"{cls_name}() got unexpected keyword arguments {sorted(kwargs)}")
        _Act.__init__(self, name=name, **kw)
    return type(cls_name, (_Act,), {"__init__": __init__, "_fn": fn, "__doc__": doc})


ReLU = _act("ReLU", "relu", "``max(x, 0)``.")
ReLU6 = _act("ReLU6", "relu6", "``min(max(x, 0), 6)``.")
LeakyReLU = _act("LeakyReLU", "leaky_relu", "``x if x >= 0 else negative_slope * x``.", (("negative_slope", 0.01),))
ELU = _act("ELU", "elu", "Exponential linear unit.", (("alpha", 1.0),))
CELU = _act("CELU", "celu", "Continuously differentiable ELU.", (("alpha", 1.0),))
SELU = _act("SELU", "selu", "Scaled ELU.", (("scale", 1.0507009873554804934193349852946),
                                             ("alpha", 1.6732632423543772848170429916717)))
GELU = _act("GELU", "gelu", "Gaussian error linear unit (``approximate=True``: tanh form).", (("approximate", False),))
Sigmoid = _act("Sigmoid", "sigmoid", "``1 / (1 + exp(-x))``.")
Tanh = _act("Tanh", "tanh", "Hyperbolic tangent.")
Softmax = _act("Softmax", "softmax", "Softmax along ``axis`` (default -1).", (("axis", -1),))
LogSoftmax = _act("LogSoftmax", "log_softmax", "Log-softmax along ``axis`` (default -1).", (("axis", -1),))
Hardswish = _act("Hardswish", "hardswish", "``x * relu6(x + 3) / 6``.")
Hardsigmoid = _act("Hardsigmoid", "hardsigmoid", "``clip(x / 6 + 0.5, 0, 1)``.")
Hardtanh = _act("Hardtanh", "hardtanh", "Clip into ``[min, max]``.", (("min", -1.0), ("max", 1.0)))
Hardshrink = _act("Hardshrink", "hardshrink", "Zero inside ``[-threshold, threshold]``.", (("threshold", 0.5),))
Softshrink = _act("Softshrink", "softshrink", "Soft shrinkage.", (("threshold", 0.5),))
Tanhshrink = _act("Tanhshrink", "tanhshrink", "``x - tanh(x)``.")
Swish = _act("Swish", "swish", "``x * sigmoid(x)``.")
Silu = _act("Silu", "silu", "``x * sigmoid(x)``.")
SiLU = Silu
Mish = _act("Mish", "mish", "``x * tanh(softplus(x))``.")
Softplus = _act("Softplus", "softplus", "``log(1 + exp(beta * x)) / beta``.", (("beta", 1), ("threshold", 20)))
Softsign = _act("Softsign", "softsign", "``x / (1 + |x|)``.")
LogSigmoid = _act("LogSigmoid", "log_sigmoid", "``log(sigmoid(x))``.")
ThresholdedReLU = _act("ThresholdedReLU", "thresholded_relu", "``x if x > threshold else 0``.",
                       (("threshold", 1.0),))
Maxout = _act("Maxout", "maxout", "Max over groups of channels.", (("groups", 2), ("axis", 1)))
GLU = _act("GLU", "glu", "Gated linear unit.", (("axis", -1),))


class Softmax2D(Layer):
    """Softmax over the channel dim of ``[C, H, W]`` or ``[N, C, H, W]`` input."""

    def forward(self, x):
        if len(x.shape) not in (3, 4):
            raise ValueError(f"Softmax2D: expected a 3-D or 4-D input, received shape {list(x.shape)}.")
        return F.softmax(x, axis=-3)


class RReLU(Layer):
    """Randomized leaky ReLU (slope drawn from ``[lower, upper]`` in training, their mean in eval)."""

    def __init__(self, lower=1.0 / 8.0, upper=1.0 / 3.0, name=None):
        super().__init__()
        self._lower, self._upper = lower, upper

    def forward(self, x):
        return functional("rrelu")(x, lower=self._lower, upper=self._upper, training=self.training)


class PReLU(Layer):
    """``max(0, x) + weight * min(0, x)``; ``_weight`` of shape ``[num_parameters]`` initialised to ``init``
    (parameter ``p_re_lu_<n>.w_0``)."""

    def __init__(self, num_parameters=1, init=0.25, weight_attr=None, data_format="NCHW", name=None):
        super().__init__()
        if not isinstance(num_parameters, int) or num_parameters <= 0:
            raise ValueError(f"PReLU: num_parameters must be a positive int. Received: {num_parameters!r}.")
        self._num_parameters, self._init = num_parameters, init
        self._weight_attr = weight_attr
        self._data_format = data_format
        self._weight = self.create_parameter(attr=weight_attr, shape=[num_parameters], is_bias=False,
                                             default_initializer=Constant(init))

    def forward(self, x):
        return F.prelu(x, self._weight, data_format=self._data_format)

    def extra_repr(self):
        return f"num_parameters={self._num_parameters}, data_format={self._data_format}, init={self._init}"
