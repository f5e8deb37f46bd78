"""Normalization layers: ``BatchNorm`` (fluid-style), ``BatchNorm1D/2D/3D``, ``LayerNorm``, ``GroupNorm``,
``InstanceNorm1D/2D/3D``, ``LocalResponseNorm``.

Batch norms own ``weight`` (``.w_0``, ones), ``bias`` (``.b_0``, zeros) and the running statistics
``_mean`` (``.w_1``, zeros) and ``_variance`` (``.w_2``, ones), which are non-trainable parameters
(as in Paddle, so they are saved in ``state_dict`` after weight and bias and appear in programs as
persistable parameters). In training, ``F.batch_norm`` updates them in place through the op's
``MeanOut``/``VarianceOut`` outputs bound to these tensors.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import functional as F
from ..initializer import Constant
from ..param_attr import ParamAttr
from .layers import Layer, functional

__all__ = ["BatchNorm", "BatchNorm1D", "BatchNorm2D", "BatchNorm3D", "SyncBatchNorm", "LayerNorm", "GroupNorm",
           "InstanceNorm1D", "InstanceNorm2D", "InstanceNorm3D", "LocalResponseNorm"]


def _lr_zero(attr):
    return isinstance(attr, ParamAttr) and attr.learning_rate == 0.0


class _BatchNormBase(Layer):
    _formats = ("NCHW", "NHWC")

    def __init__(self, num_features, momentum=0.9, epsilon=1e-05, weight_attr=None, bias_attr=None,
                 data_format="NCHW", use_global_stats=None, name=None):
        super().__init__()
        if data_format not in self._formats:
            raise ValueError(f"{type(self).__name__}: data_format must be one of {self._formats}. "
                             f"Received: {data_format!r}.")
        self._num_features = num_features
        self._weight_attr, self._bias_attr = weight_attr, bias_attr
        shape = [num_features]
        if weight_attr is False:
            self.weight = self.create_parameter(attr=None, shape=shape, dtype=self._dtype,
                                                default_initializer=Constant(1.0))
            self.weight.stop_gradient = True
        else:
            self.weight = self.create_parameter(attr=weight_attr, shape=shape, dtype=self._dtype,
                                                default_initializer=Constant(1.0))
            self.weight.stop_gradient = _lr_zero(weight_attr)
        if bias_attr is False:
            self.bias = self.create_parameter(attr=None, shape=shape, dtype=self._dtype,
                                              default_initializer=Constant(0.0), is_bias=True)
            self.bias.stop_gradient = True
        else:
            self.bias = self.create_parameter(attr=bias_attr, shape=shape, dtype=self._dtype, is_bias=True)
            self.bias.stop_gradient = _lr_zero(bias_attr)
        mean_name = name + "_mean" if name is not None else None
        var_name = name + "_variance" if name is not None else None
        self._mean = self.create_parameter(dtype=self._dtype, shape=shape, attr=ParamAttr(
            name=mean_name, initializer=Constant(0.0), trainable=False, do_model_average=True))
        self._mean.stop_gradient = True
        self._variance = self.create_parameter(dtype=self._dtype, shape=shape, attr=ParamAttr(
            name=var_name, initializer=Constant(1.0), trainable=False, do_model_average=True))
        self._variance.stop_gradient = True
        self._data_format = data_format
        self._momentum, self._epsilon = momentum, epsilon
        self._use_global_stats = use_global_stats
        self._name = name

    def _check_input_dim(self, input):
        pass

    def forward(self, input):
        self._check_input_dim(input)
        return F.batch_norm(input, self._mean, self._variance, weight=self.weight, bias=self.bias,
                            training=self.training, momentum=self._momentum, epsilon=self._epsilon,
                            data_format=self._data_format, use_global_stats=self._use_global_stats)

    def extra_repr(self):
        return f"num_features={self._num_features}, momentum={self._momentum}, epsilon={self._epsilon}, " \
               f"data_format={self._data_format}"


def _check_ndim(layer, x, allowed):
    nd = len(x.shape)
    if nd not in allowed:
        raise ValueError(f"{type(layer).__name__}: expected input with {' or '.join(map(str, allowed))} dims, "
                         f"received shape {list(x.shape)}.")


class BatchNorm1D(_BatchNormBase):
    """Batch norm over ``[N, C]`` or ``[N, C, L]`` input."""
    _formats = ("NC", "NCL", "NLC")

    def __init__(self, num_features, momentum=0.9, epsilon=1e-05, weight_attr=None, bias_attr=None,
                 data_format="NCL", use_global_stats=None, name=None):
        super().__init__(num_features, momentum, epsilon, weight_attr, bias_attr, data_format, use_global_stats, name)

    def _check_input_dim(self, input):
        _check_ndim(self, input, (2, 3))


class BatchNorm2D(_BatchNormBase):
    """Batch norm over ``[N, C, H, W]`` input (parameters ``batch_norm2d_<n>.w_0/.b_0/.w_1/.w_2``).

    Example:
        >>> import sampan as paddle
        >>> bn = paddle.nn.BatchNorm2D(4)
        >>> [p.name for p in bn.state_dict().values()]
        ['batch_norm2d_0.w_0', 'batch_norm2d_0.b_0', 'batch_norm2d_0.w_1', 'batch_norm2d_0.w_2']
    """

    def _check_input_dim(self, input):
        _check_ndim(self, input, (4,))


class BatchNorm3D(_BatchNormBase):
    _formats = ("NCDHW", "NDHWC")

    def __init__(self, num_features, momentum=0.9, epsilon=1e-05, weight_attr=None, bias_attr=None,
                 data_format="NCDHW", use_global_stats=None, name=None):
        super().__init__(num_features, momentum, epsilon, weight_attr, bias_attr, data_format, use_global_stats, name)

    def _check_input_dim(self, input):
        _check_ndim(self, input, (5,))


class SyncBatchNorm(BatchNorm2D):
    """Single-process sampan: the same as ``BatchNorm2D`` (accepts any N-C-... input)."""
    _formats = ("NCHW", "NHWC", "NC", "NCL", "NLC", "NCDHW", "NDHWC")

    def _check_input_dim(self, input):
        pass


class BatchNorm(Layer):
    """The fluid-style ``paddle.nn.BatchNorm(num_channels, act=None, ...)`` (parameters ``batch_norm_<n>.*``)."""

    def __init__(self, num_channels, act=None, is_test=False, momentum=0.9, epsilon=1e-05, param_attr=None,
                 bias_attr=None, dtype="float32", data_layout="NCHW", in_place=False, moving_mean_name=None,
                 moving_variance_name=None, do_model_average_for_mean_and_var=True, use_global_stats=False,
                 trainable_statistics=False):
        super().__init__(dtype=dtype)
        self._param_attr, self._bias_attr = param_attr, bias_attr
        self._act = act
        self._is_test = is_test
        shape = [num_channels]
        self.weight = self.create_parameter(attr=param_attr, shape=shape, dtype=self._dtype,
                                            default_initializer=Constant(1.0))
        self.weight.stop_gradient = use_global_stats and _lr_zero(param_attr)
        self.bias = self.create_parameter(attr=bias_attr, shape=shape, dtype=self._dtype, is_bias=True)
        self.bias.stop_gradient = use_global_stats and _lr_zero(bias_attr)
        self._mean = self.create_parameter(dtype=self._dtype, shape=shape, attr=ParamAttr(
            name=moving_mean_name, initializer=Constant(0.0), trainable=False,
            do_model_average=do_model_average_for_mean_and_var))
        self._mean.stop_gradient = True
        self._variance = self.create_parameter(dtype=self._dtype, shape=shape, attr=ParamAttr(
            name=moving_variance_name, initializer=Constant(1.0), trainable=False,
            do_model_average=do_model_average_for_mean_and_var))
        self._variance.stop_gradient = True
        self._momentum, self._epsilon = momentum, epsilon
        self._data_layout = data_layout
        self._use_global_stats = use_global_stats
        self._trainable_statistics = trainable_statistics

    def forward(self, input):
        training = self.training and not self._is_test
        out = F.batch_norm(input, self._mean, self._variance, weight=self.weight, bias=self.bias,
                           training=training, momentum=self._momentum, epsilon=self._epsilon,
                           data_format=self._data_layout, use_global_stats=self._use_global_stats)
        if self._act:
            out = functional(self._act)(out)
        return out


class LayerNorm(Layer):
    """Normalise over the trailing ``normalized_shape`` dims; ``weight`` ones, ``bias`` zeros
    (flattened to ``[prod(normalized_shape)]``)."""

    def __init__(self, normalized_shape, epsilon=1e-05, weight_attr=None, bias_attr=None, name=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = [normalized_shape]
        self._normalized_shape = list(normalized_shape)
        self._epsilon = epsilon
        self._weight_attr, self._bias_attr = weight_attr, bias_attr
        shape = [int(np.prod(self._normalized_shape))]
        self.weight = None if weight_attr is False else self.create_parameter(
            attr=weight_attr, shape=shape, default_initializer=Constant(1.0))
        self.bias = None if bias_attr is False else self.create_parameter(attr=bias_attr, shape=shape, is_bias=True)

    def forward(self, input):
        return F.layer_norm(input, normalized_shape=self._normalized_shape, weight=self.weight, bias=self.bias,
                            epsilon=self._epsilon)

    def extra_repr(self):
        return f"normalized_shape={self._normalized_shape}, epsilon={self._epsilon}"


class GroupNorm(Layer):
    """Group normalization over ``num_groups`` channel groups."""

    def __init__(self, num_groups, num_channels, epsilon=1e-05, weight_attr=None, bias_attr=None,
                 data_format="NCHW", name=None):
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups}).")
        self._num_groups, self._num_channels, self._epsilon = num_groups, num_channels, epsilon
        self._data_format = data_format
        self._weight_attr, self._bias_attr = weight_attr, bias_attr
        shape = [num_channels]
        if weight_attr is False:
            self.weight = self.create_parameter(attr=None, shape=shape, default_initializer=Constant(1.0))
            self.weight.stop_gradient = True
        else:
            self.weight = self.create_parameter(attr=weight_attr, shape=shape, default_initializer=Constant(1.0))
            self.weight.stop_gradient = _lr_zero(weight_attr)
        if bias_attr is False:
            self.bias = self.create_parameter(attr=None, shape=shape, default_initializer=Constant(0.0), is_bias=True)
            self.bias.stop_gradient = True
        else:
            self.bias = self.create_parameter(attr=bias_attr, shape=shape, is_bias=True)
            self.bias.stop_gradient = _lr_zero(bias_attr)

    def forward(self, input):
        return F.group_norm(input, self._num_groups, epsilon=self._epsilon, weight=self.weight, bias=self.bias,
                            data_format=self._data_format)

    def extra_repr(self):
        return f"num_groups={self._num_groups}, num_channels={self._num_channels}, epsilon={self._epsilon}"


class _InstanceNormBase(Layer):
    _default_format = "NCHW"

    def __init__(self, num_features, epsilon=1e-5, momentum=0.9, weight_attr=None, bias_attr=None,
                 data_format=None, name=None):
        super().__init__()
        if weight_attr is False or bias_attr is False:
            if weight_attr is not bias_attr:
                raise ValueError(f"{type(self).__name__}: weight_attr and bias_attr must both be False or neither.")
        self._epsilon, self._momentum = epsilon, momentum
        self._data_format = data_format or self._default_format
        self._num_features = num_features
        if weight_attr is not False and bias_attr is not False:
            self.scale = self.create_parameter(attr=weight_attr, shape=[num_features],
                                               default_initializer=Constant(1.0), is_bias=False)
            self.bias = self.create_parameter(attr=bias_attr, shape=[num_features],
                                              default_initializer=Constant(0.0), is_bias=True)
        else:
            self.scale = None
            self.bias = None

    def forward(self, input):
        return F.instance_norm(input, weight=self.scale, bias=self.bias, eps=self._epsilon,
                               data_format=self._data_format)

    def extra_repr(self):
        return f"num_features={self._num_features}, epsilon={self._epsilon}"


class InstanceNorm1D(_InstanceNormBase):
    _default_format = "NCL"


class InstanceNorm2D(_InstanceNormBase):
    """Instance norm over ``[N, C, H, W]``; parameters ``scale`` (``.w_0``) and ``bias`` (``.b_0``)."""
    _default_format = "NCHW"


class InstanceNorm3D(_InstanceNormBase):
    _default_format = "NCDHW"


class LocalResponseNorm(Layer):
    def __init__(self, size, alpha=0.0001, beta=0.75, k=1.0, data_format="NCHW", name=None):
        super().__init__()
        self.size, self.alpha, self.beta, self.k, self.data_format = size, alpha, beta, k, data_format

    def forward(self, input):
        return functional("local_response_norm")(input, self.size, self.alpha, self.beta, self.k, self.data_format)
