"""``optimizer.Adam`` (Paddle's formula: bias correction folded into the learning rate and epsilon).

Accumulators per parameter: ``moment1``, ``moment2`` (parameter shape), ``beta1_pow_acc``,
``beta2_pow_acc`` (shape ``[1]``, starting at ``beta1``/``beta2`` and multiplied by them after each
step).

Multi-tensor step (as PyTorch's ``foreach`` Adam), for groups of at least
``_MULTI_TENSOR_MIN_PARAMS`` parameters (below that it does not pay, measured): when every
parameter of the group has a gradient and they share dtype (float32/float64), learning-rate scale,
decay options and beta pow values, the group is updated by one set of ufunc calls on flat arrays
(``ops.optim.adam_apply_flat``): the group's ``moment1``/``moment2`` live in one flat buffer each
(the accumulator Tensors hold reshaped views of it, so ``state_dict()`` stays live), each gradient
is read twice into a flat scratch array (no concatenation pass), and the new parameters are
reshaped views of ONE fresh flat array (parameters are never modified in place). The arithmetic per
element is the per-parameter kernel's (``adam_apply``), so the results are bit-identical. A
parameter or accumulator whose array was replaced (``set_value``, ``set_state_dict``, a
per-parameter step) is detected by identity and gathered again; when the conditions fail the
per-parameter path runs.
"""
from __future__ import annotations

from operator import attrgetter, is_

import numpy as np

from ..core.tensor import Tensor
from ..ops.optim import adam_scalars, adam_apply, adam_apply_flat
from .optimizer import Optimizer, _NO_ATTR, _scaled_lr

__all__ = ["Adam"]


def _beta_value(b, what):
    if isinstance(b, Tensor):
        return float(b.item())
    b = float(b)
    if not 0 <= b < 1:
        raise ValueError(f"Adam: {what} must be in [0, 1). Received: {what}={b}.")
    return b


