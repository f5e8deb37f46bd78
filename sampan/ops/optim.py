"""Optimizer update rules as registry ops (``sgd``, ``adam``, ``adamw``, ``momentum``, ``rmsprop``,
``adagrad``) with Paddle's slots and attributes, so a static program can contain them.

The arithmetic lives in the ``*_update`` functions below, written on ndarrays and evaluated in the
parameter's own dtype (float32 scalars for float32 parameters, as Paddle's CPU kernels do). The
registry kernels and the eager ``Optimizer.step`` (which calls these functions directly, without
tape or dispatch) share them, so eager and static training give the same numbers.

Memory discipline (it decides the speed on large parameters): the update functions advance the
accumulators they are given **in place** (the eager optimizer owns them; the registry kernels pass
copies, since kernels must not modify their inputs) and return the parameter as a **fresh** array
(one allocation per parameter and step, which the allocator serves from the block the previous
parameter array just released), so an array handed out earlier by ``Tensor.numpy()`` never changes.
"""
from __future__ import annotations

import math

import numpy as np

from .registry import op

__all__ = ["sgd_update", "adam_update", "adam_scalars", "adam_apply", "adam_apply_flat", "momentum_update",
           "rmsprop_update", "adagrad_update"]


def _scalar(a, dt):
    """The first element of a learning-rate / beta-pow array (or a Python number) as dtype ``dt``."""
    if a.__class__ is np.ndarray:
        return dt.type(a.item(0))
    return dt.type(a)


# ---------------------------------------------------------------------------- update rules
def sgd_update(p, g, lr):
    """``p - lr * g`` (a new array)."""
    out = np.multiply(g, _scalar(lr, p.dtype))
    return np.subtract(p, out, out=out) if out.dtype == p.dtype else p - out


_CONSTS: dict = {}


def adam_scalars(dtype, lr, beta1_pow, beta2_pow, beta1, beta2, epsilon, lr_ratio=1.0):
    """The per-step scalars of Paddle's Adam kernel, in the parameter dtype (float32 math for float32):
    ``(beta1, 1 - beta1, beta2, 1 - beta2, lr_t, eps_t, lr)`` with
    ``lr_t = lr * sqrt(1 - beta2_pow) / (1 - beta1_pow)`` and ``eps_t = epsilon * sqrt(1 - beta2_pow)``.

    All but ``lr`` are 0-d arrays (the first four cached, read-only): a ufunc takes a 0-d array
    operand as it is, while it converts a NumPy scalar to an array on every call (about 0.15 us
    each, six times per parameter and step). The values are the same."""
    key = (dtype, beta1, beta2, epsilon)
    c = _CONSTS.get(key)
    if c is None:
        t = dtype.type
        one = t(1)
        cs = [np.array(v) for v in (t(beta1), one - t(beta1), t(beta2), one - t(beta2))]
        for a in cs:
            a.flags.writeable = False
        c = _CONSTS[key] = (*cs, t(epsilon), one, t)
    b1, c1, b2, c2, eps, one, t = c
    lr = t(lr.item(0) if lr.__class__ is np.ndarray else lr)
    if lr_ratio != 1.0:
        lr = lr * t(lr_ratio)
    # math.sqrt of the float32 value rounded back to float32 is exactly float32 sqrt (double rounding
    # is innocuous for sqrt), and costs far less than a NumPy ufunc on a scalar
    s = t(math.sqrt(one - t(beta2_pow.item(0) if beta2_pow.__class__ is np.ndarray else beta2_pow)))
    lr_t = lr * (s / (one - t(beta1_pow.item(0) if beta1_pow.__class__ is np.ndarray else beta1_pow)))
    return b1, c1, b2, c2, np.asarray(lr_t), np.asarray(eps * s), lr


