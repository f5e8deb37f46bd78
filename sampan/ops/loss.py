"""Loss ops: ``softmax_with_cross_entropy``, ``bce_loss``, ``sigmoid_cross_entropy_with_logits``,
``huber_loss``, ``kldiv_loss``, ``nll_loss``.

Paddle semantics reproduced:

* softmax_with_cross_entropy: ``Loss`` keeps the rank of ``Logits`` with size 1 on ``axis``;
  hard labels (integer, same rank with size 1 on ``axis``) equal to ``ignore_index`` give loss
  0 and no gradient; a hard label outside ``[0, classes)`` is an error. Soft labels are
  distributions along ``axis``. With ``use_softmax=False`` the Logits are already probabilities.
  The log-softmax is computed stably (max subtracted) whatever ``numeric_stable_mode`` says.
* bce_loss clips each log term at -100 (as Paddle and PyTorch do) and requires X in [0, 1].
* huber_loss (which ``smooth_l1_loss`` uses) stores ``Residual = Y - X``.
* kldiv_loss: ``target * (log(target) - x)`` where target > 0, else 0; reductions ``none``,
  ``sum``, ``mean`` and ``batchmean`` (sum / batch size) give a 0-D result.
"""
from __future__ import annotations

import numpy as np

from .registry import op
from .nn_ops import stable_log_softmax

__all__ = []

_APPROX_INF = 1e20   # Paddle's TolerableValue clamps log results to +-1e20


def _sce_axis(logits, axis):
    a = axis + logits.ndim if axis < 0 else axis
    if not 0 <= a < logits.ndim:
        raise ValueError(f"softmax_with_cross_entropy: axis {axis} is out of range for Logits "
                         f"{list(logits.shape)}.")
    return a


def _hard_label(logits, label, a, attrs):
    """Validated integer label with the same rank as logits (size 1 on the class axis)."""
    name = "softmax_with_cross_entropy"
    if label.dtype.kind not in "iu":
        raise ValueError(f"{name}: Label must be an integer tensor when soft_label=False, received {label.dtype} "
                         f"with shape {list(label.shape)} (Logits {list(logits.shape)}).")
    if label.ndim == logits.ndim - 1:
        label = np.expand_dims(label, a)
    expect = list(logits.shape)
    expect[a] = 1
    if list(label.shape) != expect:
        raise ValueError(f"{name}: Label shape {list(label.shape)} does not match Logits {list(logits.shape)}; "
                         f"expected {expect} (size 1 on axis {a}).")
    c, ign = logits.shape[a], attrs["ignore_index"]
    bad = ((label < 0) | (label >= c)) & (label != ign)
    if bad.any():
        v = int(label[bad].flat[0])
        raise ValueError(f"{name}: Label value {v} is out of range for {c} classes (Logits {list(logits.shape)}, "
                         f"Label {list(label.shape)}); labels must be in [0, {c}) or equal "
                         f"ignore_index={ign}.")
    return label


@op("softmax_with_cross_entropy", "Logits Label", "Softmax Loss",
    {"soft_label": ("bool", False), "use_softmax": ("bool", True), "numeric_stable_mode": ("bool", True),
     "ignore_index": ("int", -100), "axis": ("int", -1)},
    no_grad="Label")
def softmax_with_cross_entropy(ins, attrs):
    logits, label = ins["Logits"], ins["Label"]
    if _fast_case(logits, label, attrs):
        return _sce_fast_2d(logits, label, attrs)
    a = _sce_axis(logits, attrs["axis"])
    if attrs["use_softmax"]:
        logp = stable_log_softmax(logits, a)
        soft = np.exp(logp)
    else:
        soft = logits.copy()
        with np.errstate(divide="ignore"):
            logp = np.clip(np.log(logits), -_APPROX_INF, _APPROX_INF)
    if attrs["soft_label"]:
        if label.shape != logits.shape:
            raise ValueError(f"softmax_with_cross_entropy: with soft_label=True, Label must have the shape of "
                             f"Logits {list(logits.shape)}, received {list(label.shape)}.")
        loss = -(label * logp).sum(axis=a, keepdims=True)
    else:
        lab = _hard_label(logits, label, a, attrs)
        keep = lab != attrs["ignore_index"]
        picked = np.take_along_axis(logp, np.where(keep, lab, 0).astype(np.int64), axis=a)
        loss = np.where(keep, -picked, 0)
    return {"Softmax": soft, "Loss": loss.astype(logits.dtype, copy=False)}