class Adam(Optimizer):
    """Adam.

    ``lr_t = lr * sqrt(1 - beta2_pow) / (1 - beta1_pow)``;
    ``m1 = beta1*m1 + (1-beta1)*g``; ``m2 = beta2*m2 + (1-beta2)*g*g``;
    ``p -= lr_t * m1 / (sqrt(m2) + epsilon * sqrt(1 - beta2_pow))``.

    Example:
        >>> import sampan as paddle
        >>> lin = paddle.nn.Linear(2, 1)
        >>> adam = paddle.optimizer.Adam(learning_rate=0.01, parameters=lin.parameters())
        >>> lin(paddle.ones([3, 2])).mean().backward()
        >>> adam.step(); adam.clear_grad()
        >>> sorted(adam.state_dict())[0]
        'linear_0.b_0_beta1_pow_acc_0'
    """

    _acc_kinds = ("moment1", "moment2", "beta1_pow_acc", "beta2_pow_acc")
    _moment1_acc_str = "moment1"
    _moment2_acc_str = "moment2"
    _beta1_pow_acc_str = "beta1_pow_acc"
    _beta2_pow_acc_str = "beta2_pow_acc"

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, parameters=None,
                 weight_decay=None, grad_clip=None, lazy_mode=False, multi_precision=False, use_multi_tensor=False,
                 name=None, amsgrad=False):
        if not isinstance(epsilon, Tensor) and not float(epsilon) >= 0:
            raise ValueError(f"Adam: epsilon must be >= 0. Received: epsilon={epsilon}.")
        _beta_value(beta1, "beta1")
        _beta_value(beta2, "beta2")
        if amsgrad:
            raise NotImplementedError("Adam(amsgrad=True) is not supported by sampan yet.")
        self._beta1, self._beta2, self._epsilon = beta1, beta2, epsilon
        self._lazy_mode = lazy_mode
        self._multi_precision = multi_precision
        self._step_cache = {}
        self._flat = {}             # id(group) -> _FlatGroup (multi-tensor step)
        self._last_scalars = None
        self._per_param_decay = type(self)._decay_args is not Adam._decay_args
        self._flat_ok = type(self)._update is Adam._update     # a subclass's own rule: per parameter
        super().__init__(learning_rate, parameters, weight_decay, grad_clip, name)

    def _group_defaults(self):
        return {"beta1": self._beta1, "beta2": self._beta2, "epsilon": self._epsilon}

    def _create_state(self, param, group):
        b1 = _beta_value(group["beta1"], "beta1")
        b2 = _beta_value(group["beta2"], "beta2")
        return (self._add_accumulator("moment1", param),
                self._add_accumulator("moment2", param),
                self._add_accumulator("beta1_pow_acc", param, fill_value=b1, shape=[1]),
                self._add_accumulator("beta2_pow_acc", param, fill_value=b2, shape=[1]))

    def _decay_args(self, p, group):
        return 0.0, 1.0, False

    def step(self):
        self._step_cache = {}
        self._last_scalars = None
        super().step()

    def _step_scalars(self, dt, lr, a1, a2, group, ratio):
        """``(adam_scalars, advanced beta1 pow, advanced beta2 pow)``. Parameters normally share beta
        pow values and options: computed once per step (the new [1] arrays are never written in
        place, so the accumulators can share them)."""
        b1, b2, eps = group["beta1"], group["beta2"], group["epsilon"]
        if b1.__class__ is not float or b2.__class__ is not float or eps.__class__ is not float:
            b1, b2, eps = _beta_value(b1, "beta1"), _beta_value(b2, "beta2"), float(eps)
        key = (dt, lr, a1.item(0), a2.item(0), b1, b2, eps, ratio)
        hit = self._step_cache.get(key)
        if hit is None:
            sc = adam_scalars(dt, lr, a1, a2, b1, b2, eps, ratio)
            bk = (a1.dtype, a2.dtype, b1, b2)
            bs = _BETA_ARRAYS.get(bk)
            if bs is None:      # [1] arrays: array * array is cheaper than array * scalar
                bs = _BETA_ARRAYS[bk] = (np.full(1, b1, a1.dtype), np.full(1, b2, a2.dtype))
                for b in bs:
                    b.flags.writeable = False
            hit = self._step_cache[key] = (sc, a1 * bs[0], a2 * bs[1])
        return hit

    def _update(self, p, g, accs, lr, group):
        m1, m2, b1p, b2p = accs
        coeff, ratio, decay = self._decay_args(p, group) if self._per_param_decay else _NO_DECAY
        a1, a2, pa = b1p._data, b2p._data, p._data
        last = self._last_scalars     # the previous parameter's: after the first step, the parameters
        if (last is not None and last[0] is a1 and last[1] is a2 and last[2] is group     # share their
                and last[3] == lr and last[4] == ratio and last[5] == pa.dtype):           # beta pow arrays
            sc, n1, n2 = last[6]
        else:
            hit = self._step_scalars(pa.dtype, lr, a1, a2, group, ratio)
            self._last_scalars = (a1, a2, group, lr, ratio, pa.dtype, hit)
            sc, n1, n2 = hit
        p._data = adam_apply(pa, g, m1._data, m2._data, sc, coeff, decay)   # moments in place
        b1p._data, b2p._data = n1, n2

    # ------------------------------------------------------------------ multi-tensor step
    # The flat step saves ~7 ufunc calls per parameter beyond the first and costs a fixed overhead
    # (identity checks, views, more code on the step's path). Measured per training step in
    # bench/train_step.py-style loops (Linear 784-10 then 10-10 layers, batch 16, 1 BLAS thread):
    # 2 parameters (the LinearNet) 2-6% slower, 3: 0-4% slower, 4: even, 6: 4% faster, 10: 10% faster.
    # So smaller groups take the per-parameter path.
    _MULTI_TENSOR_MIN_PARAMS = 4

    def _step_group(self, group, pg, lr):
        if len(pg) < self._MULTI_TENSOR_MIN_PARAMS or not self._flat_ok or not self._multi_tensor_step(group, pg, lr):
            super()._step_group(group, pg, lr)

    def _multi_tensor_step(self, group, pg, lr):
        """The whole group in one set of ufunc calls on flat arrays; False (nothing changed but
        accumulators created) when the group does not qualify this step."""
        fg = self._flat.get(id(group))
        if fg is None or not fg.current(pg):
            fg = self._flat_group(group, pg, fg)
            if fg is None:
                return False
        dt, scale = fg.dtype, fg.scale
        default_reg = group["weight_decay"]
        gs = []
        for p, g in pg:
            d = p.__dict__
            if g.dtype != dt or d.get("optimize_attr", _NO_ATTR)["learning_rate"] != scale:
                del self._flat[id(group)]
                return False
            reg = d.get("regularizer") or default_reg
            if reg is not None:
                g = reg.apply(p._data, g)
                if g.dtype != dt:
                    return False
            gs.append(g)
        if self._per_param_decay:
            coeff, ratio, decay = dargs = self._decay_args(pg[0][0], group)
            for p, _ in pg:
                if self._decay_args(p, group) != dargs:
                    return False
        else:
            coeff, ratio, decay = 0.0, 1.0, False
        b1, b2, eps = group["beta1"], group["beta2"], group["epsilon"]
        if b1.__class__ is not float or b2.__class__ is not float or eps.__class__ is not float:
            b1, b2, eps = _beta_value(b1, "beta1"), _beta_value(b2, "beta2"), float(eps)
        a1, a2 = fg.b1p, fg.b2p
        sc = adam_scalars(dt, lr if scale == 1.0 else _scaled_lr(lr, scale, dt), a1, a2, b1, b2, eps, ratio)
        flat, views = adam_apply_flat(fg.p_flat, gs, fg.bounds, fg.shapes, fg.m1, fg.m2, sc, coeff, decay)
        fg.advance(flat, views, a1 * a1.dtype.type(b1), a2 * a2.dtype.type(b2))   # moments were in place
        return True

    def _flat_group(self, group, pg, fg):
        """``fg`` (or a new ``_FlatGroup``) with its arrays gathered again, accumulators created as
        needed; None (and none kept) when the group does not qualify: every parameter must have a
        gradient (the others' beta pows would fall behind), and all must share dtype, learning-rate
        scale and beta pow values."""
        self._flat.pop(id(group), None)
        if len(pg) != len(group["params"]) or len({id(p) for p, _ in pg}) != len(pg):
            return None
        p0 = pg[0][0]
        dt = p0._data.dtype
        if dt not in _FLAT_DTYPES:
            return None
        scale = p0.__dict__.get("optimize_attr", _NO_ATTR)["learning_rate"]
        for p, g in pg:
            if (p._data.dtype != dt or g.dtype != dt
                    or p.__dict__.get("optimize_attr", _NO_ATTR)["learning_rate"] != scale):
                return None
        state = self._state
        accs = []
        for p, _ in pg:
            a = state.get(id(p))
            if a is None:
                a = state[id(p)] = self._create_state(p, group)
                self._already_create_accumulater.add(p.name)
            accs.append(a)
        a1, a2 = accs[0][2]._data, accs[0][3]._data
        for a in accs:
            x1, x2 = a[2]._data, a[3]._data
            if (x1 is not a1 and x1.item(0) != a1.item(0)) or (x2 is not a2 and x2.item(0) != a2.item(0)):
                return None
        if fg is None or fg.dtype != dt or len(fg.params) != len(pg) or not all(map(is_, _params(pg), fg.params)):
            fg = _FlatGroup(pg, accs, dt)
        fg.scale = scale
        if not fg.gather():
            return None
        self._flat[id(group)] = fg
        return fg

    def _static_acc_specs(self, param):
        return [("moment1", 0.0, None), ("moment2", 0.0, None), ("beta1_pow_acc", float(self._beta1), [1]),
                ("beta2_pow_acc", float(self._beta2), [1])]

    def _static_update(self, param, grad, lr_var, accs):
        from ..core.dispatch import run_op
        m1, m2, b1p, b2p = accs
        attrs = {"beta1": float(self._beta1), "beta2": float(self._beta2), "epsilon": float(self._epsilon),
                 "lazy_mode": self._lazy_mode, "multi_precision": False}
        run_op("adam", {"Param": param, "Grad": grad, "LearningRate": lr_var, "Moment1": m1, "Moment2": m2,
                        "Beta1Pow": b1p, "Beta2Pow": b2p}, attrs,
               bind={"ParamOut": param, "Moment1Out": m1, "Moment2Out": m2, "Beta1PowOut": b1p, "Beta2PowOut": b2p})


_FLAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_NO_DECAY = (0.0, 1.0, False)
_BETA_ARRAYS: dict = {}   # (beta pow dtypes, beta1, beta2) -> beta1, beta2 as read-only [1] arrays
_DATA = attrgetter("_data")


def _params(pg):
    return [p for p, _ in pg]


class _FlatGroup:
    """A parameter group's flat arrays for the multi-tensor step.

    ``m1``/``m2``: the moments, one flat buffer each, whose reshaped views are the accumulator
    Tensors' arrays; ``p_flat``: the flat array whose views the parameters hold; ``b1p``/``b2p``: the
    beta pow arrays all accumulators share. ``tensors`` (parameters, moment1s, moment2s, beta1
    pows, beta2 pows) should hold ``arrays``: identity tells whether an array is still ours.
    """

    __slots__ = ("params", "accs", "dtype", "scale", "shapes", "bounds", "tensors", "arrays", "m1", "m2",
                 "p_flat", "b1p", "b2p")

    def __init__(self, pg, accs, dtype):
        self.params = _params(pg)
        self.accs = accs
        self.dtype = dtype
        self.scale = 1.0
        self.shapes = [p._data.shape for p in self.params]
        self.bounds = []
        off = 0
        for p in self.params:
            self.bounds.append((off, off + p._data.size))
            off += p._data.size
        self.tensors = (self.params + [a[0] for a in accs] + [a[1] for a in accs] + [a[2] for a in accs]
                        + [a[3] for a in accs])
        self.arrays = [None] * len(self.tensors)
        self.m1 = self.m2 = self.p_flat = None
        self.b1p, self.b2p = accs[0][2]._data, accs[0][3]._data

    def current(self, pg):
        """Same parameters, and every parameter / accumulator still holds our array."""
        return (len(pg) == len(self.params) and all(map(is_, _params(pg), self.params))
                and all(map(is_, map(_DATA, self.tensors), self.arrays)))

    def _views(self, flat):
        return [flat[a:b].reshape(s) for (a, b), s in zip(self.bounds, self.shapes)]

    def gather(self):
        """Make the parameters and moments views of flat arrays again (after ``set_value``,
        ``set_state_dict`` or a per-parameter step; arrays that are still ours are kept) and share
        the beta pows; False when that cannot be (a dtype or shape changed, beta pows differ)."""
        n, dt = len(self.params), self.dtype
        flats = []
        for k in range(3):
            ts, views = self.tensors[k * n:(k + 1) * n], self.arrays[k * n:(k + 1) * n]
            if all(map(is_, map(_DATA, ts), views)):
                flats.append(None)
                continue
            if any(t._data.dtype != dt or t._data.shape != s for t, s in zip(ts, self.shapes)):
                return False
            flats.append(np.concatenate([t._data for t in ts], axis=None))
        b1p, b2p = self.b1p, self.b2p
        for a in self.accs:
            x1, x2 = a[2]._data, a[3]._data
            if (x1 is not b1p and x1.item(0) != b1p.item(0)) or (x2 is not b2p and x2.item(0) != b2p.item(0)):
                return False
        pf, m1, m2 = flats
        if pf is not None:
            self.p_flat = pf      # the parameters get views of the next step's array
            self.arrays[:n] = self._views(pf)
        for k, flat in ((1, m1), (2, m2)):
            if flat is not None:
                views = self._views(flat)
                for t, v in zip(self.tensors[k * n:(k + 1) * n], views):
                    t._data = v
                self.arrays[k * n:(k + 1) * n] = views
                if k == 1:
                    self.m1 = flat
                else:
                    self.m2 = flat
        self.arrays[3 * n:] = [b1p] * n + [b2p] * n
        return True

    def advance(self, flat, views, b1p, b2p):
        """After the update: the parameters become ``views`` of ``flat``, every beta pow ``b1p``/``b2p``."""
        n = len(self.params)
        for p, v in zip(self.params, views):
            p._data = v
        for a in self.accs:
            a[2]._data, a[3]._data = b1p, b2p
        self.arrays[:n] = views
        self.arrays[3 * n:] = [b1p] * n + [b2p] * n
        self.p_flat, self.b1p, self.b2p = flat, b1p, b2p
