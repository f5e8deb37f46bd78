"""Normalisation functions: ``batch_norm``, ``layer_norm``, ``group_norm``, ``instance_norm``,
``normalize``. ``batch_norm`` binds ``MeanOut``/``VarianceOut`` to the running-stat tensors, so the
running statistics update in place in eager mode and the program reuses their variable names (as
Paddle's programs do)."""
from __future__ import annotations

import numbers

from ...core.dispatch import run_op

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "normalize"]

_FORMATS = ("NC", "NCL", "NCHW", "NCDHW", "NLC", "NHWC", "NDHWC")


def _layout(data_format, fn):
    if data_format not in _FORMATS:
        raise ValueError(f"{fn}: data_format must be one of {list(_FORMATS)}. Received: {data_format!r}.")
    return "NCHW" if data_format[1] == "C" else "NHWC"


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.9,
               epsilon=1e-05, data_format="NCHW", use_global_stats=None, name=None):
    """Batch normalisation; in training the batch statistics normalise and
    ``running = running * momentum + batch * (1 - momentum)`` (biased batch variance).

    Example:
        >>> import sampan as paddle
        >>> import sampan.nn.functional as F
        >>> x = paddle.arange(12, dtype='float32').reshape([2, 1, 2, 3])
        >>> m, v = paddle.zeros([1]), paddle.ones([1])
        >>> y = F.batch_norm(x, m, v, training=True)
        >>> round(float(m), 4)
        0.55
    """
    if len(x.shape) < 2:
        raise ValueError(f"batch_norm: x must have at least 2 dims. Received shape {list(x.shape)}.")
    layout = _layout(data_format, "batch_norm")
    if use_global_stats is None:
        use_global_stats = not training
        trainable_statistics = False
    else:
        trainable_statistics = not use_global_stats
    attrs = {"momentum": float(momentum), "epsilon": float(epsilon), "is_test": not training,
             "data_layout": layout, "use_global_stats": bool(use_global_stats),
             "trainable_statistics": bool(trainable_statistics)}
    ins = {"X": x, "Scale": weight, "Bias": bias, "Mean": running_mean, "Variance": running_var}
    return run_op("batch_norm", ins, attrs, bind={"MeanOut": running_mean, "VarianceOut": running_var})["Y"]


def layer_norm(x, normalized_shape, weight=None, bias=None, epsilon=1e-05, name=None):
    """Normalise over the trailing ``normalized_shape`` dims (op ``layer_norm`` with
    ``begin_norm_axis = x.ndim - len(normalized_shape)``)."""
    shape = list(x.shape)
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = [int(normalized_shape)]
    elif isinstance(normalized_shape, (list, tuple)):
        normalized_shape = [int(v) for v in normalized_shape]
    else:
        raise ValueError(f"layer_norm: normalized_shape must be an int or a list of ints. "
                         f"Received: {normalized_shape!r}.")
    begin = len(shape) - len(normalized_shape)
    tail = shape[begin:] if begin >= 0 else None
    if begin < 0 or any(a != b for a, b in zip(tail, normalized_shape) if a >= 0):
        raise ValueError(f"layer_norm: normalized_shape {normalized_shape} does not match the trailing dims of "
                         f"x {shape}; expected x of shape [*, {', '.join(map(str, normalized_shape))}].")
    return run_op("layer_norm", {"X": x, "Scale": weight, "Bias": bias},
                  {"epsilon": float(epsilon), "begin_norm_axis": begin})["Y"]


def group_norm(x, num_groups, epsilon=1e-05, weight=None, bias=None, data_format="NCHW", name=None):
    """Normalise each of ``num_groups`` channel groups per sample (op ``group_norm``)."""
    layout = _layout(data_format, "group_norm")
    return run_op("group_norm", {"X": x, "Scale": weight, "Bias": bias},
                  {"epsilon": float(epsilon), "groups": int(num_groups), "data_layout": layout})["Y"]


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.9, eps=1e-05, data_format="NCHW", name=None):
    """Normalise each channel of each sample over its spatial dims (op ``instance_norm``).
    ``running_mean``/``running_var``/``use_input_stats``/``momentum`` are accepted and unused, as in Paddle."""
    if data_format not in ("NC", "NCL", "NCHW", "NCDHW"):
        raise ValueError(f"instance_norm: data_format must be channel-first. Received: {data_format!r}.")
    ins = {"X": x}
    if weight is not None and bias is not None:
        ins.update(Scale=weight, Bias=bias)
    return run_op("instance_norm", ins, {"epsilon": float(eps)})["Y"]


def normalize(x, p=2, axis=1, epsilon=1e-12, name=None):
    """``x / max(||x||_p, epsilon)`` along ``axis`` (ops ``p_norm``, ``fill_constant``,
    ``elementwise_max``, ``elementwise_div``)."""
    from ...tensor_api.creation import full
    from ...tensor_api.math import divide, maximum
    if not isinstance(p, (float, int)) or not isinstance(axis, int):
        raise TypeError(f"normalize: p must be a number and axis an int. Received p={p!r}, axis={axis!r}.")
    if len(x.shape) == 1 and axis not in (0, -1):
        raise ValueError(f"normalize: axis must be 0 or -1 for a 1-D x. Received axis={axis}.")
    norm = run_op("p_norm", {"X": x}, {"axis": axis, "porder": float(p), "keepdim": True,
                                       "epsilon": float(epsilon)})["Out"]
    return divide(x, maximum(norm, full([1], epsilon, dtype=x.dtype)))