def _fast_case(logits, label, attrs):
    """The common training case: [N, C] logits, hard [N, 1] labels on the last axis, softmax on.
    It skips the general take/put_along_axis machinery (several times faster for small batches)."""
    return (logits.ndim == 2 and not attrs["soft_label"] and attrs["use_softmax"]
            and attrs["axis"] in (-1, 1) and label.dtype.kind in "iu" and label.shape == (logits.shape[0], 1))


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _labels_in_range(lab, c):
    """True when every label is in [0, c): one unsigned max (negatives wrap to huge values)."""
    if not lab.size:
        return True
    if lab.dtype.kind == "i":
        lab = lab.view(_UNSIGNED[lab.dtype.itemsize])
    return int(np.maximum.reduce(lab, axis=None)) < c


def _sce_fast_2d(logits, label, attrs):
    n, c = logits.shape
    lab = label[:, 0]
    ign = attrs["ignore_index"]
    if _labels_in_range(lab, c) and not 0 <= ign < c:
        keep, idx = None, lab                  # the common case: nothing ignored, nothing to mask
    else:
        if n and (lab.min() < 0 or lab.max() >= c):
            _hard_label(logits, label, 1, attrs)   # raises the detailed error unless all are ignore_index
        keep = lab != ign
        idx = np.where(keep, lab, 0)
    shifted = logits - logits.max(axis=1, keepdims=True)
    soft = np.exp(shifted)
    s = soft.sum(axis=1, keepdims=True)
    soft /= s
    loss = np.log(s)
    loss -= shifted[np.arange(n), idx].reshape(n, 1)
    if keep is not None:
        loss *= keep.reshape(n, 1)
    return {"Softmax": soft, "Loss": loss if loss.dtype == logits.dtype else loss.astype(logits.dtype)}


@softmax_with_cross_entropy.grad
def _softmax_with_cross_entropy_grad(ctx):
    logits, label, attrs = ctx.x("Logits"), ctx.x("Label"), ctx.attrs
    if _fast_case(logits, label, attrs) and not ctx.has_dout("Softmax"):
        n, c = logits.shape
        lab = label[:, 0]
        ign = attrs["ignore_index"]
        dx = ctx.out("Softmax").copy()
        if not 0 <= ign < c and _labels_in_range(lab, c):   # nothing is ignored
            dx[np.arange(n), lab] -= 1
            dx *= ctx.dout("Loss")
        else:
            keep = lab != ign
            dx[np.arange(n), np.where(keep, lab, 0)] -= 1
            dx *= ctx.dout("Loss") * keep[:, None]
        return {"Logits": dx if dx.dtype == logits.dtype else dx.astype(logits.dtype)}
    a = _sce_axis(logits, attrs["axis"])
    soft, dloss = ctx.out("Softmax"), ctx.dout("Loss")
    if attrs["soft_label"]:
        target = label
        scale = dloss
    else:
        lab = _hard_label(logits, label, a, attrs)
        keep = lab != attrs["ignore_index"]
        idx = np.where(keep, lab, 0).astype(np.int64)
        target = np.zeros_like(logits)
        np.put_along_axis(target, idx, 1, axis=a)
        scale = dloss * keep
    if attrs["use_softmax"]:
        dx = (soft * target.sum(axis=a, keepdims=True) - target) * scale
    else:
        dx = -target / np.where(target != 0, logits, 1) * scale
    if ctx.has_dout("Softmax"):
        gs = ctx.dout("Softmax")
        dx = dx + (soft * (gs - (gs * soft).sum(axis=a, keepdims=True)) if attrs["use_softmax"] else gs)
    return {"Logits": dx.astype(logits.dtype, copy=False)}


# ---------------------------------------------------------------------------- softmax_ce_mean (fused, eager only)
_ROWS: dict = {}   # n -> read-only arange(n) as an [n, 1] column (row index of the picked logits)


def _row_index(n):
    r = _ROWS.get(n)
    if r is None:
        if len(_ROWS) > 64:
            _ROWS.clear()
        r = np.arange(n).reshape(n, 1)
        r.flags.writeable = False
        _ROWS[n] = r
    return r


