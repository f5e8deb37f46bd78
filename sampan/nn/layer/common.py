"""Common layers: ``Linear``, ``Embedding``, ``Dropout``, ``Flatten``, ``Identity``, padding and upsampling."""
from __future__ import annotations

import numbers

import sampan

from .. import functional as F
from .layers import Layer, functional

__all__ = ["Linear", "Identity", "Flatten", "Unflatten", "Dropout", "Dropout2D", "Dropout3D", "AlphaDropout",
           "Embedding", "Pad1D", "Pad2D", "Pad3D", "ZeroPad2D", "Upsample", "UpsamplingNearest2D",
           "UpsamplingBilinear2D", "Bilinear", "CosineSimilarity", "PairwiseDistance", "Unfold", "Fold"]


def _paddle_fn(name):
    fn = getattr(sampan, name, None)
    if fn is None:
        raise NotImplementedError(f"paddle.{name} is not implemented in sampan yet.")
    return fn


class Linear(Layer):
    """``y = x @ weight + bias`` with ``weight`` of shape ``[in_features, out_features]``.

    Default initialisation: weight ``XavierUniform``, bias zeros. Parameters are named
    ``linear_<n>.w_0`` and ``linear_<n>.b_0``.

    Example:
        >>> import sampan as paddle
        >>> lin = paddle.nn.Linear(4, 2)
        >>> lin(paddle.ones([3, 4])).shape
        [3, 2]
    """

    def __init__(self, in_features, out_features, weight_attr=None, bias_attr=None, name=None):
        super().__init__()
        self._weight_attr = weight_attr
        self._bias_attr = bias_attr
        self.weight = self.create_parameter(shape=[in_features, out_features], attr=weight_attr, dtype=self._dtype,
                                            is_bias=False)
        self.bias = self.create_parameter(shape=[out_features], attr=bias_attr, dtype=self._dtype, is_bias=True)
        self.name = name

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        name = f", name={self.name}" if self.name else ""
        return f"in_features={self.weight.shape[0]}, out_features={self.weight.shape[1]}, dtype={self._dtype}{name}"


class Identity(Layer):
    """Returns its input unchanged."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Layer):
    """Flatten dims ``start_axis..stop_axis`` into one (default: all but the batch dim)."""

    def __init__(self, start_axis=1, stop_axis=-1):
        super().__init__()
        self.start_axis = start_axis
        self.stop_axis = stop_axis

    def forward(self, input):
        return sampan.flatten(input, start_axis=self.start_axis, stop_axis=self.stop_axis)

    def extra_repr(self):
        return f"start_axis={self.start_axis}, stop_axis={self.stop_axis}"


class Unflatten(Layer):
    """Split dim ``axis`` into ``shape``."""

    def __init__(self, axis, shape, name=None):
        super().__init__()
        self.axis, self.shape = axis, list(shape)

    def forward(self, input):
        return _paddle_fn("unflatten")(input, self.axis, self.shape)


class Dropout(Layer):
    """Dropout with Paddle's modes (``'upscale_in_train'`` default, or ``'downscale_in_infer'``)."""

    def __init__(self, p=0.5, axis=None, mode="upscale_in_train", name=None):
        super().__init__()
        if not isinstance(p, numbers.Number) or not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be a number in [0, 1]. Received: p={p!r}.")
        if mode not in ("downscale_in_infer", "upscale_in_train"):
            raise ValueError(f"Dropout: mode must be 'downscale_in_infer' or 'upscale_in_train'. Received: {mode!r}.")
        self.p, self.axis, self.mode, self.name = p, axis, mode, name

    def forward(self, input):
        return F.dropout(input, p=self.p, axis=self.axis, training=self.training, mode=self.mode)

    def extra_repr(self):
        return f"p={self.p}, axis={self.axis}, mode={self.mode}"


