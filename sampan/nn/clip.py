"""Gradient clipping (``paddle.nn.ClipGradByValue`` / ``ClipGradByNorm`` / ``ClipGradByGlobalNorm``).

Pass one as ``grad_clip=`` to an optimizer: it is applied to the ``(param, grad)`` pairs of a step
before regularization, as Paddle does. Parameters created with ``ParamAttr(need_clip=False)`` are
left alone. Clipping returns new gradient arrays; the parameters' ``.grad`` are not modified.

Example:
    >>> import sampan as paddle
    >>> lin = paddle.nn.Linear(4, 2)
    >>> clip = paddle.nn.ClipGradByGlobalNorm(clip_norm=1.0)
    >>> opt = paddle.optimizer.SGD(0.1, parameters=lin.parameters(), grad_clip=clip)
"""
from __future__ import annotations

import numpy as np

from ..core.tensor import Tensor

__all__ = ["ClipGradBase", "ClipGradByValue", "ClipGradByNorm", "ClipGradByGlobalNorm", "clip_grad_norm_",
           "clip_grad_value_"]


def _need_clip(p):
    return p.__dict__.get("need_clip", True) is not False if hasattr(p, "__dict__") else True


def _each(params_grads, fn):
    """``[(param, fn(grad))]``, the gradient left as it is when None or its parameter has ``need_clip=False``."""
    return [(p, g if g is None or not _need_clip(p) else fn(g)) for p, g in params_grads]


class ClipGradBase:
    """Base: ``__call__(params_grads)`` takes and returns ``[(param, grad Tensor)]``."""

    def _clip_arrays(self, params_grads):
        """``[(param, grad ndarray)] -> [(param, clipped ndarray)]`` (the eager optimizer's path)."""
        raise NotImplementedError

    def __call__(self, params_grads):
        pairs = [(p, g) for p, g in params_grads]
        if any(g is not None and not isinstance(g, (Tensor, np.ndarray)) for _, g in pairs):
            return self._static_clip(pairs)
        arrs = [(p, g._data if isinstance(g, Tensor) else g) for p, g in pairs if g is not None]
        out = self._clip_arrays(arrs)
        return [(p, Tensor._wrap(g)) for p, g in out]

    def _static_clip(self, params_grads):
        raise NotImplementedError(f"{type(self).__name__}: clipping static-program gradients is not supported yet.")


class ClipGradByValue(ClipGradBase):
    """Clip every gradient element into ``[min, max]`` (``min`` defaults to ``-max``).

    Example:
        >>> import sampan as paddle
        >>> clip = paddle.nn.ClipGradByValue(max=1.0)
    """

    def __init__(self, max, min=None):
        if min is None:
            if max < 0:
                raise ValueError(f"ClipGradByValue: max must be >= 0 when min is not given. Received: max={max}.")
            min = -max
        self.max, self.min = float(max), float(min)

    def __str__(self):
        return f"Clip Gradient By Value, min = {self.min:f}, max={self.max:f}"

    def _clip_arrays(self, params_grads):
        return _each(params_grads, lambda g: np.clip(g, g.dtype.type(self.min), g.dtype.type(self.max)))

    def _static_clip(self, params_grads):
        from ..tensor_api import math as m
        return _each(params_grads, lambda g: m.clip(g, self.min, self.max))


class ClipGradByNorm(ClipGradBase):
    """Scale each gradient whose L2 norm exceeds ``clip_norm`` down to norm ``clip_norm``.

    Paddle's ``clip_by_norm`` kernel: ``g * (1 if norm <= clip_norm else clip_norm / (norm + eps))``
    with ``eps = 1e-6`` only when the norm is below 1e-30.
    """

    def __init__(self, clip_norm):
        self.clip_norm = float(clip_norm)

    def __str__(self):
        return f"Gradient Clip By Norm, clip_norm={self.clip_norm:f}"

    def _static_clip(self, params_grads):
        import sampan

        def one(g):
            norm = sampan.sqrt(sampan.sum(sampan.square(g)))
            cap = sampan.full([1], self.clip_norm, dtype=g.dtype)
            return sampan.multiply(g, sampan.divide(cap, sampan.maximum(norm, cap)))
        return _each(params_grads, one)

    def _clip_arrays(self, params_grads):
        def one(g):
            t = g.dtype.type
            norm = np.sqrt(np.sum(np.square(g)))
            cn = t(self.clip_norm)
            if norm <= cn:
                return g
            eps = t(1e-6) if norm <= t(1e-30) else t(0)
            return g * (cn / (norm + eps))
        return _each(params_grads, one)


