"""Convolutions (``conv1d``, ``conv2d``, ``conv1d_transpose``, ``conv2d_transpose``) built as Paddle 2.6
builds them: ``conv2d`` (``depthwise_conv2d`` when groups == in_channels and the filters divide), the
bias added by ``reshape2`` to ``[1, C, 1, 1]`` + ``elementwise_add(axis=-1)`` (NCHW), 1-D
convolutions as ``unsqueeze2`` + the 2-D op + ``squeeze2``."""
from __future__ import annotations

from ...core.dispatch import run_op
from ._utils import to_list, update_padding_nd

__all__ = ["conv1d", "conv2d", "conv1d_transpose", "conv2d_transpose"]


def _add_bias_2d(out, bias, channel_last):
    from ...tensor_api.manipulation import reshape
    from ...tensor_api.math import add
    if channel_last:
        return add(out, bias)
    return add(out, reshape(bias, [1, int(bias.shape[0]), 1, 1]))


def _channels(x, channel_last, fn):
    c = x.shape[-1] if channel_last else x.shape[1]
    if c is None or c < 0:
        raise ValueError(f"{fn}: the channel dimension of x must be known. Received x of shape {list(x.shape)}.")
    return int(c)


def _check_groups(c, groups, fn, x):
    if not isinstance(groups, int) or groups <= 0:
        raise ValueError(f"{fn}: groups must be a positive int. Received: {groups!r}.")
    if c % groups:
        raise ValueError(f"{fn}: the channel count {c} of x {list(x.shape)} must be divisible by groups={groups}.")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, data_format="NCHW", name=None):
    """2-D convolution of ``x`` (NCHW or NHWC) with ``weight`` [out_c, in_c/groups, kh, kw].

    ``padding``: 'SAME', 'VALID', an int, [ph, pw], [top, bottom, left, right] or 4 pairs.

    Example:
        >>> import sampan as paddle
        >>> import sampan.nn.functional as F
        >>> F.conv2d(paddle.ones([1, 2, 5, 5]), paddle.ones([3, 2, 3, 3]), padding=1).shape
        [1, 3, 5, 5]
    """
    if data_format not in ("NCHW", "NHWC"):
        raise ValueError(f"conv2d: data_format must be 'NCHW' or 'NHWC'. Received: {data_format!r}.")
    channel_last = data_format == "NHWC"
    if len(x.shape) != 4:
        raise ValueError(f"conv2d: x must be 4-D ({data_format}). Received shape {list(x.shape)}.")
    c = _channels(x, channel_last, "conv2d")
    _check_groups(c, groups, "conv2d", x)
    pads, algo = update_padding_nd(padding, 2, channel_last, "conv2d")
    attrs = {"strides": to_list(stride, 2, "stride", "conv2d"), "paddings": pads, "padding_algorithm": algo,
             "dilations": to_list(dilation, 2, "dilation", "conv2d"), "groups": groups, "data_format": data_format}
    n_filters = int(weight.shape[0])
    op_type = "depthwise_conv2d" if (c == groups and c != 1 and n_filters % c == 0) else "conv2d"
    out = run_op(op_type, {"Input": x, "Filter": weight}, attrs)["Output"]
    if bias is not None:
        out = _add_bias_2d(out, bias, channel_last)
    return out


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, data_format="NCL", name=None):
    """1-D convolution of ``x`` (NCL or NLC) with ``weight`` [out_c, in_c/groups, k], computed as a
    ``conv2d`` over an inserted height of 1 (as Paddle does)."""
    from ...tensor_api.manipulation import squeeze, unsqueeze
    if data_format not in ("NCL", "NLC"):
        raise ValueError(f"conv1d: data_format must be 'NCL' or 'NLC'. Received: {data_format!r}.")
    if len(x.shape) != 3:
        raise ValueError(f"conv1d: x must be 3-D ({data_format}). Received shape {list(x.shape)}.")
    channel_last = data_format == "NLC"
    c = _channels(x, channel_last, "conv1d")
    _check_groups(c, groups, "conv1d", x)
    pads, algo = update_padding_nd(padding, 1, channel_last, "conv1d")
    pads = [0, 0] + pads if len(pads) == 2 else [0] + pads
    attrs = {"strides": [1] + to_list(stride, 1, "stride", "conv1d"), "paddings": pads, "padding_algorithm": algo,
             "dilations": [1] + to_list(dilation, 1, "dilation", "conv1d"), "groups": groups,
             "data_format": "NHWC" if channel_last else "NCHW"}
    axis = -3 if channel_last else -2
    x4 = unsqueeze(x, [axis])
    w4 = unsqueeze(weight, [-2])
    out = run_op("conv2d", {"Input": x4, "Filter": w4}, attrs)["Output"]
    if bias is not None:
        out = run_op("elementwise_add", {"X": out, "Y": bias}, {"axis": -1 if channel_last else 1})["Out"]
    return squeeze(out, [axis])


