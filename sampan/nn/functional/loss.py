"""Loss functions, composed as Paddle 2.6 composes them (``softmax_with_cross_entropy`` then weight
gathering and ``reduce_sum``/``reduce_mean``; ``huber_loss`` for smooth L1; ``bce_loss``;
``sigmoid_cross_entropy_with_logits``; ``kldiv_loss``; ``nll_loss``)."""
from __future__ import annotations

from ...core import dtype as dtypes
from ...core.dispatch import run_op
from ._utils import check_reduction, mean_all, reduce_loss, sum_all, ndim

__all__ = ["cross_entropy", "softmax_with_cross_entropy", "mse_loss", "l1_loss", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "smooth_l1_loss", "kl_div",
           "square_error_cost", "log_loss", "margin_ranking_loss"]


def _m():
    from ...tensor_api import math
    return math


def _shape_ops():
    from ...tensor_api import manipulation
    return manipulation


def softmax_with_cross_entropy(logits, label, soft_label=False, ignore_index=-100, numeric_stable_mode=True,
                               return_softmax=False, axis=-1):
    """Per-sample cross entropy of ``softmax(logits)`` (op ``softmax_with_cross_entropy``); the loss
    keeps ``logits``' rank with size 1 on ``axis``."""
    res = run_op("softmax_with_cross_entropy", {"Logits": logits, "Label": label},
                 {"soft_label": bool(soft_label), "ignore_index": int(ignore_index),
                  "numeric_stable_mode": bool(numeric_stable_mode), "axis": int(axis), "use_softmax": True})
    return (res["Loss"], res["Softmax"]) if return_softmax else res["Loss"]


def _hard_label_weights(weight, label, ignore_index, axis, input_dtype):
    """Per-sample class weights (0 for ignored samples), shaped like ``label``."""
    from ...tensor_api.logic import not_equal
    m, sh = _m(), _shape_ops()
    keep = not_equal(label, ignore_index)
    valid = m.multiply(m.cast(keep, label.dtype), label)
    mask = m.cast(keep, input_dtype)
    nd = ndim(valid)
    if nd > 1 and mask.shape[axis] == 1:
        mask = sh.squeeze(mask, axis)
    if axis not in (-1, nd - 1):
        a = axis % nd
        valid = sh.transpose(valid, list(range(a)) + list(range(a + 1, nd)) + [a])
    gathered = m.multiply(sh.gather_nd(weight, valid), mask)
    return sh.reshape(gathered, list(label.shape))


def cross_entropy(input, label, weight=None, ignore_index=-100, reduction="mean", soft_label=False, axis=-1,
                  use_softmax=True, label_smoothing=0.0, name=None):
    """Cross entropy between ``softmax(input)`` (or ``input`` itself when ``use_softmax=False``) and hard
    (integer, shape [N] or [N, 1]) or soft labels, with class ``weight``, ``ignore_index`` and
    ``label_smoothing``.

    Example:
        >>> import sampan as paddle
        >>> import sampan.nn.functional as F
        >>> logits = paddle.to_tensor([[2.0, 0.0], [0.0, 2.0]])
        >>> round(float(F.cross_entropy(logits, paddle.to_tensor([0, 1]))), 4)
        0.1269
    """
    if (weight is None and reduction == "mean" and not soft_label and use_softmax and (axis == -1 or axis == 1)
            and not label_smoothing > 0.0 and input.ndim == 2 and 1 <= label.ndim <= 2
            and input.dtype in _FUSED_DTYPES):
        # the common case as one eager op; programs get the ops below (the op's static form)
        return run_op("softmax_ce_mean", {"Logits": input, "Label": label},
                      None if ignore_index == -100 and axis == -1 else   # None: the op's shared defaults
                      {"ignore_index": int(ignore_index), "axis": int(axis)})["Loss"]
    return cross_entropy_composed(input, label, weight, ignore_index, reduction, soft_label, axis, use_softmax,
                                  label_smoothing)