def _sce_error(logits, label, ign):
    """Raise the error ``cross_entropy``'s ``softmax_with_cross_entropy`` op raises for a bad label,
    with the same message (op name, inputs and shapes)."""
    from ..core.dispatch import OpError
    try:
        softmax_with_cross_entropy.forward(
            {"Logits": logits, "Label": label},
            dict(softmax_with_cross_entropy.defaults, ignore_index=ign))
    except ValueError as e:
        raise OpError(f"op 'softmax_with_cross_entropy' failed on inputs Logits={list(logits.shape)} "
                      f"{logits.dtype.name}, Label={list(label.shape)} {label.dtype.name}: {e}") from e
    raise AssertionError("softmax_ce_mean: unexpected label")   # pragma: no cover (callers checked)


def _ce_labels(logits, label, ign):
    """The validated [N, 1] label and the keep mask (None when no sample is ignored)."""
    if label.ndim == 1:
        label = label.reshape(-1, 1)        # cross_entropy's unsqueeze
    n, c = logits.shape
    if label.dtype.kind not in "iu" or label.shape != (n, 1):
        _sce_error(logits, label, ign)
    if _labels_in_range(label, c) and not 0 <= ign < c:
        return label, None
    if n and (label.min() < 0 or label.max() >= c):
        bad = ((label < 0) | (label >= c)) & (label != ign)
        if bad.any():
            _sce_error(logits, label, ign)
    return label, label != ign


def _ce_denominator(keep_src, ign, dt):
    """cross_entropy's mean with ``ignore_index >= 0``: the number of non-ignored samples (1 if
    none), computed as its ``cast``/``reduce_sum``/``equal``/``add`` ops do."""
    d = np.asarray(np.sum((keep_src != ign).astype(dt)))
    return d + (d == 0).astype(dt)


@op("softmax_ce_mean", "Logits Label", "Softmax~ Loss Keep~", {"ignore_index": ("int", -100), "axis": ("int", -1)},
    no_grad="Label")
def softmax_ce_mean(ins, attrs):
    """``mean(softmax_with_cross_entropy(Logits [N, C], Label [N, 1] or [N]))`` in one kernel, for
    ``F.cross_entropy``'s common case (hard labels, ``reduction='mean'``, no weight); with
    ``ignore_index >= 0`` the mean is over the non-ignored samples. ``Keep`` is the mask of the
    samples not ignored (None when no sample is ignored). Eager only: programs get
    ``cross_entropy``'s ops (``softmax_with_cross_entropy`` + ``reduce_mean``, ...)."""
    logits = ins["Logits"]
    if logits.ndim != 2:
        raise ValueError(f"softmax_ce_mean: Logits must be [N, C]. Received shape {list(logits.shape)}.")
    ign = attrs["ignore_index"]
    label = ins["Label"]
    n, c = logits.shape
    if (label.ndim == 2 and label.shape[0] == n and label.shape[1] == 1 and label.dtype.kind in "iu"
            and not 0 <= ign < c and _labels_in_range(label, c)):
        keep = None      # the common case: valid [N, 1] labels, none ignored
    else:
        label, keep = _ce_labels(logits, label, ign)
    # the arithmetic of softmax_with_cross_entropy's fast path, then of reduce_mean (bit-identical)
    soft = logits - np.maximum.reduce(logits, axis=1, keepdims=True)      # shifted logits
    picked = soft[_row_index(n), label if keep is None else np.where(keep, label, 0)]
    np.exp(soft, out=soft)
    s = np.add.reduce(soft, axis=1, keepdims=True)
    soft /= s
    loss = np.log(s)
    loss -= picked
    if keep is not None:
        loss *= keep
    dt = logits.dtype
    if loss.dtype != dt:
        loss = loss.astype(dt)
    if ign >= 0:
        out = np.asarray(np.asarray(np.sum(loss)) / _ce_denominator(label, ign, dt))
    else:
        n = loss.size
        out = np.add.reduce(loss, axis=None)
        out = np.asarray(out * (1.0 / n) if n else out * np.nan)
    return {"Softmax": soft, "Loss": out, "Keep": keep}


@softmax_ce_mean.grad
def _softmax_ce_mean_grad(ctx):
    outs = ctx.outs
    soft, keep = outs["Softmax"], outs.get("Keep")
    label, ign = ctx.ins["Label"], ctx.attrs["ignore_index"]
    if label.ndim == 1:
        label = label.reshape(-1, 1)
    n = soft.shape[0]
    dt = soft.dtype
    g = ctx.dout("Loss")
    # the per-sample loss gradient that reduce_mean's (or the divide + reduce_sum's) backward hands on
    if ign >= 0:
        v = np.asarray(g / _ce_denominator(label, ign, dt)).astype(dt, copy=False)
    else:
        v = dt.type(g.item() / max(n, 1))
    dx = soft.copy()
    rows = _row_index(n)
    if keep is None:
        dx[rows, label] -= 1
        dx *= v
    else:
        dx[rows, np.where(keep, label, 0)] -= 1
        dx *= np.full((n, 1), v, dt) * keep
    gs = ctx.douts.get("Softmax")
    if gs is not None:
        dx = dx + soft * (gs - (gs * soft).sum(axis=1, keepdims=True))
    return {"Logits": dx}


