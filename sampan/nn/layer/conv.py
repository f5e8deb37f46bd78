"""Convolution layers: ``Conv1D``, ``Conv2D``, ``Conv3D`` and their transposes.

Weights are ``[out, in/groups, *k]`` (transposed: ``[in, out/groups, *k]``), initialised with
Paddle's default ``Normal(0, sqrt(2 / (prod(k) * in_channels)))`` (transposed convolutions use the
generic ``XavierUniform``); biases zeros.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import functional as F
from ..initializer import Normal
from .layers import Layer, functional

__all__ = ["Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"]

_CHANNEL_LAST = {"NHWC", "NDHWC", "NLC"}


def _to_list(v, n, what):
    if isinstance(v, numbers.Integral):
        return [int(v)] * n
    v = [int(x) for x in v]
    if len(v) != n:
        raise ValueError(f"{what} must be an int or a list of {n} ints. Received: {v}.")
    return v


class _ConvNd(Layer):
    _dims = 2
    _transposed = False
    _fn = None
    _formats = ("NCHW", "NHWC")

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, padding_mode="zeros",
                 output_padding=0, dilation=1, groups=1, weight_attr=None, bias_attr=None, data_format="NCHW"):
        super().__init__()
        name = type(self).__name__
        if weight_attr is False:
            raise ValueError(f"{name}: weight_attr should not be False.")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"{name}: padding_mode must be zeros, reflect, replicate or circular. "
                             f"Received: {padding_mode!r}.")
        if padding_mode != "zeros" and not isinstance(padding, numbers.Integral):
            raise TypeError(f"{name}: when padding_mode is {padding_mode!r}, padding must be an int.")
        if data_format not in self._formats:
            raise ValueError(f"{name}: data_format must be one of {self._formats}. Received: {data_format!r}.")
        if groups <= 0 or in_channels % groups != 0:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups}).")
        if self._transposed and out_channels % groups != 0:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups}).")
        n = self._dims
        self._in_channels, self._out_channels, self._groups = in_channels, out_channels, groups
        self._kernel_size = _to_list(kernel_size, n, "kernel_size")
        self._stride = _to_list(stride, n, "stride")
        self._dilation = _to_list(dilation, n, "dilation")
        self._padding = padding
        self._padding_mode = padding_mode
        self.output_padding = output_padding
        self._data_format = data_format
        self._param_attr, self._bias_attr = weight_attr, bias_attr
        if self._transposed:
            filter_shape = [in_channels, out_channels // groups] + self._kernel_size
            default_init = None
        else:
            filter_shape = [out_channels, in_channels // groups] + self._kernel_size
            std = (2.0 / (float(np.prod(self._kernel_size)) * in_channels)) ** 0.5
            default_init = Normal(0.0, std)
        if padding_mode != "zeros":
            pads = _to_list(padding, n, "padding")
            self._reversed_padding_repeated_twice = [p for p in reversed(pads) for _ in range(2)]
        self.weight = self.create_parameter(shape=filter_shape, attr=weight_attr, default_initializer=default_init)
        self.bias = self.create_parameter(attr=bias_attr, shape=[out_channels], is_bias=True)

    def extra_repr(self):
        s = f"{self._in_channels}, {self._out_channels}, kernel_size={self._kernel_size}"
        if self._stride != [1] * self._dims:
            s += f", stride={self._stride}"
        if self._padding != 0:
            s += f", padding={self._padding}"
        if self._padding_mode != "zeros":
            s += f", padding_mode={self._padding_mode}"
        if self._dilation != [1] * self._dims:
            s += f", dilation={self._dilation}"
        if self._groups != 1:
            s += f", groups={self._groups}"
        return s + f", data_format={self._data_format}"


class _Conv(_ConvNd):
    def forward(self, x):
        padding = self._padding
        if self._padding_mode != "zeros":
            x = F.pad(x, self._reversed_padding_repeated_twice, mode=self._padding_mode,
                      data_format=self._data_format)
            padding = 0
        return functional(self._fn)(x, self.weight, bias=self.bias, stride=self._stride, padding=padding,
                                    dilation=self._dilation, groups=self._groups, data_format=self._data_format)


class _ConvTranspose(_ConvNd):
    _transposed = True

    def forward(self, x, output_size=None):
        return functional(self._fn)(x, self.weight, bias=self.bias, stride=self._stride, padding=self._padding,
                                    output_padding=self.output_padding, dilation=self._dilation,
                                    groups=self._groups, output_size=output_size, data_format=self._data_format)


class Conv1D(_Conv):
    """1-D convolution over ``[N, C, L]`` (``data_format='NCL'``) input; weight ``[out, in/groups, k]``."""
    _dims, _fn, _formats = 1, "conv1d", ("NCL", "NLC")

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 padding_mode="zeros", weight_attr=None, bias_attr=None, data_format="NCL"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, padding_mode, 0, dilation,
                         groups, weight_attr, bias_attr, data_format)


class Conv2D(_Conv):
    """2-D convolution; weight ``[out, in/groups, kh, kw]`` named ``conv2d_<n>.w_0``.

    Example:
        >>> import sampan as paddle
        >>> conv = paddle.nn.Conv2D(3, 4, kernel_size=3, padding=1)
        >>> conv(paddle.ones([1, 3, 8, 8])).shape
        [1, 4, 8, 8]
    """
    _dims, _fn, _formats = 2, "conv2d", ("NCHW", "NHWC")

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 padding_mode="zeros", weight_attr=None, bias_attr=None, data_format="NCHW"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, padding_mode, 0, dilation,
                         groups, weight_attr, bias_attr, data_format)


class Conv3D(_Conv):
    _dims, _fn, _formats = 3, "conv3d", ("NCDHW", "NDHWC")

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 padding_mode="zeros", weight_attr=None, bias_attr=None, data_format="NCDHW"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, padding_mode, 0, dilation,
                         groups, weight_attr, bias_attr, data_format)


class Conv1DTranspose(_ConvTranspose):
    _dims, _fn, _formats = 1, "conv1d_transpose", ("NCL", "NLC")

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 dilation=1, weight_attr=None, bias_attr=None, data_format="NCL"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, "zeros", output_padding,
                         dilation, groups, weight_attr, bias_attr, data_format)


class Conv2DTranspose(_ConvTranspose):
    """2-D transposed convolution; weight ``[in, out/groups, kh, kw]`` named ``conv2d_transpose_<n>.w_0``."""
    _dims, _fn, _formats = 2, "conv2d_transpose", ("NCHW", "NHWC")

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, dilation=1,
                 groups=1, weight_attr=None, bias_attr=None, data_format="NCHW"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, "zeros", output_padding,
                         dilation, groups, weight_attr, bias_attr, data_format)


class Conv3DTranspose(_ConvTranspose):
    _dims, _fn, _formats = 3, "conv3d_transpose", ("NCDHW", "NDHWC")

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, dilation=1,
                 groups=1, weight_attr=None, bias_attr=None, data_format="NCDHW"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, "zeros", output_padding,
                         dilation, groups, weight_attr, bias_attr, data_format)