class Dropout2D(Layer):
    """Drop whole channels of NCHW/NHWC input."""

    def __init__(self, p=0.5, data_format="NCHW", name=None):
        super().__init__()
        self.p, self.data_format = p, data_format

    def forward(self, input):
        return functional("dropout2d")(input, p=self.p, training=self.training, data_format=self.data_format)


class Dropout3D(Layer):
    def __init__(self, p=0.5, data_format="NCDHW", name=None):
        super().__init__()
        self.p, self.data_format = p, data_format

    def forward(self, input):
        return functional("dropout3d")(input, p=self.p, training=self.training, data_format=self.data_format)


class AlphaDropout(Layer):
    def __init__(self, p=0.5, name=None):
        super().__init__()
        self.p = p

    def forward(self, input):
        return functional("alpha_dropout")(input, p=self.p, training=self.training)


class Embedding(Layer):
    """Lookup table ``weight[num_embeddings, embedding_dim]`` (XavierUniform init); the
    ``padding_idx`` row is zero and receives no gradient.

    Example:
        >>> import sampan as paddle
        >>> emb = paddle.nn.Embedding(10, 4, padding_idx=0)
        >>> emb(paddle.to_tensor([[0, 3]])).shape
        [1, 2, 4]
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, sparse=False, weight_attr=None, name=None):
        super().__init__()
        if num_embeddings <= 0:
            raise ValueError(f"Embedding: num_embeddings must be greater than 0. Received: {num_embeddings}.")
        if embedding_dim <= 0:
            raise ValueError(f"Embedding: embedding_dim must be greater than 0. Received: {embedding_dim}.")
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(f"Embedding: padding_idx must be within [-{num_embeddings}, {num_embeddings}). "
                             f"Received: padding_idx={padding_idx}.")
        self._num_embeddings, self._embedding_dim = num_embeddings, embedding_dim
        self._sparse = sparse
        self._padding_idx = padding_idx
        self._weight_attr = weight_attr
        self._name = name
        self._size = [num_embeddings, embedding_dim]
        self.weight = self.create_parameter(attr=weight_attr, shape=self._size, dtype=self._dtype, is_bias=False)
        if padding_idx is not None and isinstance(self.weight, sampan.Tensor):
            self.weight._data[padding_idx % num_embeddings] = 0

    def forward(self, x):
        return F.embedding(x, weight=self.weight, padding_idx=self._padding_idx, sparse=self._sparse)

    def extra_repr(self):
        return f"{self._num_embeddings}, {self._embedding_dim}" + (
            f", padding_idx={self._padding_idx}" if self._padding_idx is not None else "")


def _pad_list(padding, n):
    if isinstance(padding, numbers.Integral):
        return [int(padding)] * n
    padding = list(padding)
    if len(padding) != n:
        raise ValueError(f"expected {n} padding values, received {len(padding)}: {padding}")
    return padding


class _PadNd(Layer):
    _n = 4
    _default_format = "NCHW"

    def __init__(self, padding, mode="constant", value=0.0, data_format=None, name=None):
        super().__init__()
        if mode not in ("constant", "reflect", "replicate", "circular"):
            raise ValueError(f"{type(self).__name__}: mode must be constant, reflect, replicate or circular. "
                             f"Received: {mode!r}.")
        self._pad = padding if hasattr(padding, "shape") else _pad_list(padding, self._n)
        self._mode, self._value = mode, value
        self._data_format = data_format or self._default_format

    def forward(self, x):
        return functional("pad")(x, pad=self._pad, mode=self._mode, value=self._value, data_format=self._data_format)

    def extra_repr(self):
        return f"padding={self._pad}, mode={self._mode}, value={self._value}, data_format={self._data_format}"


class Pad1D(_PadNd):
    _n = 2
    _default_format = "NCL"


class Pad2D(_PadNd):
    """Pad the last two dims of NCHW input by ``[left, right, top, bottom]`` (or one int for all)."""
    _n = 4
    _default_format = "NCHW"


class Pad3D(_PadNd):
    _n = 6
    _default_format = "NCDHW"


class ZeroPad2D(Pad2D):
    def __init__(self, padding, data_format="NCHW", name=None):
        super().__init__(padding, "constant", 0.0, data_format)


_FORMATS = {3: "NCW", 4: "NCHW", 5: "NCDHW"}


class Upsample(Layer):
    """Resize by ``size`` or ``scale_factor`` (modes nearest, bilinear, linear, bicubic, trilinear, area)."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=False, align_mode=0,
                 data_format=None, name=None):
        super().__init__()
        self.size, self.scale_factor = size, scale_factor
        self.mode, self.align_corners, self.align_mode = mode.lower(), align_corners, align_mode
        self.data_format = data_format

    def forward(self, x):
        fmt = self.data_format or _FORMATS.get(len(x.shape), "NCHW")
        return functional("interpolate")(x, size=self.size, scale_factor=self.scale_factor, mode=self.mode,
                             align_corners=self.align_corners, align_mode=self.align_mode, data_format=fmt)

    def extra_repr(self):
        main = f"scale_factor={self.scale_factor}" if self.scale_factor is not None else f"size={self.size}"
        return f"{main}, mode={self.mode}, align_corners={self.align_corners}, align_mode={self.align_mode}"