_FUSED_DTYPES = (dtypes.float32, dtypes.float64, dtypes.float16)


def cross_entropy_composed(input, label, weight, ignore_index, reduction, soft_label, axis, use_softmax,
                           label_smoothing):
    """``cross_entropy`` from Paddle's ops (also the static form of the fused ``softmax_ce_mean``)."""
    check_reduction(reduction, "cross_entropy")
    if ignore_index > 0 and soft_label:
        raise ValueError(f"cross_entropy: ignore_index must be -100 with soft_label=True. Received {ignore_index}.")
    m, sh = _m(), _shape_ops()
    in_dims, lab_dims = ndim(input), ndim(label)
    if in_dims == 0:
        raise ValueError("cross_entropy: input must have at least 1 dimension.")
    if in_dims - 1 == lab_dims:
        label = sh.unsqueeze(label, axis)
    elif in_dims != lab_dims:
        raise ValueError(f"cross_entropy: label must have rank rank(input) - 1 or rank(input). Received input "
                         f"{list(input.shape)} and label {list(label.shape)}.")
    if label_smoothing > 0.0:
        from .input import one_hot
        from .common import label_smooth
        soft_label = True
        if in_dims - 1 == lab_dims:
            label = one_hot(sh.squeeze(label, axis), int(input.shape[-1]))
        label = m.cast(label_smooth(label, epsilon=label_smoothing), input.dtype)
    res = run_op("softmax_with_cross_entropy", {"Logits": input, "Label": label},
                 {"soft_label": bool(soft_label), "ignore_index": int(ignore_index), "numeric_stable_mode": True,
                  "axis": int(axis), "use_softmax": bool(use_softmax)})
    out = res["Loss"]
    wg = None
    if weight is not None:
        if soft_label:
            wg = sh.reshape(m.matmul(m.cast(label, weight.dtype), weight, transpose_y=True), list(out.shape))
        else:
            if input.shape[axis] != weight.shape[-1]:
                raise ValueError(f"cross_entropy: input has {input.shape[axis]} classes but weight has "
                                 f"{weight.shape[-1]}.")
            wg = _hard_label_weights(weight, label, ignore_index, axis, input.dtype)
        out = m.multiply(out, wg)
    if reduction == "sum":
        return sum_all(out)
    if reduction == "mean":
        if ignore_index >= 0 and not soft_label:
            from ...tensor_api.logic import equal, not_equal
            keep = m.cast(not_equal(label, ignore_index), out.dtype)
            denom = sum_all(keep if wg is None else m.multiply(keep, wg))
        elif wg is not None:
            from ...tensor_api.logic import equal
            denom = sum_all(wg)
        else:
            return mean_all(out)
        denom = m.add(denom, m.cast(equal(denom, 0.0), denom.dtype))
        return m.divide(sum_all(out), denom)
    if in_dims - 1 == lab_dims:
        out = sh.squeeze(out, axis)
    return out


def mse_loss(input, label, reduction="mean", name=None):
    """Mean squared error ``(input - label)^2`` (ops ``elementwise_sub``, ``square``, ``reduce_mean``)."""
    check_reduction(reduction, "mse_loss")
    m = _m()
    return reduce_loss(m.square(m.subtract(input, label)), reduction, "mse_loss")


def square_error_cost(input, label):
    """Elementwise ``(input - label)^2``."""
    m = _m()
    return m.square(m.subtract(input, label))


def l1_loss(input, label, reduction="mean", name=None):
    """Mean absolute error ``|input - label|``."""
    check_reduction(reduction, "l1_loss")
    m = _m()
    return reduce_loss(m.abs(m.subtract(input, label)), reduction, "l1_loss")