def adam_apply(p, g, m1, m2, scalars, coeff=0.0, with_decay=False):
    """One Adam (AdamW when ``with_decay``) step with precomputed ``adam_scalars``: advances ``m1``
    and ``m2`` in place and returns the new parameter (a fresh array).

    Paddle's CPU kernel (``phi/kernels/cpu/adam_kernel.cc``, ``funcs/jit/refer``)::

        m1 = beta1 * m1 + (1 - beta1) * g
        m2 = beta2 * m2 + (1 - beta2) * g * g
        p  = p - lr_t * (m1 / (sqrt(m2) + eps_t))

    AdamW first decays ``p - lr * coeff * p`` (decoupled weight decay; ``lr`` includes ``lr_ratio``).
    """
    b1, c1, b2, c2, lr_t, eps_t, lr = scalars
    tmp = np.multiply(g, c1)
    m1 *= b1
    m1 += tmp
    np.multiply(g, c2, out=tmp)
    tmp *= g
    m2 *= b2
    m2 += tmp
    return _adam_step(p, m1, m2, tmp, eps_t, lr_t, lr, coeff, with_decay)


def _adam_step(p, m1, m2, tmp, eps_t, lr_t, lr, coeff, with_decay):
    """The new parameter from the updated moments (``tmp``: scratch of ``p``'s shape, may be returned)."""
    np.sqrt(m2, out=tmp)
    tmp += eps_t
    np.divide(m1, tmp, out=tmp)
    tmp *= lr_t
    if with_decay and coeff:
        base = p - np.asarray(lr * p.dtype.type(coeff)) * p
        return np.subtract(base, tmp, out=base)
    return np.subtract(p, tmp, out=tmp)


def adam_apply_flat(p, gs, bounds, shapes, m1, m2, scalars, coeff=0.0, with_decay=False):
    """``adam_apply`` on a group of parameters held in flat arrays (the multi-tensor step): ``p``,
    ``m1``, ``m2`` are 1-D, parameter ``i`` is ``p[a:b]`` with ``(a, b) = bounds[i]`` and gradient
    ``gs[i]`` of shape ``shapes[i]``. The same float ops per element as ``adam_apply``, without
    concatenating the gradients (their two uses write straight into the flat scratch array).
    Returns the new flat parameter array (fresh) and its views shaped as the parameters."""
    b1, c1, b2, c2, lr_t, eps_t, lr = scalars
    tmp = np.empty_like(p)
    views = [tmp[a:b].reshape(s) for (a, b), s in zip(bounds, shapes)]
    for g, v in zip(gs, views):
        np.multiply(g, c1, out=v)
    m1 *= b1
    m1 += tmp
    for g, v in zip(gs, views):
        np.multiply(g, c2, out=v)
        v *= g
    m2 *= b2
    m2 += tmp
    new = _adam_step(p, m1, m2, tmp, eps_t, lr_t, lr, coeff, with_decay)
    return new, views if new is tmp else [new[a:b].reshape(s) for (a, b), s in zip(bounds, shapes)]


def adam_update(p, g, m1, m2, lr, beta1_pow, beta2_pow, beta1, beta2, epsilon,
                coeff=0.0, lr_ratio=1.0, with_decay=False):
    """One Adam (or AdamW when ``with_decay``) step (see ``adam_apply``): ``m1``/``m2`` in place, new
    parameter returned. The beta pow accumulators are advanced by the caller (``beta*_pow *= beta*``)."""
    sc = adam_scalars(p.dtype, lr, beta1_pow, beta2_pow, beta1, beta2, epsilon, lr_ratio)
    return adam_apply(p, g, m1, m2, sc, coeff, with_decay)


def momentum_update(p, g, v, lr, mu, use_nesterov=False, regularization_method="",
                    regularization_coeff=0.0, rescale_grad=1.0):
    """One Momentum step: ``v`` in place, new parameter returned.

    ``g = rescale_grad * g (+ coeff * p for l2_decay); v = mu * v + g;``
    ``p -= lr * v`` or, with Nesterov, ``p -= lr * (g + mu * v)``.
    """
    dt = p.dtype
    lr = _scalar(lr, dt)
    mu = dt.type(mu)
    if rescale_grad != 1.0:
        g = g * dt.type(rescale_grad)
    if regularization_method == "l2_decay":
        g = g + dt.type(regularization_coeff) * p
    v *= mu
    v += g
    if use_nesterov:
        step = np.multiply(v, mu)
        step += g
        step *= lr
    else:
        step = np.multiply(v, lr)
    return np.subtract(p, step, out=step)


