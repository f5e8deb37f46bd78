"""``Optimizer``: the base of SGD, Momentum, Adam, AdamW, RMSProp, Adagrad (``paddle.optimizer``).

Eager ``step()`` runs, per parameter group: gradient clipping, then regularization (a parameter's
own ``ParamAttr`` regularizer wins over ``weight_decay``), then the update rule of
``sampan.ops.optim`` on the arrays directly (no tape, no dispatch): accumulators advance in place,
each parameter gets a fresh array (so arrays handed out by ``numpy()`` keep their values).
Accumulators are Tensors named ``<param.name>_<acc>_<n>`` with ``n`` from the unique-name table
(``linear_0.w_0_moment1_0``), kept in ``_accumulators[acc][param.name]`` so ``state_dict()`` lists
them grouped by kind, parameters in order, as Paddle does (FORMATS.md section 1.4).

``set_state_dict`` restores accumulators by name (those not created yet are kept and used when the
first step creates them) and the learning-rate scheduler's state, so the next step is
bit-identical to an uninterrupted run.
"""
from __future__ import annotations

import re
from collections import defaultdict

import numpy as np

from ..core import unique_name
from ..core.autograd import cleared_grad
from ..core.tensor import Tensor
from ..core.dispatch import is_symbolic, in_dynamic_mode
from ..regularizer import L2Decay, WeightDecayRegularizer
from .lr import LRScheduler

__all__ = ["Optimizer"]