def nll_loss(input, label, weight=None, ignore_index=-100, reduction="mean", name=None):
    """Negative log likelihood of log-probabilities ``input`` [N, C, ...] at integer ``label`` [N, ...]
    (op ``nll_loss``); the mean divides by the total weight of the non-ignored samples."""
    check_reduction(reduction, "nll_loss")
    if ndim(input) < 2:
        raise ValueError(f"nll_loss: input must be [N, C, ...]. Received shape {list(input.shape)}.")
    return run_op("nll_loss", {"X": input, "Label": label, "Weight": weight},
                  {"ignore_index": int(ignore_index), "reduction": reduction})["Out"]


def binary_cross_entropy(input, label, weight=None, reduction="mean", name=None):
    """Binary cross entropy of probabilities ``input`` (op ``bce_loss``; each log term clipped at -100)."""
    check_reduction(reduction, "binary_cross_entropy")
    out = run_op("bce_loss", {"X": input, "Label": label})["Out"]
    if weight is not None:
        out = _m().multiply(out, weight)
    return reduce_loss(out, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(logit, label, weight=None, reduction="mean", pos_weight=None, name=None):
    """Binary cross entropy of ``sigmoid(logit)``, computed stably (op ``sigmoid_cross_entropy_with_logits``);
    ``pos_weight`` scales the loss by ``1 + (pos_weight - 1) * label`` as Paddle does."""
    check_reduction(reduction, "binary_cross_entropy_with_logits")
    m = _m()
    out = run_op("sigmoid_cross_entropy_with_logits", {"X": logit, "Label": label},
                 {"ignore_index": -100, "normalize": False})["Out"]
    if pos_weight is not None:
        from ...tensor_api.creation import full
        one = full([1], 1.0, dtype=logit.dtype)
        out = m.multiply(out, m.add(m.multiply(label, m.subtract(pos_weight, one)), one))
    if weight is not None:
        out = m.multiply(out, weight)
    return reduce_loss(out, reduction, "binary_cross_entropy_with_logits")


def smooth_l1_loss(input, label, reduction="mean", delta=1.0, name=None):
    """Huber loss ``0.5 r^2`` for ``|r| <= delta`` else ``delta (|r| - delta/2)`` (op ``huber_loss``)."""
    check_reduction(reduction, "smooth_l1_loss")
    out = run_op("huber_loss", {"X": input, "Y": label}, {"delta": float(delta)})["Out"]
    return reduce_loss(out, reduction, "smooth_l1_loss")


def kl_div(input, label, reduction="mean", log_target=False, name=None):
    """KL divergence ``label * (log(label) - input)`` for log-probabilities ``input`` (op ``kldiv_loss``);
    ``batchmean`` divides the sum by the batch size."""
    check_reduction(reduction, "kl_div", ("mean", "sum", "none", "batchmean"))
    m = _m()
    if log_target:
        label = m.exp(label)
    if input.dtype != label.dtype:
        label = m.cast(label, input.dtype)
    out = run_op("kldiv_loss", {"X": input, "Target": label}, {"reduction": "none"})["Loss"]
    if reduction == "batchmean":
        if ndim(input) == 0:
            return sum_all(out)
        return m.scale(sum_all(out), 1.0 / float(input.shape[0]))
    return reduce_loss(out, reduction, "kl_div")


def log_loss(input, label, epsilon=1e-4, name=None):
    """``-label*log(input+eps) - (1-label)*log(1-input+eps)`` elementwise."""
    m = _m()
    pos = m.multiply(label, m.log(m.scale(input, 1.0, epsilon)))
    neg = m.multiply(m.scale(label, -1.0, 1.0), m.log(m.scale(input, -1.0, 1.0 + epsilon)))
    return m.scale(m.add(pos, neg), -1.0)


def margin_ranking_loss(input, other, label, margin=0.0, reduction="mean", name=None):
    """``max(0, -label * (input - other) + margin)``."""
    check_reduction(reduction, "margin_ranking_loss")
    m = _m()
    out = m.scale(m.multiply(m.scale(label, -1.0), m.subtract(input, other)), 1.0, float(margin))
    out = run_op("relu", {"X": out})["Out"]
    return reduce_loss(out, reduction, "margin_ranking_loss")
