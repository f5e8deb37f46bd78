"""``linear``, ``dropout`` (and ``dropout2d/3d``), ``pad``/``zeropad2d``, ``interpolate``/``upsample``,
``label_smooth``, ``cosine_similarity`` with Paddle 2.6's ops and attributes."""
from __future__ import annotations

import numbers

import numpy as np

from ...core.dispatch import run_op
from ._utils import ndim

__all__ = ["linear", "dropout", "dropout2d", "dropout3d", "pad", "zeropad2d", "interpolate", "upsample",
           "label_smooth", "cosine_similarity"]


def linear(x, weight, bias=None, name=None):
    """``x @ weight + bias`` with ``weight`` [in_features, out_features] (ops ``matmul_v2`` and
    ``elementwise_add(axis=-1)``, as ``nn.Linear`` exports).

    Example:
        >>> import sampan as paddle
        >>> import sampan.nn.functional as F
        >>> F.linear(paddle.ones([2, 3]), paddle.ones([3, 4]), paddle.zeros([4])).shape
        [2, 4]
    """
    if weight.ndim == 2 and (bias is None or bias.ndim == 1):
        # one fused op eagerly; programs get matmul_v2 + elementwise_add (the op's static form)
        return run_op("linear", {"X": x, "W": weight, "Bias": bias})["Out"]
    out = run_op("matmul_v2", {"X": x, "Y": weight}, {"trans_x": False, "trans_y": False})["Out"]
    if bias is not None:
        out = run_op("elementwise_add", {"X": out, "Y": bias}, {"axis": -1})["Out"]
    return out


# ---------------------------------------------------------------------------- dropout
def _check_p(p, fn):
    if not isinstance(p, (numbers.Real,)) or isinstance(p, bool):
        raise TypeError(f"{fn}: p must be a number. Received: {p!r}.")
    if p < 0 or p > 1:
        raise ValueError(f"{fn}: p must be in [0, 1]. Received: {p}.")


def dropout(x, p=0.5, axis=None, training=True, mode="upscale_in_train", name=None):
    """Zero each element with probability ``p`` (op ``dropout``). ``upscale_in_train`` scales the kept
    ones by ``1/(1-p)`` while training; ``downscale_in_infer`` instead scales by ``1-p`` at inference.
    With ``axis`` one draw is shared along the other dims.

    Example:
        >>> import sampan as paddle
        >>> import sampan.nn.functional as F
        >>> F.dropout(paddle.ones([3]), 0.5, training=False).numpy()
        array([1., 1., 1.], dtype=float32)
    """
    _check_p(p, "dropout")
    if mode not in ("downscale_in_infer", "upscale_in_train"):
        raise ValueError(f"dropout: mode must be 'upscale_in_train' or 'downscale_in_infer'. Received: {mode!r}.")
    if p == 0:
        return x
    if axis is None:
        impl = "downgrade_in_infer" if mode == "downscale_in_infer" else mode
        return run_op("dropout", {"X": x}, {"dropout_prob": float(p), "is_test": not training,
                                            "dropout_implementation": impl})["Out"]
    return _dropout_axis(x, p, axis, training, mode)


def _dropout_axis(x, p, axis, training, mode):
    from ...tensor_api import math as m
    from ...tensor_api.logic import greater_equal
    from ...tensor_api.creation import full
    if not training:
        return x if mode == "upscale_in_train" else m.scale(x, 1.0 - p)
    axes = [axis] if isinstance(axis, int) else list(axis)
    nd = ndim(x)
    if not axes or min(axes) < 0 or max(axes) > nd - 1 or len(axes) > nd:
        raise ValueError(f"dropout: axis {axis!r} is out of range for x of shape {list(x.shape)}.")
    mask_shape = [1] * nd
    for a in axes:
        mask_shape[a] = int(x.shape[a])
    rand = run_op("uniform_random", {}, {"shape": mask_shape, "dtype": 5, "min": 0.0, "max": 1.0, "seed": 0})["Out"]
    keep = greater_equal(rand, full([1], float(p), dtype="float32"))
    scaled = m.scale(x, 1.0 / (1.0 - p)) if (mode == "upscale_in_train" and p < 1) else x
    if p == 1:
        scaled = m.scale(x, 0.0)
    return m.multiply(scaled, m.cast(keep, x.dtype))


def _channel_dropout(x, p, training, data_format, nd, fn):
    if ndim(x) != nd:
        raise ValueError(f"{fn}: x must be {nd}-D. Received shape {list(x.shape)}.")
    axis = [0, nd - 1] if data_format[-1] == "C" else [0, 1]
    return dropout(x, p=p, axis=axis, training=training, mode="upscale_in_train")


