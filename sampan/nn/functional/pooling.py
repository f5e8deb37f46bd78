"""Pooling (``max_pool2d``, ``avg_pool2d``, ``adaptive_*_pool2d`` and their 1-D forms) with the ops and
attributes Paddle 2.6 writes: ``pool2d`` (``use_cudnn=True`` for the fixed-window pools, the op
default False for adaptive average pooling), ``max_pool2d_with_index`` when a mask is requested or
for adaptive max pooling; 1-D pools insert a height of 1 (``unsqueeze2``/``squeeze2``)."""
from __future__ import annotations

from ...core.dispatch import run_op
from ._utils import to_list, update_padding_nd

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
           "adaptive_max_pool1d", "adaptive_max_pool2d"]


def _check_format(data_format, fn):
    if data_format not in ("NCHW", "NHWC"):
        raise ValueError(f"{fn}: data_format must be 'NCHW' or 'NHWC'. Received: {data_format!r}.")


def _check_rank(x, n, fn):
    if len(x.shape) != n:
        raise ValueError(f"{fn}: x must be {n}-D. Received shape {list(x.shape)}.")


def _positive(vals, what, fn):
    if any(v <= 0 for v in vals):
        raise ValueError(f"{fn}: {what} must be positive. Received: {vals}.")


def _pool2d(x, ptype, kernel, stride, pads, algo, ceil_mode, exclusive, data_format):
    attrs = {"pooling_type": ptype, "ksize": kernel, "global_pooling": False, "strides": stride,
             "paddings": pads, "padding_algorithm": algo, "use_cudnn": True, "ceil_mode": bool(ceil_mode),
             "exclusive": bool(exclusive), "data_format": data_format}
    return run_op("pool2d", {"X": x}, attrs)["Out"]


def _window(x, nd, kernel_size, stride, padding, ceil_mode, channel_last, fn):
    """Checked ``(kernel, stride, paddings, padding_algorithm)`` of an ``nd``-D pooling of ``x``."""
    _check_rank(x, nd + 2, fn)
    kernel = to_list(kernel_size, nd, "kernel_size", fn)
    stride = kernel if stride is None else to_list(stride, nd, "stride", fn)
    _positive(kernel + stride, "kernel_size and stride", fn)
    pads, algo = update_padding_nd(padding, nd, channel_last, fn, ceil_mode)
    return kernel, stride, pads, algo


def max_pool2d(x, kernel_size, stride=None, padding=0, return_mask=False, ceil_mode=False, data_format="NCHW",
               name=None):
    """Max pooling over ``kernel_size`` windows (stride defaults to the kernel size).

    Example:
        >>> import sampan as paddle
        >>> import sampan.nn.functional as F
        >>> F.max_pool2d(paddle.arange(16, dtype='float32').reshape([1, 1, 4, 4]), 2).numpy().ravel()
        array([ 5.,  7., 13., 15.], dtype=float32)
    """
    fn = "max_pool2d"
    _check_format(data_format, fn)
    kernel, stride, pads, algo = _window(x, 2, kernel_size, stride, padding, ceil_mode, data_format == "NHWC", fn)
    if return_mask:
        if data_format == "NHWC":
            raise ValueError("max_pool2d: return_mask=True needs data_format 'NCHW'.")
        res = run_op("max_pool2d_with_index", {"X": x},
                     {"ksize": kernel, "strides": stride, "paddings": pads, "global_pooling": False,
                      "adaptive": False})
        return res["Out"], res["Mask"]
    return _pool2d(x, "max", kernel, stride, pads, algo, ceil_mode, True, data_format)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, exclusive=True, divisor_override=None,
               data_format="NCHW", name=None):
    """Average pooling; ``exclusive`` leaves padding out of the divisor, ``divisor_override`` replaces it."""
    fn = "avg_pool2d"
    _check_format(data_format, fn)
    kernel, stride, pads, algo = _window(x, 2, kernel_size, stride, padding, ceil_mode, data_format == "NHWC", fn)
    out = _pool2d(x, "avg", kernel, stride, pads, algo, ceil_mode, exclusive, data_format)
    if divisor_override is None:
        return out
    if not divisor_override or divisor_override < 0:
        raise ValueError(f"avg_pool2d: divisor_override must be a positive number. Received: {divisor_override!r}.")
    from ...tensor_api.math import scale
    return scale(out, float(kernel[0] * kernel[1]) / float(divisor_override))