class ClipGradByGlobalNorm(ClipGradBase):
    """Scale all gradients by ``clip_norm / max(global_norm, clip_norm)``,
    ``global_norm = sqrt(sum of squared L2 norms)`` (float32 sums for float32 gradients).

    Args:
        clip_norm: the maximum global norm.
        group_name: kept for Paddle compatibility.
        auto_skip_clip: when True, gradients are untouched unless the global norm exceeds
            ``clip_norm`` (Paddle otherwise always multiplies, by 1.0 when below).
    """

    def __init__(self, clip_norm, group_name="default_group", auto_skip_clip=False):
        self.clip_norm = float(clip_norm)
        self.group_name = group_name
        self.auto_skip_clip = auto_skip_clip

    def __str__(self):
        return f"Gradient Clip By GlobalNorm, global_norm={self.clip_norm:f}"

    def _clip_arrays(self, params_grads):
        sq32, sq64 = [], []
        for p, g in params_grads:
            if g is None or not _need_clip(p):
                continue
            s = np.sum(np.square(g.astype(np.float32) if g.dtype in (np.float16,) else g))
            (sq64 if s.dtype == np.float64 else sq32).append(s)
        if not sq32 and not sq64:
            return list(params_grads)
        if sq64:
            total = np.float64(sum(np.float64(s) for s in sq32) if sq32 else 0.0) + np.sum(sq64)
            global_norm = np.sqrt(total)
            dt = np.float64
        else:
            total = sq32[0]
            for s in sq32[1:]:
                total = total + s
            global_norm = np.sqrt(np.float32(total))
            dt = np.float32
        max_norm = dt(self.clip_norm)
        if not self.auto_skip_clip:
            scale = max_norm / max(global_norm, max_norm)
        elif global_norm > max_norm:
            scale = max_norm / global_norm
        else:
            return list(params_grads)
        return _each(params_grads, lambda g: g * g.dtype.type(scale))

    def _static_clip(self, params_grads):
        import sampan
        sq = [sampan.sum(sampan.square(g)) for p, g in params_grads if g is not None and _need_clip(p)]
        if not sq:
            return list(params_grads)
        norm = sampan.sqrt(sampan.add_n(sq) if len(sq) > 1 else sq[0])
        cap = sampan.full([1], self.clip_norm, dtype=norm.dtype)
        scale = sampan.divide(cap, sampan.maximum(norm, cap))
        return _each(params_grads, lambda g: sampan.multiply(g, scale))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the ``.grad`` of ``parameters`` in place so their total norm is at most ``max_norm``;
    returns the total norm as a Tensor (``paddle.nn.utils.clip_grad_norm_``)."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    ps = [p for p in parameters if p._grad is not None]
    if not ps:
        return Tensor(np.array(0.0, dtype=np.float32))
    nt = float(norm_type)
    if nt == float("inf"):
        total = max(float(np.max(np.abs(p._grad))) for p in ps)
    else:
        total = float(sum(float(np.sum(np.abs(p._grad.astype(np.float64)) ** nt)) for p in ps) ** (1.0 / nt))
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {nt} is non-finite ({total}).")
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for p in ps:
            p._grad = p._grad * p._grad.dtype.type(coef)
    return Tensor(np.array(total, dtype=np.float32))


def clip_grad_value_(parameters, clip_value):
    """Clip the ``.grad`` of ``parameters`` into ``[-clip_value, clip_value]``."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    for p in parameters:
        if p._grad is not None:
            p._grad = np.clip(p._grad, -clip_value, clip_value).astype(p._grad.dtype)