def dropout2d(x, p=0.5, training=True, data_format="NCHW", name=None):
    """Drop whole channels of [N, C, H, W] with probability ``p``."""
    if data_format not in ("NCHW", "NHWC"):
        raise ValueError(f"dropout2d: data_format must be 'NCHW' or 'NHWC'. Received: {data_format!r}.")
    return _channel_dropout(x, p, training, data_format, 4, "dropout2d")


def dropout3d(x, p=0.5, training=True, data_format="NCDHW", name=None):
    """Drop whole channels of [N, C, D, H, W] with probability ``p``."""
    if data_format not in ("NCDHW", "NDHWC"):
        raise ValueError(f"dropout3d: data_format must be 'NCDHW' or 'NDHWC'. Received: {data_format!r}.")
    return _channel_dropout(x, p, training, data_format, 5, "dropout3d")


# ---------------------------------------------------------------------------- pad
_PAD_FORMATS = {3: ("NCL", "NLC"), 4: ("NCHW", "NHWC"), 5: ("NCDHW", "NDHWC")}


def pad(x, pad, mode="constant", value=0.0, data_format=None, name=None):  # noqa: A002
    """Pad ``x``. A constant pad listing ``2 * x.ndim`` values pads every dim (op ``pad``, pairs in
    dim order); otherwise ``pad`` lists the spatial pads last dim first, ``[left, right, top, bottom,
    front, back]`` (op ``pad3d`` after inserting dims for 3-D/4-D input), with ``mode`` one of
    constant, reflect, replicate, circular."""
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be constant, reflect, replicate or circular. Received: {mode!r}.")
    nd = ndim(x)
    if not _is_value(pad):
        pad = [int(v) for v in pad]
        if mode == "constant" and len(pad) == 2 * nd:
            return run_op("pad", {"X": x}, {"paddings": pad, "pad_value": float(value)})["Out"]
    if nd not in _PAD_FORMATS:
        raise ValueError(f"pad: x must be 3-D, 4-D or 5-D for mode {mode!r} (or give 2 * ndim pads for constant "
                         f"mode). Received shape {list(x.shape)}.")
    data_format = data_format or _PAD_FORMATS[nd][0]
    if data_format not in _PAD_FORMATS[nd]:
        raise ValueError(f"pad: data_format for {nd}-D x must be one of {_PAD_FORMATS[nd]}. "
                         f"Received: {data_format!r}.")
    from ...tensor_api.manipulation import squeeze, unsqueeze
    channel_last = data_format[-1] == "C"
    fmt3d = "NDHWC" if channel_last else "NCDHW"
    unsq = []
    if _is_value(pad):
        if nd != 5:
            raise ValueError("pad: a Tensor pad is supported for 5-D x only.")
        return run_op("pad3d", {"X": x, "Paddings": pad}, {"mode": mode, "value": float(value),
                                                           "data_format": fmt3d})["Out"]
    expect = 2 * (nd - 2)
    if len(pad) != expect:
        raise ValueError(f"pad: {nd}-D x needs {expect} pad values (or {2 * nd} for constant mode). "
                         f"Received: {pad}.")
    if nd == 3:
        pad = [0, 0, 0, 0] + pad
        unsq = [2, 3] if channel_last else [3, 4]
    elif nd == 4:
        pad = pad + [0, 0]
        unsq = [1] if channel_last else [2]
    if unsq:
        x = unsqueeze(x, unsq)
    out = run_op("pad3d", {"X": x}, {"paddings": pad, "mode": mode, "value": float(value),
                                     "data_format": fmt3d})["Out"]
    return squeeze(out, unsq) if unsq else out


def zeropad2d(x, padding, data_format="NCHW", name=None):
    """Zero-pad H and W by ``[left, right, top, bottom]`` (or one int for all four)."""
    p = [int(padding)] * 4 if isinstance(padding, numbers.Integral) else [int(v) for v in padding]
    return pad(x, p, mode="constant", value=0.0, data_format=data_format)


def _is_value(v):
    from ...core.tensor import _MathMixin
    return isinstance(v, _MathMixin)


# ---------------------------------------------------------------------------- interpolate
_MODES = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}