class Optimizer:
    """Base class of the optimizers.

    Args:
        learning_rate: a float or an ``optimizer.lr.LRScheduler``.
        parameters: the Tensors to update (``layer.parameters()``), or a list of parameter-group
            dicts ``{'params': [...], 'learning_rate': scale, 'weight_decay': ..., ...}``.
        weight_decay: a float (L2 coefficient), ``L2Decay`` or ``L1Decay``.
        grad_clip: ``nn.ClipGradByGlobalNorm`` / ``ClipGradByNorm`` / ``ClipGradByValue``.
        name: unused (Paddle compatibility).
    """

    _acc_kinds: tuple = ()     # accumulator kinds in creation order (subclasses)

    def __init__(self, learning_rate, parameters=None, weight_decay=None, grad_clip=None, name=None):
        if isinstance(learning_rate, int) and not isinstance(learning_rate, bool):
            learning_rate = float(learning_rate)
        if not isinstance(learning_rate, (float, LRScheduler)):
            raise TypeError(f"{type(self).__name__}: learning_rate must be a float or an LRScheduler. "
                            f"Received: {type(learning_rate).__name__}.")
        if grad_clip is not None and not callable(getattr(grad_clip, "_clip_arrays", None)):
            raise TypeError(f"{type(self).__name__}: grad_clip must be ClipGradByGlobalNorm, ClipGradByNorm or "
                            f"ClipGradByValue. Received: {type(grad_clip).__name__}.")
        if isinstance(parameters, Tensor):
            raise TypeError(f"{type(self).__name__}: parameters must be an iterable of Tensors (e.g. "
                            "layer.parameters()), not a single Tensor.")
        if isinstance(parameters, dict):
            raise TypeError(f"{type(self).__name__}: parameters must not be a dict; for parameter groups pass a "
                            "list of dicts.")
        self._parameter_list = list(parameters) if parameters is not None else None
        if self._parameter_list is None and in_dynamic_mode():
            raise AttributeError(f"{type(self).__name__}: the parameters argument should not be None in dygraph "
                                 "mode (pass layer.parameters()).")
        self._name = name
        self._learning_rate = learning_rate
        self.regularization = _to_regularizer(weight_decay)
        self._grad_clip = grad_clip
        self._accumulators = defaultdict(dict)    # acc kind -> {param.name: Tensor}
        self._accumulators_holder = {}
        self._state = {}                          # id(param) -> [accumulator Tensors] (fast path)
        self._already_create_accumulater = set()
        self._master_weights = {}
        self._dtype = None
        self._default_dict = {"weight_decay": self.regularization, "grad_clip": grad_clip}
        self._groups = []
        self.clear_gradients = self.clear_grad
        if self._parameter_list:
            if isinstance(self._parameter_list[0], dict):
                for g in self._parameter_list:
                    self._add_param_group(dict(g))
                self._dtype = self._groups[0]["params"][0].dtype if self._groups[0]["params"] else None
            else:
                self._check_params(self._parameter_list)
                self._groups.append(self._make_group({"params": self._parameter_list}))
                self._dtype = self._parameter_list[0].dtype
        self._param_groups = self._parameter_list if not (self._parameter_list and
                                                          isinstance(self._parameter_list[0], dict)) else self._groups

    # ------------------------------------------------------------------ groups
    def _check_params(self, params):
        for p in params:
            if not isinstance(p, Tensor) and not is_symbolic(p):
                raise TypeError(f"{type(self).__name__}: every parameter must be a Tensor. "
                                f"Received: {type(p).__name__}.")

    def _group_defaults(self):
        """Per-group options of the subclass (``beta1``, ``momentum`` ...) with the optimizer's values."""
        return {}

    def _make_group(self, group):
        for k, v in self._default_dict.items():
            group.setdefault(k, v)
        for k, v in self._group_defaults().items():
            group.setdefault(k, v)
        group["weight_decay"] = _to_regularizer(group["weight_decay"])
        return group

    def _add_param_group(self, group):
        """Add ``{'params': [...], 'learning_rate': scale, 'weight_decay': ..., ...}``."""
        if "params" not in group:
            raise ValueError(f"{type(self).__name__}: a parameter group needs a 'params' entry.")
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("parameter group 'params' must be an ordered collection, not a set.")
        params = list(params)
        self._check_params(params)
        seen = {id(p) for g in self._groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        group["params"] = params
        if "learning_rate" in group:
            for p in params:
                if hasattr(p, "optimize_attr"):
                    p.optimize_attr["learning_rate"] = float(group["learning_rate"])
        self._groups.append(self._make_group(group))

    # ------------------------------------------------------------------ learning rate
    def get_lr(self):
        """The current learning rate as a float."""
        lr = self._learning_rate
        return float(lr()) if isinstance(lr, LRScheduler) else float(lr)

    def set_lr(self, value):
        """Set a float learning rate (not allowed when the learning rate is an LRScheduler)."""
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TypeError(f"set_lr: the value must be a float. Received: {type(value).__name__}.")
        if isinstance(self._learning_rate, LRScheduler):
            raise RuntimeError("set_lr: the learning rate is an LRScheduler; call set_lr only with a float "
                               "learning rate (or use set_lr_scheduler).")
        self._learning_rate = float(value)

    def set_lr_scheduler(self, scheduler):
        if not isinstance(scheduler, LRScheduler):
            raise TypeError(f"set_lr_scheduler: expected an LRScheduler, received {type(scheduler).__name__}.")
        self._learning_rate = scheduler

    # ------------------------------------------------------------------ accumulators
    def _add_accumulator(self, kind, param, fill_value=0.0, shape=None, dtype=None):
        """Create accumulator ``<param.name>_<kind>_<n>`` (restored from a loaded state if present)."""
        d = self._accumulators[kind]
        if param.name in d:
            return d[param.name]
        name = unique_name.generate(param.name + "_" + kind)
        pdt = param.dtype
        if dtype is None:
            dtype = "float32" if pdt.name in ("float16", "bfloat16") else pdt.name
        shape = list(param.shape) if shape is None else list(shape)
        t = Tensor(np.full(shape, fill_value, dtype=np.dtype(dtype)), name=name, persistable=True)
        if self._accumulators_holder:
            key = _find_state_key(self._accumulators_holder, name, param.name, kind)
            if key is None:
                raise KeyError(f"{type(self).__name__}: the loaded optimizer state has no accumulator {name!r} "
                               f"for parameter {param.name!r} (it holds {_preview(self._accumulators_holder)}). "
                               "Accumulator names follow parameter names: build the model with the same "
                               "parameter names (same construction order / a fresh unique_name.guard()).")
            _load_into(t, self._accumulators_holder.pop(key), key)
        d[param.name] = t
        return t

    def _create_state(self, param, group):
        """Accumulators of one parameter, in the order ``_update`` takes them."""
        raise NotImplementedError

    def _get_accumulator(self, kind, param):
        d = self._accumulators.get(kind, {})
        if param.name not in d:
            raise KeyError(f"accumulator {kind!r} does not exist for parameter {param.name!r}")
        return d[param.name]

    _get_accumulator_master = _get_accumulator

    # ------------------------------------------------------------------ stepping
    def _update(self, p, g, accs, lr, group):
        """Apply the update rule to ``p`` with gradient array ``g`` (subclasses)."""
        raise NotImplementedError

    def _lr_value(self):
        lr = self._learning_rate
        return float(lr.last_lr) if isinstance(lr, LRScheduler) else lr

    def step(self):
        """Update every parameter that has a gradient (eager mode).

        Example:
            >>> import sampan as paddle
            >>> lin = paddle.nn.Linear(2, 1)
            >>> opt = paddle.optimizer.SGD(0.1, parameters=lin.parameters())
            >>> lin(paddle.ones([1, 2])).sum().backward()
            >>> opt.step(); opt.clear_grad()
        """
        lr = self._lr_value()
        for group in self._groups:
            pg = [(p, p._grad) for p in group["params"] if not p.stop_gradient and p._grad is not None]
            if not pg:
                continue
            clip = group["grad_clip"]
            if clip is not None:
                pg = clip._clip_arrays(pg)
            self._step_group(group, pg, lr)

    def _step_group(self, group, pg, lr):
        """Update the parameters of ``group`` with their (clipped) gradient arrays ``pg``, one by one."""
        state = self._state
        default_reg = group["weight_decay"]
        update = self._update
        for p, g in pg:
            d = p.__dict__
            reg = d.get("regularizer") or default_reg
            if reg is not None:
                g = reg.apply(p._data, g)
            accs = state.get(id(p))
            if accs is None:
                accs = state[id(p)] = self._create_state(p, group)
                self._already_create_accumulater.add(p.name)
            scale = d.get("optimize_attr", _NO_ATTR)["learning_rate"]
            update(p, g, accs, lr if scale == 1.0 else _scaled_lr(lr, scale, p._data.dtype), group)

    def minimize(self, loss, startup_program=None, parameters=None, no_grad_set=None):
        """Eager: back-propagate ``loss`` (unless its graph was already used by ``loss.backward()``),
        then ``step()``; returns ``(None, [(param, grad)])``. Static: append backward and update ops."""
        if is_symbolic(loss):
            from ..static.backward import minimize_static  # the static-mode branch (sampan.static)
            return minimize_static(self, loss, startup_program=startup_program, parameters=parameters,
                                   no_grad_set=no_grad_set)
        node = getattr(loss, "_node", None)
        if node is not None and node.ins is not None:
            loss.backward()
        params = list(parameters) if parameters is not None else [p for g in self._groups for p in g["params"]]
        params_grads = [(p, p.grad) for p in params if not p.stop_gradient and p._grad is not None]
        if parameters is not None:
            keep = {id(p) for p in params}
            saved = [(g, g["params"]) for g in self._groups]
            try:
                for g in self._groups:
                    g["params"] = [p for p in g["params"] if id(p) in keep]
                self.step()
            finally:
                for g, ps in saved:
                    g["params"] = ps
        else:
            self.step()
        return None, params_grads

    def clear_grad(self, set_to_zero=True):
        """Reset the gradients of the optimized parameters to zeros (``set_to_zero=True``, Paddle's
        default) or to None. The zeros are a read-only broadcast view (no memory, no fill) that the
        next backward replaces instead of adding to."""
        zeros = _CLEARED
        for group in self._groups:
            for p in group["params"]:
                g = p._grad
                if g is not None and not p.stop_gradient:
                    if set_to_zero:
                        key = (p._data.shape, g.dtype)
                        z = zeros.get(key)
                        p._grad = z if z is not None else zeros.setdefault(key, cleared_grad(*key))
                    else:
                        p._grad = None

    # ------------------------------------------------------------------ static programs
    def _append_static_update(self, program, params_grads, startup_program=None):
        """Append clipping, regularization and the update ops for ``params_grads`` to ``program``.

        Called by ``sampan.static.backward.minimize_static``. Accumulators and the learning rate
        are persistable variables of ``program`` initialised by ``fill_constant`` in the startup
        program, named as in eager mode (``<param>_moment1_0``, ``learning_rate_0``). With an
        LRScheduler the program gets ``lr_scheduler`` / ``lr_var`` attributes (as Paddle's) so the
        executor can refresh the learning rate before each run.
        """
        from ..static.program import default_startup_program, program_guard
        import sampan
        startup = startup_program if startup_program is not None else default_startup_program()
        with program_guard(program, startup):
            lr_var = self._static_lr_var(program, startup)
            pg = [(p, g) for p, g in params_grads if g is not None and not p.stop_gradient]
            if self._grad_clip is not None:
                pg = self._grad_clip._static_clip(pg)
            for p, g in pg:
                reg = getattr(p, "regularizer", None) or self.regularization
                if reg is not None:
                    g = sampan.add_n([g, reg._static_term(p)])
                scale = getattr(p, "optimize_attr", _NO_ATTR)["learning_rate"]
                plr = lr_var if scale == 1.0 else sampan.scale(lr_var, scale=float(scale))
                accs = self._static_accumulators(p, program, startup)
                self._static_update(p, g, plr, accs)
        return program

    def _static_var(self, program, startup, name, shape, dtype, fill):
        from ..static.program import switch_main_program
        from ..nn.initializer import Constant
        kw = dict(name=name, shape=list(shape), dtype=dtype, persistable=True, stop_gradient=True)
        v = program.global_block().create_var(**kw)
        sv = startup.global_block().create_var(**kw)
        old = switch_main_program(startup)
        try:
            Constant(float(fill)).append_init_op(sv)
        finally:
            switch_main_program(old)
        return v

    def _static_lr_var(self, program, startup):
        lr_var = getattr(program, "lr_var", None)
        if lr_var is not None and getattr(program, "_sampan_lr_owner", None) is self:
            return lr_var
        dtype = self._dtype if self._dtype is not None else "float32"
        lr_var = self._static_var(program, startup, unique_name.generate("learning_rate"), [1], dtype,
                                  self.get_lr())
        program.lr_var = lr_var
        program._sampan_lr_owner = self
        if isinstance(self._learning_rate, LRScheduler):
            program.lr_scheduler = self._learning_rate
            self._learning_rate._var_name = lr_var.name
        return lr_var

    def _static_accumulators(self, param, program, startup):
        """Accumulator variables of ``param`` in ``_update`` order (subclasses list their kinds)."""
        out = []
        for kind, fill, shape in self._static_acc_specs(param):
            name = unique_name.generate(param.name + "_" + kind)
            dtype = "float32" if param.dtype.name in ("float16", "bfloat16") else param.dtype.name
            v = self._static_var(program, startup, name, shape if shape is not None else param.shape, dtype, fill)
            self._accumulators[kind][param.name] = v
            out.append(v)
        return out

    def _static_acc_specs(self, param):
        """``[(kind, fill value, shape or None for the parameter's)]`` (subclasses)."""
        return []

    def _static_update(self, param, grad, lr_var, accs):
        raise NotImplementedError(f"{type(self).__name__} cannot be used in static programs yet.")

    # ------------------------------------------------------------------ state
    def state_dict(self):
        """Accumulators by name, grouped by kind (``..._moment1_0`` for all parameters, then
        ``..._moment2_0`` ...), then ``'LR_Scheduler'`` when the learning rate is a scheduler.

        As in Paddle the values are the live accumulator Tensors, which later steps update in place:
        save them (``paddle.save``) or copy their ``numpy()`` to keep a snapshot.

        Example:
            >>> import sampan as paddle
            >>> lin = paddle.nn.Linear(2, 1)
            >>> adam = paddle.optimizer.Adam(parameters=lin.parameters())
            >>> lin(paddle.ones([1, 2])).sum().backward(); adam.step()
            >>> list(adam.state_dict())[:2]
            ['linear_0.w_0_moment1_0', 'linear_0.b_0_moment1_0']
        """
        sd = {}
        for d in self._accumulators.values():
            for t in d.values():
                sd[t.name] = t
        if self._master_weights:
            sd["master_weights"] = dict(self._master_weights)
        if isinstance(self._learning_rate, LRScheduler):
            sd["LR_Scheduler"] = self._learning_rate.state_dict()
        return sd

    def set_state_dict(self, state_dict):
        """Restore accumulators (by name) and the LR scheduler state from ``state_dict``."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"{type(self).__name__}.set_state_dict: expected a dict, "
                            f"received {type(state_dict).__name__}.")
        if isinstance(self._learning_rate, LRScheduler):
            if "LR_Scheduler" not in state_dict:
                raise KeyError(f"{type(self).__name__}.set_state_dict: the learning rate is a "
                               f"{type(self._learning_rate).__name__} but the state has no 'LR_Scheduler' entry "
                               f"(keys: {_preview(state_dict)}).")
            self._learning_rate.set_state_dict(state_dict["LR_Scheduler"])
        rest = {k: v for k, v in state_dict.items() if k not in ("LR_Scheduler", "master_weights")}
        for kind, d in self._accumulators.items():
            for pname, t in d.items():
                key = _find_state_key(rest, t.name, pname, kind)
                if key is None:
                    raise KeyError(f"{type(self).__name__}.set_state_dict: optimizer Tensor {t.name!r} not found in "
                                   f"the state dict (it holds {_preview(rest)}).")
                _load_into(t, rest.pop(key), key)
        self._accumulators_holder = rest

    set_dict = set_state_dict
    load_dict = set_state_dict

    def _parameters_flat(self):
        return [p for g in self._groups for p in g["params"]]


_NO_ATTR = {"learning_rate": 1.0}
_CLEARED = {}    # (shape, dtype) -> cleared_grad(shape, dtype), without its argument conversions


def _scaled_lr(lr, scale, dt):
    """Paddle multiplies the float32 global learning rate by the parameter's ``learning_rate``."""
    t = dt.type
    return t(lr) * t(scale)


def _to_regularizer(wd):
    if wd is None or isinstance(wd, WeightDecayRegularizer):
        return wd
    if isinstance(wd, (int, float)) and not isinstance(wd, bool):
        return L2Decay(float(wd))
    raise TypeError(f"weight_decay must be a float, L2Decay or L1Decay. Received: {type(wd).__name__}.")


_SUFFIX = re.compile(r"_(\d+)$")


def _find_state_key(store, name, param_name, kind):
    """``name`` if present; else the one key ``<param_name>_<kind>_<n>`` (counters may differ)."""
    if name in store:
        return name
    prefix = param_name + "_" + kind + "_"
    cands = [k for k in store if isinstance(k, str) and k.startswith(prefix) and k[len(prefix):].isdigit()]
    return cands[0] if len(cands) == 1 else None


def _load_into(t, value, key):
    arr = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
    if list(arr.shape) != list(t.shape):
        raise ValueError(f"optimizer state {key!r}: shape mismatch, the optimizer expects {list(t.shape)}, "
                         f"the state has {list(arr.shape)}.")
    t._data = np.array(arr, dtype=t._data.dtype, copy=True)


def _preview(d, n=6):
    keys = list(d)
    s = ", ".join(repr(k) for k in keys[:n])
    return f"{len(keys)} keys: {s}{', ...' if len(keys) > n else ''}"