def rmsprop_update(p, g, ms, mg, mom, lr, epsilon, decay, momentum, centered):
    """One RMSProp step: ``ms``, ``mg`` (centered only), ``mom`` in place, new parameter returned.

    ``ms = rho*ms + (1-rho)*g*g``; centered: ``mg = rho*mg + (1-rho)*g`` and the denominator is
    ``sqrt(ms - mg*mg + eps)``, else ``sqrt(ms + eps)``; ``mom = momentum*mom + lr*g/denominator``;
    ``p -= mom``.
    """
    dt = p.dtype
    one = dt.type(1)
    rho, eps, mu, lr = dt.type(decay), dt.type(epsilon), dt.type(momentum), _scalar(lr, dt)
    tmp = np.multiply(g, one - rho)
    tmp *= g
    ms *= rho
    ms += tmp
    if centered:
        np.multiply(g, one - rho, out=tmp)
        mg *= rho
        mg += tmp
        np.multiply(mg, mg, out=tmp)
        np.subtract(ms, tmp, out=tmp)
        tmp += eps
    else:
        np.add(ms, eps, out=tmp)
    np.sqrt(tmp, out=tmp)
    np.divide(g, tmp, out=tmp)
    tmp *= lr
    mom *= mu
    mom += tmp
    return np.subtract(p, mom, out=tmp)


def adagrad_update(p, g, moment, lr, epsilon):
    """One Adagrad step: ``moment += g*g`` in place; returns ``p - lr*g/(sqrt(moment)+eps)`` (new)."""
    dt = p.dtype
    tmp = np.multiply(g, g)
    moment += tmp
    np.sqrt(moment, out=tmp)
    tmp += dt.type(epsilon)
    np.divide(g, tmp, out=tmp)
    tmp *= _scalar(lr, dt)
    return np.subtract(p, tmp, out=tmp)


# ---------------------------------------------------------------------------- registry ops
@op("sgd", "Param LearningRate Grad MasterParam?", "ParamOut MasterParamOut?",
    {"multi_precision": ("bool", False)})
def sgd(ins, attrs):
    return {"ParamOut": sgd_update(ins["Param"], ins["Grad"], ins["LearningRate"]), "MasterParamOut": None}


_ADAM_ATTRS = {
    "beta1": ("float", 0.9), "beta2": ("float", 0.999), "epsilon": ("float", 1e-8),
    "lazy_mode": ("bool", False), "min_row_size_to_use_multithread": ("long", 1000),
    "multi_precision": ("bool", False), "use_global_beta_pow": ("bool", False),
}
_ADAM_INS = ("Param Grad LearningRate Moment1 Moment2 Beta1Pow Beta2Pow Beta1Tensor? Beta2Tensor? "
             "EpsilonTensor? MasterParam? SkipUpdate?")
_ADAM_OUTS = "ParamOut Moment1Out Moment2Out Beta1PowOut Beta2PowOut MasterParamOut?"