def _interp_size_attrs(x, size, scale_factor, attrs, ins):
    nsp = ndim(x) - 2
    if size is not None:
        if _is_value(size):
            ins["OutSize"] = size
            return
        size = list(size) if isinstance(size, (list, tuple)) else [size] * nsp
        if len(size) != nsp:
            raise ValueError(f"interpolate: size must have {nsp} values for x of shape {list(x.shape)}. "
                             f"Received: {size}.")
        if any(_is_value(s) for s in size):
            from ...tensor_api.creation import full
            ins["SizeTensor"] = [s if _is_value(s) else full([1], int(s), dtype="int32") for s in size]
            size = [-1 if _is_value(s) else int(s) for s in size]
        elif any(int(s) <= 0 for s in size):
            raise ValueError(f"interpolate: every size must be positive. Received: {size}.")
        for k, s in zip(["out_d", "out_h", "out_w"][3 - nsp:], size):
            attrs[k] = int(s)
        return
    if _is_value(scale_factor):
        ins["Scale"] = scale_factor
        return
    if isinstance(scale_factor, (numbers.Real, np.ndarray)):
        if float(scale_factor) <= 0:
            raise ValueError(f"interpolate: scale_factor must be positive. Received: {scale_factor}.")
        attrs["scale"] = [float(scale_factor)] * nsp
    elif isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != nsp or any(float(s) <= 0 for s in scale_factor):
            raise ValueError(f"interpolate: scale_factor must hold {nsp} positive values. Received: {scale_factor}.")
        attrs["scale"] = [float(s) for s in scale_factor]
    else:
        raise TypeError(f"interpolate: scale_factor must be a number, a list or a Tensor. Received: {scale_factor!r}.")


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=False, align_mode=0,
                data_format="NCHW", name=None):
    """Resize the spatial dims of ``x`` to ``size`` or by ``scale_factor`` (ops ``<mode>_interp_v2``;
    ``area`` is adaptive average pooling).

    Example:
        >>> import sampan as paddle
        >>> import sampan.nn.functional as F
        >>> F.interpolate(paddle.ones([1, 1, 2, 2]), scale_factor=2).shape
        [1, 1, 4, 4]
    """
    method = mode.lower()
    nd = ndim(x)
    if method not in ("linear", "bilinear", "trilinear", "nearest", "bicubic", "area"):
        raise ValueError(f"interpolate: mode must be linear, bilinear, trilinear, nearest, bicubic or area. "
                         f"Received: {mode!r}.")
    if method in _MODES and nd != _MODES[method]:
        raise ValueError(f"interpolate: mode {mode!r} needs a {_MODES[method]}-D x. Received shape {list(x.shape)}.")
    if method == "nearest" and nd not in (4, 5):
        raise ValueError(f"interpolate: mode 'nearest' needs a 4-D or 5-D x. Received shape {list(x.shape)}.")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor.")
    if not isinstance(align_corners, bool):
        raise TypeError(f"interpolate: align_corners must be a bool. Received: {align_corners!r}.")
    if align_mode not in (0, 1):
        raise ValueError(f"interpolate: align_mode must be 0 or 1. Received: {align_mode!r}.")
    if align_corners and method == "nearest":
        raise ValueError("interpolate: align_corners can only be set with the linear, bilinear, bicubic and "
                         "trilinear modes.")
    if method == "area":
        from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d
        if nd == 3:
            return adaptive_avg_pool1d(x, size)
        if nd == 4:
            return adaptive_avg_pool2d(x, size)
        raise ValueError(f"interpolate: mode 'area' supports 3-D and 4-D x here. Received shape {list(x.shape)}.")
    fmt = data_format.upper()
    layouts = {3: ("NCW", "NWC"), 4: ("NCHW", "NHWC"), 5: ("NCDHW", "NDHWC")}[nd]
    if fmt not in layouts:
        raise ValueError(f"interpolate: data_format for {nd}-D x must be one of {layouts}. Received: {data_format!r}.")
    attrs = {"out_d": -1, "out_h": -1, "out_w": -1, "scale": [], "interp_method": method,
             "align_corners": bool(align_corners), "align_mode": int(align_mode),
             "data_layout": "NCHW" if fmt in ("NCHW", "NCDHW", "NCW") else "NHWC"}
    ins = {"X": x}
    _interp_size_attrs(x, size, scale_factor, attrs, ins)
    return run_op(f"{method}_interp_v2", ins, attrs)["Out"]


def upsample(x, size=None, scale_factor=None, mode="nearest", align_corners=False, align_mode=0,
             data_format="NCHW", name=None):
    """Same as :func:`interpolate`."""
    return interpolate(x, size, scale_factor, mode, align_corners, align_mode, data_format, name)


def label_smooth(label, prior_dist=None, epsilon=0.1, name=None):
    """``(1 - epsilon) * label + epsilon * prior`` (uniform prior by default; op ``label_smooth``)."""
    if not 0.0 <= float(epsilon) <= 1.0:
        raise ValueError(f"label_smooth: epsilon must be in [0, 1]. Received: {epsilon}.")
    return run_op("label_smooth", {"X": label, "PriorDist": prior_dist}, {"epsilon": float(epsilon)})["Out"]


def cosine_similarity(x1, x2, axis=1, eps=1e-8):
    """``sum(x1 * x2) / max(||x1|| * ||x2||, eps)`` along ``axis``."""
    from ...tensor_api import math as m
    w12 = m.sum(m.multiply(x1, x2), axis=axis)
    w1 = m.sum(m.square(x1), axis=axis)
    w2 = m.sum(m.square(x2), axis=axis)
    n12 = m.sqrt(m.clip(m.multiply(w1, w2), min=eps * eps))
    return m.divide(w12, n12)
