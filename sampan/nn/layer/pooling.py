"""Pooling layers (``MaxPool1D/2D/3D``, ``AvgPool1D/2D/3D``, adaptive variants)."""
from __future__ import annotations

from .layers import Layer, functional

__all__ = ["MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D", "AdaptiveAvgPool1D",
           "AdaptiveAvgPool2D", "AdaptiveAvgPool3D", "AdaptiveMaxPool1D", "AdaptiveMaxPool2D", "AdaptiveMaxPool3D"]


class _MaxPool(Layer):
    _fn = "max_pool2d"
    _default_format = "NCHW"

    def __init__(self, kernel_size, stride=None, padding=0, return_mask=False, ceil_mode=False, data_format=None,
                 name=None):
        super().__init__()
        self.ksize, self.stride, self.padding = kernel_size, stride, padding
        self.return_mask, self.ceil_mode = return_mask, ceil_mode
        self.data_format = data_format or self._default_format

    def forward(self, x):
        kw = {"data_format": self.data_format} if self._fn != "max_pool1d" else {}
        return functional(self._fn)(x, kernel_size=self.ksize, stride=self.stride, padding=self.padding,
                                    return_mask=self.return_mask, ceil_mode=self.ceil_mode, **kw)

    def extra_repr(self):
        return f"kernel_size={self.ksize}, stride={self.stride}, padding={self.padding}"


class MaxPool1D(_MaxPool):
    _fn, _default_format = "max_pool1d", "NCL"


class MaxPool2D(_MaxPool):
    """Max pooling over NCHW input (op ``pool2d`` with ``pooling_type='max'``).

    Example:
        >>> import sampan as paddle
        >>> paddle.nn.MaxPool2D(kernel_size=2, stride=2)(paddle.ones([1, 1, 4, 4])).shape
        [1, 1, 2, 2]
    """
    _fn, _default_format = "max_pool2d", "NCHW"


class MaxPool3D(_MaxPool):
    _fn, _default_format = "max_pool3d", "NCDHW"


class _AvgPool(Layer):
    _fn = "avg_pool2d"
    _default_format = "NCHW"

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, exclusive=True, divisor_override=None,
                 data_format=None, name=None):
        super().__init__()
        self.ksize, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.exclusive, self.divisor = ceil_mode, exclusive, divisor_override
        self.data_format = data_format or self._default_format

    def forward(self, x):
        kw = {"divisor_override": self.divisor, "data_format": self.data_format} if self._fn != "avg_pool1d" else {}
        return functional(self._fn)(x, kernel_size=self.ksize, stride=self.stride, padding=self.padding,
                                    ceil_mode=self.ceil_mode, exclusive=self.exclusive, **kw)

    def extra_repr(self):
        return f"kernel_size={self.ksize}, stride={self.stride}, padding={self.padding}"


class AvgPool1D(_AvgPool):
    _fn, _default_format = "avg_pool1d", "NCL"

    def __init__(self, kernel_size, stride=None, padding=0, exclusive=True, ceil_mode=False, name=None):
        super().__init__(kernel_size, stride, padding, ceil_mode, exclusive)


class AvgPool2D(_AvgPool):
    """Average pooling over NCHW input (``exclusive=True`` ignores padding in the count)."""
    _fn, _default_format = "avg_pool2d", "NCHW"


class AvgPool3D(_AvgPool):
    _fn, _default_format = "avg_pool3d", "NCDHW"


class _Adaptive(Layer):
    _fn = "adaptive_avg_pool2d"
    _has_format = True
    _has_mask = False

    def __init__(self, output_size, data_format=None, name=None, return_mask=False):
        super().__init__()
        self._output_size = output_size
        self._data_format = data_format
        self._return_mask = return_mask

    def forward(self, x):
        kw = {}
        if self._has_format and self._data_format is not None:
            kw["data_format"] = self._data_format
        if self._has_mask:
            kw["return_mask"] = self._return_mask
        return functional(self._fn)(x, self._output_size, **kw)

    def extra_repr(self):
        return f"output_size={self._output_size}"


class AdaptiveAvgPool1D(_Adaptive):
    _fn, _has_format = "adaptive_avg_pool1d", False

    def __init__(self, output_size, name=None):
        super().__init__(output_size)


class AdaptiveAvgPool2D(_Adaptive):
    """Average-pool to a fixed ``output_size`` (op ``pool2d`` with ``adaptive=True``)."""
    _fn = "adaptive_avg_pool2d"

    def __init__(self, output_size, data_format="NCHW", name=None):
        super().__init__(output_size, data_format)


class AdaptiveAvgPool3D(_Adaptive):
    _fn = "adaptive_avg_pool3d"

    def __init__(self, output_size, data_format="NCDHW", name=None):
        super().__init__(output_size, data_format)


class AdaptiveMaxPool1D(_Adaptive):
    _fn, _has_format, _has_mask = "adaptive_max_pool1d", False, True

    def __init__(self, output_size, return_mask=False, name=None):
        super().__init__(output_size, return_mask=return_mask)


class AdaptiveMaxPool2D(_Adaptive):
    _fn, _has_format, _has_mask = "adaptive_max_pool2d", False, True

    def __init__(self, output_size, return_mask=False, name=None):
        super().__init__(output_size, return_mask=return_mask)


class AdaptiveMaxPool3D(_Adaptive):
    _fn, _has_format, _has_mask = "adaptive_max_pool3d", False, True

    def __init__(self, output_size, return_mask=False, name=None):
        super().__init__(output_size, return_mask=return_mask)