class UpsamplingNearest2D(Upsample):
    def __init__(self, size=None, scale_factor=None, data_format="NCHW", name=None):
        super().__init__(size, scale_factor, "nearest", False, 0, data_format)


class UpsamplingBilinear2D(Upsample):
    def __init__(self, size=None, scale_factor=None, data_format="NCHW", name=None):
        super().__init__(size, scale_factor, "bilinear", True, 0, data_format)


class Bilinear(Layer):
    """``out[:, k] = x1 @ weight[k] @ x2.T + bias[k]`` with weight ``[out, in1, in2]``."""

    def __init__(self, in1_features, in2_features, out_features, weight_attr=None, bias_attr=None, name=None):
        super().__init__()
        self.weight = self.create_parameter(shape=[out_features, in1_features, in2_features], attr=weight_attr,
                                            dtype=self._dtype, is_bias=False)
        self.bias = self.create_parameter(shape=[1, out_features], attr=bias_attr, dtype=self._dtype, is_bias=True)

    def forward(self, x1, x2):
        return functional("bilinear")(x1, x2, self.weight, self.bias)


class CosineSimilarity(Layer):
    def __init__(self, axis=1, eps=1e-8):
        super().__init__()
        self._axis, self._eps = axis, eps

    def forward(self, x1, x2):
        return functional("cosine_similarity")(x1, x2, axis=self._axis, eps=self._eps)


class PairwiseDistance(Layer):
    def __init__(self, p=2.0, epsilon=1e-6, keepdim=False, name=None):
        super().__init__()
        self.p, self.epsilon, self.keepdim = p, epsilon, keepdim

    def forward(self, x, y):
        return functional("pairwise_distance")(x, y, self.p, self.epsilon, self.keepdim)


class Unfold(Layer):
    def __init__(self, kernel_sizes, strides=1, paddings=0, dilations=1, name=None):
        super().__init__()
        self.kernel_sizes, self.strides, self.paddings, self.dilations = kernel_sizes, strides, paddings, dilations

    def forward(self, input):
        return functional("unfold")(input, self.kernel_sizes, self.strides, self.paddings, self.dilations)


class Fold(Layer):
    def __init__(self, output_sizes, kernel_sizes, strides=1, paddings=0, dilations=1, name=None):
        super().__init__()
        self.output_sizes, self.kernel_sizes = output_sizes, kernel_sizes
        self.strides, self.paddings, self.dilations = strides, paddings, dilations

    def forward(self, input):
        return functional("fold")(input, self.output_sizes, self.kernel_sizes, self.strides, self.paddings,
                                  self.dilations)