def _adam_kernel(ins, attrs, coeff=0.0, lr_ratio=1.0, with_decay=False):
    skip = ins.get("SkipUpdate")
    p, b1p, b2p = ins["Param"], ins["Beta1Pow"], ins["Beta2Pow"]
    if skip is not None and bool(np.asarray(skip).reshape(-1)[0]):
        return {"ParamOut": p.copy(), "Moment1Out": ins["Moment1"].copy(), "Moment2Out": ins["Moment2"].copy(),
                "Beta1PowOut": b1p.copy(), "Beta2PowOut": b2p.copy(), "MasterParamOut": None}
    beta1, beta2, eps = (attrs[a] if ins.get(s) is None else float(np.asarray(ins[s]).reshape(-1)[0])
                         for a, s in (("beta1", "Beta1Tensor"), ("beta2", "Beta2Tensor"), ("epsilon", "EpsilonTensor")))
    if p.shape != ins["Grad"].shape:
        raise ValueError(f"{'adamw' if with_decay else 'adam'}: Param {list(p.shape)} and Grad "
                         f"{list(ins['Grad'].shape)} must have the same shape.")
    m1, m2 = ins["Moment1"].copy(), ins["Moment2"].copy()
    pn = adam_update(p, ins["Grad"], m1, m2, ins["LearningRate"], b1p, b2p, beta1, beta2, eps, coeff, lr_ratio,
                     with_decay)
    if attrs["use_global_beta_pow"]:
        b1o, b2o = b1p.copy(), b2p.copy()
    else:
        b1o = b1p * b1p.dtype.type(beta1)
        b2o = b2p * b2p.dtype.type(beta2)
    return {"ParamOut": pn, "Moment1Out": m1, "Moment2Out": m2, "Beta1PowOut": b1o, "Beta2PowOut": b2o,
            "MasterParamOut": None}


@op("adam", _ADAM_INS, _ADAM_OUTS, dict(_ADAM_ATTRS))
def adam(ins, attrs):
    return _adam_kernel(ins, attrs)


@op("adamw", _ADAM_INS, _ADAM_OUTS,
    dict(_ADAM_ATTRS, lr_ratio=("float", 1.0), coeff=("float", 0.01), with_decay=("bool", False)))
def adamw(ins, attrs):
    return _adam_kernel(ins, attrs, attrs["coeff"], attrs["lr_ratio"], attrs["with_decay"])


@op("momentum", "Param Grad Velocity LearningRate MasterParam?", "ParamOut VelocityOut MasterParamOut?",
    {"mu": ("float", 0.9), "use_nesterov": ("bool", False), "regularization_method": ("string", ""),
     "regularization_coeff": ("float", 0.0), "multi_precision": ("bool", False), "rescale_grad": ("float", 1.0)})
def momentum(ins, attrs):
    vn = ins["Velocity"].copy()
    pn = momentum_update(ins["Param"], ins["Grad"], vn, ins["LearningRate"], attrs["mu"],
                             attrs["use_nesterov"], attrs["regularization_method"], attrs["regularization_coeff"],
                             attrs["rescale_grad"])
    return {"ParamOut": pn, "VelocityOut": vn, "MasterParamOut": None}


@op("rmsprop", "Param MeanSquare MeanGrad? LearningRate Grad Moment MasterParam?",
    "ParamOut MomentOut MeanSquareOut MeanGradOut? MasterParamOut?",
    {"epsilon": ("float", 1e-10), "decay": ("float", 0.9), "momentum": ("float", 0.0),
     "centered": ("bool", False), "multi_precision": ("bool", False)})
def rmsprop(ins, attrs):
    mg = ins.get("MeanGrad")
    mg = np.zeros_like(ins["Param"]) if mg is None else mg.copy()
    mom, ms = ins["Moment"].copy(), ins["MeanSquare"].copy()
    pn = rmsprop_update(ins["Param"], ins["Grad"], ms, mg, mom, ins["LearningRate"], attrs["epsilon"],
                        attrs["decay"], attrs["momentum"], attrs["centered"])
    return {"ParamOut": pn, "MomentOut": mom, "MeanSquareOut": ms, "MeanGradOut": mg, "MasterParamOut": None}


@op("adagrad", "Param Grad Moment LearningRate MasterParam?", "ParamOut MomentOut MasterParamOut?",
    {"epsilon": ("float", 1e-6), "multi_precision": ("bool", False)})
def adagrad(ins, attrs):
    mn = ins["Moment"].copy()
    pn = adagrad_update(ins["Param"], ins["Grad"], mn, ins["LearningRate"], attrs["epsilon"])
    return {"ParamOut": pn, "MomentOut": mn, "MasterParamOut": None}