@softmax_ce_mean.static
def _softmax_ce_mean_static(inputs, attrs):
    from ..nn.functional.loss import cross_entropy_composed
    loss = cross_entropy_composed(inputs["Logits"], inputs["Label"], None, attrs["ignore_index"], "mean", False,
                                  attrs["axis"], True, 0.0)
    return {"Softmax": None, "Loss": loss, "Keep": None}


# ---------------------------------------------------------------------------- bce_loss
def _same_shape(op_name, a, b, na, nb):
    if a.shape != b.shape:
        raise ValueError(f"{op_name}: {na} {list(a.shape)} and {nb} {list(b.shape)} must have the same shape.")


@op("bce_loss", "X Label", "Out", no_grad="Label")
def bce_loss(ins, attrs):
    x, y = ins["X"], ins["Label"]
    _same_shape("bce_loss", x, y, "X", "Label")
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"bce_loss: X (shape {list(x.shape)}) must hold probabilities in [0, 1]; received "
                         f"values in [{x.min()}, {x.max()}]. Apply sigmoid first or use "
                         f"binary_cross_entropy_with_logits.")
    with np.errstate(divide="ignore"):
        lx = np.maximum(np.log(x), -100)
        l1x = np.maximum(np.log1p(-x), -100)
    return {"Out": (-(y * lx + (1 - y) * l1x)).astype(x.dtype, copy=False)}


@bce_loss.grad
def _bce_loss_grad(ctx):
    x, y, g = ctx.x("X"), ctx.x("Label"), ctx.dout("Out")
    return {"X": g * (x - y) / np.maximum((1 - x) * x, 1e-12)}


# ---------------------------------------------------------------------------- sigmoid_cross_entropy_with_logits
@op("sigmoid_cross_entropy_with_logits", "X Label", "Out",
    {"normalize": ("bool", False), "ignore_index": ("int", -100)}, no_grad="Label")
def sigmoid_cross_entropy_with_logits(ins, attrs):
    x, y = ins["X"], ins["Label"]
    _same_shape("sigmoid_cross_entropy_with_logits", x, y, "X", "Label")
    keep = y != attrs["ignore_index"]
    out = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    out = np.where(keep, out, 0)
    if attrs["normalize"]:
        out = out / max(int(keep.sum()), 1)
    return {"Out": out.astype(x.dtype, copy=False)}


@sigmoid_cross_entropy_with_logits.grad
def _sigmoid_ce_grad(ctx):
    x, y, g = ctx.x("X"), ctx.x("Label"), ctx.dout("Out")
    keep = y != ctx.attrs["ignore_index"]
    sig = 0.5 * (1.0 + np.tanh(0.5 * x))   # sigmoid without overflow for large |x|
    dx = np.where(keep, (sig - y) * g, 0)
    if ctx.attrs["normalize"]:
        dx = dx / max(int(keep.sum()), 1)
    return {"X": dx.astype(x.dtype, copy=False)}


# ---------------------------------------------------------------------------- huber_loss
@op("huber_loss", "X Y", "Out Residual~", {"delta": ("float", 1.0)})
def huber_loss(ins, attrs):
    x, y, d = ins["X"], ins["Y"], float(attrs["delta"])
    _same_shape("huber_loss", x, y, "X", "Y")
    r = y - x
    a = np.abs(r)
    out = np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))
    return {"Out": out.astype(x.dtype, copy=False), "Residual": r}


@huber_loss.grad
def _huber_loss_grad(ctx):
    r, g, d = ctx.out("Residual"), ctx.dout("Out"), float(ctx.attrs["delta"])
    dr = np.clip(r, -d, d) * g
    res = {}
    if ctx.needs("X"):
        res["X"] = -dr
    if ctx.needs("Y"):
        res["Y"] = dr
    return res