def _transpose_args(fn, x, weight, stride, padding, output_padding, dilation, groups, output_size, data_format,
                    n):
    channel_last = data_format in ("NHWC", "NLC")
    c = _channels(x, channel_last, fn)
    _check_groups(c, groups, fn, x)
    pads, algo = update_padding_nd(padding, n, channel_last, fn)
    if output_size is None:
        osize = []
    else:
        if output_padding != 0:
            raise ValueError(f"{fn}: output_padding and output_size are mutually exclusive.")
        osize = to_list(output_size, n, "output_size", fn)
    opad = [] if output_padding == 0 else to_list(output_padding, n, "output_padding", fn)
    return c, channel_last, pads, algo, osize, opad


def conv2d_transpose(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                     output_size=None, data_format="NCHW", name=None):
    """Transposed 2-D convolution; ``weight`` is [in_c, out_c/groups, kh, kw] (op ``conv2d_transpose``,
    ``depthwise_conv2d_transpose`` when groups == in_channels and each group has one filter)."""
    if data_format not in ("NCHW", "NHWC"):
        raise ValueError(f"conv2d_transpose: data_format must be 'NCHW' or 'NHWC'. Received: {data_format!r}.")
    if len(x.shape) != 4:
        raise ValueError(f"conv2d_transpose: x must be 4-D ({data_format}). Received shape {list(x.shape)}.")
    c, channel_last, pads, algo, osize, opad = _transpose_args(
        "conv2d_transpose", x, weight, stride, padding, output_padding, dilation, groups, output_size,
        data_format, 2)
    attrs = {"output_padding": opad, "output_size": osize, "strides": to_list(stride, 2, "stride", "conv2d_transpose"),
             "paddings": pads, "padding_algorithm": algo,
             "dilations": to_list(dilation, 2, "dilation", "conv2d_transpose"), "groups": groups,
             "data_format": data_format}
    op_type = "conv2d_transpose"
    if c == groups and c != 1 and int(weight.shape[1]) == 1:
        op_type = "depthwise_conv2d_transpose"
    out = run_op(op_type, {"Input": x, "Filter": weight}, attrs)["Output"]
    if bias is not None:
        out = run_op("elementwise_add", {"X": out, "Y": bias}, {"axis": -1 if channel_last else 1})["Out"]
    return out


def conv1d_transpose(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
                     output_size=None, data_format="NCL", name=None):
    """Transposed 1-D convolution, computed as ``conv2d_transpose`` over an inserted height of 1."""
    from ...tensor_api.manipulation import squeeze, unsqueeze
    if data_format not in ("NCL", "NLC"):
        raise ValueError(f"conv1d_transpose: data_format must be 'NCL' or 'NLC'. Received: {data_format!r}.")
    if len(x.shape) != 3:
        raise ValueError(f"conv1d_transpose: x must be 3-D ({data_format}). Received shape {list(x.shape)}.")
    c, channel_last, pads, algo, osize, opad = _transpose_args(
        "conv1d_transpose", x, weight, stride, padding, output_padding, dilation, groups, output_size,
        data_format, 1)
    pads = [0, 0] + pads if len(pads) == 2 else [0] + pads
    attrs = {"output_padding": [0] + opad if opad else [], "output_size": [1] + osize if osize else [],
             "strides": [1] + to_list(stride, 1, "stride", "conv1d_transpose"), "paddings": pads,
             "padding_algorithm": algo, "dilations": [1] + to_list(dilation, 1, "dilation", "conv1d_transpose"),
             "groups": groups, "data_format": "NHWC" if channel_last else "NCHW"}
    axis = -3 if channel_last else -2
    out = run_op("conv2d_transpose", {"Input": unsqueeze(x, [axis]), "Filter": unsqueeze(weight, [-2])},
                 attrs)["Output"]
    if bias is not None:
        out = run_op("elementwise_add", {"X": out, "Y": bias}, {"axis": -1 if channel_last else 1})["Out"]
    return squeeze(out, [axis])