def _adaptive_size(x, output_size, data_format, fn):
    h, w = (x.shape[1], x.shape[2]) if data_format == "NHWC" else (x.shape[2], x.shape[3])
    if isinstance(output_size, int):
        return [output_size, output_size]
    size = list(output_size)
    if len(size) != 2:
        raise ValueError(f"{fn}: output_size must be an int or 2 values. Received: {output_size!r}.")
    return [int(h if size[0] is None else size[0]), int(w if size[1] is None else size[1])]


def adaptive_avg_pool2d(x, output_size, data_format="NCHW", name=None):
    """Average pooling to a fixed ``output_size`` (windows ``[floor(i*in/out), ceil((i+1)*in/out))``)."""
    fn = "adaptive_avg_pool2d"
    _check_format(data_format, fn)
    _check_rank(x, 4, fn)
    size = _adaptive_size(x, output_size, data_format, fn)
    _positive(size, "output_size", fn)
    return run_op("pool2d", {"X": x}, {"pooling_type": "avg", "ksize": size, "adaptive": True,
                                      "data_format": data_format})["Out"]


def adaptive_max_pool2d(x, output_size, return_mask=False, name=None):
    """Max pooling to a fixed ``output_size`` (op ``max_pool2d_with_index`` with ``adaptive=True``)."""
    fn = "adaptive_max_pool2d"
    _check_rank(x, 4, fn)
    size = _adaptive_size(x, output_size, "NCHW", fn)
    _positive(size, "output_size", fn)
    res = run_op("max_pool2d_with_index", {"X": x}, {"ksize": size, "adaptive": True})
    return (res["Out"], res["Mask"]) if return_mask else res["Out"]


# ---------------------------------------------------------------------------- 1-D forms
def _pads_1d_to_2d(pads):
    return [0, 0] + pads if len(pads) == 2 else [0] + pads


def max_pool1d(x, kernel_size, stride=None, padding=0, return_mask=False, ceil_mode=False, name=None):
    """Max pooling of [N, C, L] (a ``pool2d`` over an inserted height of 1)."""
    from ...tensor_api.manipulation import squeeze, unsqueeze
    fn = "max_pool1d"
    kernel, stride, pads, algo = _window(x, 1, kernel_size, stride, padding, ceil_mode, False, fn)
    x4 = unsqueeze(x, [2])
    if return_mask:
        res = run_op("max_pool2d_with_index", {"X": x4},
                     {"ksize": [1] + kernel, "strides": [1] + stride, "paddings": [0] + pads[:1],
                      "global_pooling": False, "adaptive": False})
        return squeeze(res["Out"], [2]), squeeze(res["Mask"], [2])
    out = _pool2d(x4, "max", [1] + kernel, [1] + stride, _pads_1d_to_2d(pads), algo, ceil_mode, True, "NCHW")
    return squeeze(out, [2])


def avg_pool1d(x, kernel_size, stride=None, padding=0, exclusive=True, ceil_mode=False, name=None):
    """Average pooling of [N, C, L] (a ``pool2d`` over an inserted height of 1)."""
    from ...tensor_api.manipulation import squeeze, unsqueeze
    fn = "avg_pool1d"
    kernel, stride, pads, algo = _window(x, 1, kernel_size, stride, padding, ceil_mode, False, fn)
    out = _pool2d(unsqueeze(x, [2]), "avg", [1] + kernel, [1] + stride, _pads_1d_to_2d(pads), algo, ceil_mode,
                  exclusive, "NCHW")
    return squeeze(out, [2])


def adaptive_avg_pool1d(x, output_size, name=None):
    """Adaptive average pooling of [N, C, L] to ``output_size``."""
    from ...tensor_api.manipulation import squeeze, unsqueeze
    _check_rank(x, 3, "adaptive_avg_pool1d")
    size = to_list(output_size, 1, "output_size", "adaptive_avg_pool1d")
    out = run_op("pool2d", {"X": unsqueeze(x, [2])},
                 {"pooling_type": "avg", "ksize": [1] + size, "adaptive": True})["Out"]
    return squeeze(out, [2])


def adaptive_max_pool1d(x, output_size, return_mask=False, name=None):
    """Adaptive max pooling of [N, C, L] to ``output_size``."""
    from ...tensor_api.manipulation import squeeze, unsqueeze
    _check_rank(x, 3, "adaptive_max_pool1d")
    size = to_list(output_size, 1, "output_size", "adaptive_max_pool1d")
    res = run_op("max_pool2d_with_index", {"X": unsqueeze(x, [2])}, {"ksize": [1] + size, "adaptive": True})
    out = squeeze(res["Out"], [2])
    return (out, squeeze(res["Mask"], [2])) if return_mask else out