# ---------------------------------------------------------------------------- kldiv_loss
def _reduce(op_name, v, reduction, batch):
    if reduction == "none":
        return v
    if reduction == "sum":
        return np.asarray(v.sum(), v.dtype)
    if reduction == "mean":
        return np.asarray(v.mean(), v.dtype)
    if reduction == "batchmean":
        return np.asarray(v.sum() / max(batch, 1), v.dtype)
    raise ValueError(f"{op_name}: reduction must be 'none', 'sum', 'mean' or 'batchmean', received {reduction!r}.")


def _reduce_grad(g, shape, reduction, batch, dtype):
    if reduction == "none":
        return g
    n = int(np.prod(shape))
    scale = {"sum": 1.0, "mean": 1.0 / max(n, 1), "batchmean": 1.0 / max(batch, 1)}[reduction]
    return np.broadcast_to(np.asarray(g, dtype) * np.asarray(scale, dtype), shape)


@op("kldiv_loss", "X Target", "Loss", {"reduction": ("string", "mean")}, no_grad="Target")
def kldiv_loss(ins, attrs):
    x, t = ins["X"], ins["Target"]
    _same_shape("kldiv_loss", x, t, "X", "Target")
    if attrs.get("log_target"):
        v = np.exp(t) * (t - x)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(t > 0, t * (np.log(np.where(t > 0, t, 1)) - x), 0)
    batch = x.shape[0] if x.ndim else 1
    return {"Loss": _reduce("kldiv_loss", v.astype(x.dtype, copy=False), attrs["reduction"], batch)}


@kldiv_loss.grad
def _kldiv_loss_grad(ctx):
    x, t = ctx.x("X"), ctx.x("Target")
    g = _reduce_grad(ctx.dout("Loss"), x.shape, ctx.attrs["reduction"], x.shape[0] if x.ndim else 1, x.dtype)
    dt = -np.exp(t) if ctx.attrs.get("log_target") else np.where(t > 0, -t, 0)
    return {"X": (dt * g).astype(x.dtype, copy=False)}


# ---------------------------------------------------------------------------- nll_loss
def _nll_parts(x, label, weight, ignore):
    if label.dtype.kind not in "iu":
        raise ValueError(f"nll_loss: Label must be an integer tensor, received {label.dtype} "
                         f"{list(label.shape)}.")
    if x.ndim < 2 or list(label.shape) != [x.shape[0]] + list(x.shape[2:]):
        raise ValueError(f"nll_loss: X must be [N, C, ...] and Label [N, ...]; received X {list(x.shape)} and "
                         f"Label {list(label.shape)}.")
    c = x.shape[1]
    bad = ((label < 0) | (label >= c)) & (label != ignore)
    if bad.any():
        raise ValueError(f"nll_loss: Label value {int(label[bad].flat[0])} is out of range for {c} classes "
                         f"(X {list(x.shape)}).")
    keep = label != ignore
    idx = np.where(keep, label, 0).astype(np.int64)
    w = (weight[idx] if weight is not None else np.ones(idx.shape, x.dtype)) * keep
    return idx, w.astype(x.dtype)


@op("nll_loss", "X Label Weight?", "Out Total_weight",
    {"ignore_index": ("long", -100), "reduction": ("string", "mean")}, no_grad="Label Weight")
def nll_loss(ins, attrs):
    x, label = ins["X"], ins["Label"]
    idx, w = _nll_parts(x, label, ins.get("Weight"), attrs["ignore_index"])
    picked = np.take_along_axis(x, np.expand_dims(idx, 1), axis=1)[:, 0]
    loss = -picked * w
    total = np.asarray(w.sum(), x.dtype)
    red = attrs["reduction"]
    if red == "none":
        out = loss
    elif red == "sum":
        out = np.asarray(loss.sum(), x.dtype)
    else:
        out = np.asarray(loss.sum() / total if total != 0 else 0.0, x.dtype)
    return {"Out": out, "Total_weight": total}


@nll_loss.grad
def _nll_loss_grad(ctx):
    x, attrs = ctx.x("X"), ctx.attrs
    idx, w = _nll_parts(x, ctx.x("Label"), ctx.x("Weight"), attrs["ignore_index"])
    g = ctx.dout("Out")
    red = attrs["reduction"]
    if red == "mean":
        total = w.sum()
        coef = -w * (g / total if total != 0 else 0)
    elif red == "sum":
        coef = -w * g
    else:
        coef = -w * g
    dx = np.zeros_like(x)
    np.put_along_axis(dx, np.expand_dims(idx, 1), np.expand_dims(coef.astype(x.dtype), 1), axis=1)
    return {"X": dx}
