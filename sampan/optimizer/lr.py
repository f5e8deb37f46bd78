"""Learning-rate schedulers (``paddle.optimizer.lr``).

A scheduler holds ``last_epoch`` and ``last_lr``; ``step()`` advances ``last_epoch`` and recomputes
``last_lr``; calling it returns ``last_lr``. ``state_dict()`` is laid out as Paddle's (it is
stored under ``'LR_Scheduler'`` in ``.pdopt`` files): ``{'last_epoch': int, 'last_lr': float}``
plus the keys of ``state_keys()`` (``ReduceOnPlateau``), and a nested ``'LinearWarmup_LR'`` for a
``LinearWarmup`` wrapping another scheduler.

Example:
    >>> import sampan as paddle
    >>> sched = paddle.optimizer.lr.StepDecay(learning_rate=0.01, step_size=2, gamma=0.5)
    >>> for _ in range(3):
    ...     sched.step()
    >>> sched.state_dict()
    {'last_epoch': 3, 'last_lr': 0.005}
"""
from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = ["LRScheduler", "NoamDecay", "PiecewiseDecay", "NaturalExpDecay", "InverseTimeDecay", "PolynomialDecay",
           "LinearWarmup", "ExponentialDecay", "MultiStepDecay", "StepDecay", "LambdaDecay", "ReduceOnPlateau",
           "CosineAnnealingDecay", "MultiplicativeDecay", "OneCycleLR", "CyclicLR", "LinearLR",
           "CosineAnnealingWarmRestarts"]


class LRScheduler:
    """Base class: subclasses implement ``get_lr()`` from ``self.last_epoch`` and ``self.base_lr``."""

    def __init__(self, learning_rate=0.1, last_epoch=-1, verbose=False):
        if not isinstance(learning_rate, (float, int)) or isinstance(learning_rate, bool):
            raise TypeError(f"{type(self).__name__}: learning_rate must be a float or int. "
                            f"Received: {type(learning_rate).__name__}.")
        self.base_lr = float(learning_rate)
        self.last_lr = float(learning_rate)
        self.last_epoch = last_epoch
        self.verbose = verbose
        self._var_name = None
        self.step()

    def __call__(self):
        """The current learning rate."""
        return self.last_lr

    def step(self, epoch=None):
        """Advance one epoch (or jump to ``epoch``) and recompute ``last_lr``."""
        if epoch is None:
            self.last_epoch += 1
            self.last_lr = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            self.last_lr = closed() if closed is not None else self.get_lr()
        if self.verbose:
            print(f"Epoch {self.last_epoch}: {type(self).__name__} set learning rate to {self.last_lr}.")

    def get_lr(self):
        raise NotImplementedError

    def state_keys(self):
        """Names of the attributes saved by ``state_dict`` (Paddle's hook for subclasses)."""
        self.keys = ["last_epoch", "last_lr"]

    def state_dict(self):
        self.state_keys()
        out = {}
        for key in self.keys:
            if key not in self.__dict__:
                continue
            v = self.__dict__[key]
            if hasattr(v, "numpy") or isinstance(v, np.ndarray):
                arr = np.asarray(v.numpy() if hasattr(v, "numpy") else v)
                if arr.size != 1:
                    raise ValueError(f"{type(self).__name__}.state_dict: {key} must hold one value, has {arr.size}.")
                v = float(arr.reshape(-1)[0])
            out[key] = v
        return out

    def set_state_dict(self, state_dict):
        """Restore the attributes listed by ``state_keys()``."""
        self.state_keys()
        for key in self.keys:
            if key not in state_dict:
                raise RuntimeError(f"{type(self).__name__}.set_state_dict: can't find [ {key} ] in the state dict "
                                   f"(keys: {sorted(state_dict)}); check that it was saved by the same kind of "
                                   "scheduler.")
            self.__dict__[key] = state_dict[key]
        extra = [k for k in state_dict if k not in self.keys and k not in self._nested_keys()]
        if extra:
            warnings.warn(f"{type(self).__name__}.set_state_dict: unused entries {extra} in the state dict; the "
                          "optimizer may have had a different LRScheduler when it was saved.", stacklevel=2)

    def _nested_keys(self):
        return ()

    set_dict = set_state_dict
    load_dict = set_state_dict

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self.last_lr})"


class NoamDecay(LRScheduler):
    """``lr * d_model**-0.5 * min(epoch**-0.5, epoch * warmup_steps**-1.5)``."""

    def __init__(self, d_model, warmup_steps, learning_rate=1.0, last_epoch=-1, verbose=False):
        if d_model <= 0:
            raise ValueError("NoamDecay: d_model must be greater than 0")
        self.d_model = d_model
        self.warmup_steps = warmup_steps
        super().__init__(learning_rate, last_epoch, verbose)

    def get_lr(self):
        a = 1 if self.last_epoch == 0 else self.last_epoch ** -0.5
        b = self.warmup_steps ** -1.5 * self.last_epoch
        return self.base_lr * (self.d_model ** -0.5) * min(a, b)


class PiecewiseDecay(LRScheduler):
    """``values[i]`` while ``last_epoch < boundaries[i]``; ``values[-1]`` after the last boundary."""

    def __init__(self, boundaries, values, last_epoch=-1, verbose=False):
        if len(boundaries) == 0:
            raise ValueError("PiecewiseDecay: the boundaries cannot be empty.")
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseDecay: expected len(values) == len(boundaries) + 1, received "
                             f"{len(values)} values and {len(boundaries)} boundaries.")
        self.boundaries = boundaries
        self.values = values
        super().__init__(last_epoch=last_epoch, verbose=verbose)

    def get_lr(self):
        for i, b in enumerate(self.boundaries):
            if self.last_epoch < b:
                return self.values[i]
        return self.values[-1]


class NaturalExpDecay(LRScheduler):
    """``lr * exp(-gamma * epoch)``."""

    def __init__(self, learning_rate, gamma, last_epoch=-1, verbose=False):
        if not isinstance(gamma, (int, float)):
            raise TypeError("NaturalExpDecay: gamma must be a number.")
        self.gamma = gamma
        super().__init__(learning_rate, last_epoch, verbose)

    def get_lr(self):
        return self.base_lr * math.exp(-1 * self.gamma * self.last_epoch)


class InverseTimeDecay(LRScheduler):
    """``lr / (1 + gamma * epoch)``."""

    def __init__(self, learning_rate, gamma, last_epoch=-1, verbose=False):
        self.gamma = gamma
        super().__init__(learning_rate, last_epoch, verbose)

    def get_lr(self):
        return self.base_lr / (1 + self.gamma * self.last_epoch)


class PolynomialDecay(LRScheduler):
    """``(lr - end_lr) * (1 - epoch/decay_steps)**power + end_lr`` (``cycle`` restarts)."""

    def __init__(self, learning_rate, decay_steps, end_lr=0.0001, power=1.0, cycle=False, last_epoch=-1,
                 verbose=False):
        if not (isinstance(decay_steps, int) and decay_steps > 0):
            raise ValueError("PolynomialDecay: decay_steps must be a positive int.")
        self.decay_steps = decay_steps
        self.end_lr = end_lr
        if power <= 0:
            raise ValueError("PolynomialDecay: power must be greater than 0.0")
        self.power = power
        self.cycle = cycle
        super().__init__(learning_rate, last_epoch, verbose)

    def get_lr(self):
        epoch, steps = self.last_epoch, self.decay_steps
        if self.cycle:
            div = math.ceil(float(self.last_epoch) / float(self.decay_steps))
            if self.last_epoch == 0:
                div = 1
            steps = self.decay_steps * div
        else:
            epoch = min(self.last_epoch, self.decay_steps)
        return (self.base_lr - self.end_lr) * ((1 - float(epoch) / float(steps)) ** self.power) + self.end_lr


class LinearWarmup(LRScheduler):
    """Linear ramp from ``start_lr`` to ``end_lr`` over ``warmup_steps``, then ``learning_rate``
    (a float or another scheduler, stepped with ``epoch - warmup_steps``; its state nests under
    ``'LinearWarmup_LR'``).

    Example:
        >>> import sampan as paddle
        >>> inner = paddle.optimizer.lr.MultiStepDecay(0.1, milestones=[2, 4])
        >>> warm = paddle.optimizer.lr.LinearWarmup(inner, warmup_steps=2, start_lr=0.0, end_lr=0.1)
        >>> sorted(warm.state_dict())
        ['LinearWarmup_LR', 'last_epoch', 'last_lr']
    """

    def __init__(self, learning_rate, warmup_steps, start_lr, end_lr, last_epoch=-1, verbose=False):
        if not isinstance(learning_rate, (float, int, LRScheduler)) or isinstance(learning_rate, bool):
            raise TypeError(f"LinearWarmup: learning_rate must be a float or an LRScheduler. "
                            f"Received: {type(learning_rate).__name__}.")
        self.learning_rate = learning_rate
        if not (isinstance(warmup_steps, int) and warmup_steps > 0):
            raise ValueError(f"LinearWarmup: warmup_steps must be a positive int. Received: {warmup_steps!r}.")
        self.warmup_steps = warmup_steps
        self.start_lr = start_lr
        self.end_lr = end_lr
        if not end_lr > start_lr:
            raise ValueError(f"LinearWarmup: end_lr {end_lr} must be greater than start_lr {start_lr}")
        super().__init__(start_lr, last_epoch, verbose)

    def state_dict(self):
        sd = super().state_dict()
        if isinstance(self.learning_rate, LRScheduler):
            sd["LinearWarmup_LR"] = self.learning_rate.state_dict()
        return sd

    def set_state_dict(self, state_dict):
        super().set_state_dict(state_dict)
        if isinstance(self.learning_rate, LRScheduler):
            if "LinearWarmup_LR" not in state_dict:
                raise RuntimeError("LinearWarmup.set_state_dict: can't find [ LinearWarmup_LR ] (the wrapped "
                                   "scheduler's state) in the state dict.")
            self.learning_rate.set_state_dict(state_dict["LinearWarmup_LR"])

    set_dict = set_state_dict
    load_dict = set_state_dict

    def _nested_keys(self):
        return ("LinearWarmup_LR",)

    def get_lr(self):
        if self.last_epoch < self.warmup_steps:
            return (self.end_lr - self.start_lr) * float(self.last_epoch) / float(self.warmup_steps) + self.start_lr
        if isinstance(self.learning_rate, LRScheduler):
            self.learning_rate.step(self.last_epoch - self.warmup_steps)
            return self.learning_rate()
        return self.learning_rate


class ExponentialDecay(LRScheduler):
    """``lr * gamma**epoch``."""

    def __init__(self, learning_rate, gamma, last_epoch=-1, verbose=False):
        if not 0.0 < gamma < 1.0:
            raise ValueError(f"ExponentialDecay: gamma must be in (0.0, 1.0). Received: {gamma}.")
        self.gamma = gamma
        super().__init__(learning_rate, last_epoch, verbose)

    def get_lr(self):
        return self.base_lr * (self.gamma ** self.last_epoch)


class MultiStepDecay(LRScheduler):
    """``lr * gamma**i`` where ``i`` is the number of milestones passed."""

    def __init__(self, learning_rate, milestones, gamma=0.1, last_epoch=-1, verbose=False):
        if not isinstance(milestones, (tuple, list)):
            raise TypeError(f"MultiStepDecay: milestones must be a list or tuple. "
                            f"Received: {type(milestones).__name__}.")
        if not all(milestones[i] < milestones[i + 1] for i in range(len(milestones) - 1)):
            raise ValueError("MultiStepDecay: the milestones must be increasing.")
        if gamma >= 1.0:
            raise ValueError("MultiStepDecay: gamma should be < 1.0.")
        self.milestones = milestones
        self.gamma = gamma
        super().__init__(learning_rate, last_epoch, verbose)

    def get_lr(self):
        for i, m in enumerate(self.milestones):
            if self.last_epoch < m:
                return self.base_lr * (self.gamma ** i)
        return self.base_lr * (self.gamma ** len(self.milestones))


class StepDecay(LRScheduler):
    """``lr * gamma**(epoch // step_size)``."""

    def __init__(self, learning_rate, step_size, gamma=0.1, last_epoch=-1, verbose=False):
        if not isinstance(step_size, int):
            raise TypeError(f"StepDecay: step_size must be an int. Received: {type(step_size).__name__}.")
        if gamma >= 1.0:
            raise ValueError("StepDecay: gamma should be < 1.0.")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(learning_rate, last_epoch, verbose)

    def get_lr(self):
        return self.base_lr * (self.gamma ** (self.last_epoch // self.step_size))


class LambdaDecay(LRScheduler):
    """``lr * lr_lambda(epoch)``."""

    def __init__(self, learning_rate, lr_lambda, last_epoch=-1, verbose=False):
        if not callable(lr_lambda):
            raise TypeError(f"LambdaDecay: lr_lambda must be a function. Received: {type(lr_lambda).__name__}.")
        self.lr_lambda = lr_lambda
        super().__init__(learning_rate, last_epoch, verbose)

    def get_lr(self):
        return self.base_lr * self.lr_lambda(self.last_epoch)


class MultiplicativeDecay(LRScheduler):
    """``last_lr * lr_lambda(epoch)`` each step."""

    def __init__(self, learning_rate, lr_lambda, last_epoch=-1, verbose=False):
        if not callable(lr_lambda):
            raise TypeError("MultiplicativeDecay: lr_lambda must be a function.")
        self.lr_lambda = lr_lambda
        super().__init__(learning_rate, last_epoch, verbose)

    def get_lr(self):
        cur = self.base_lr
        for epoch in range(1, self.last_epoch + 1):
            cur = cur * self.lr_lambda(epoch)
        return cur


class CosineAnnealingDecay(LRScheduler):
    """Cosine annealing from ``learning_rate`` to ``eta_min`` over ``T_max`` epochs (Paddle's recursive form)."""

    def __init__(self, learning_rate, T_max, eta_min=0, last_epoch=-1, verbose=False):
        if not isinstance(T_max, int) or T_max <= 0:
            raise ValueError(f"CosineAnnealingDecay: T_max must be a positive int. Received: {T_max!r}.")
        if not isinstance(eta_min, (float, int)):
            raise TypeError("CosineAnnealingDecay: eta_min must be a float or int.")
        self.T_max = T_max
        self.eta_min = float(eta_min)
        super().__init__(learning_rate, last_epoch, verbose)

    def get_lr(self):
        if self.last_epoch == 0:
            return self.base_lr
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            return self.last_lr + (self.base_lr - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
        return ((1 + math.cos(math.pi * self.last_epoch / self.T_max))
                / (1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max))
                * (self.last_lr - self.eta_min) + self.eta_min)

    def _get_closed_form_lr(self):
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2


class ReduceOnPlateau(LRScheduler):
    """Multiply the learning rate by ``factor`` when ``metrics`` stop improving for ``patience`` steps.

    ``step(metrics)`` takes the monitored value (a float, 1-element ndarray or Tensor).
    """

    def __init__(self, learning_rate, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0, epsilon=1e-8, verbose=False):
        mode = mode.lower()
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceOnPlateau: mode must be 'min' or 'max'. Received: {mode!r}.")
        if factor >= 1.0:
            raise ValueError("ReduceOnPlateau: factor should be < 1.0.")
        threshold_mode = threshold_mode.lower()
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceOnPlateau: threshold_mode must be 'rel' or 'abs'. Received: {threshold_mode!r}.")
        if not isinstance(learning_rate, (float, int)):
            raise TypeError(f"ReduceOnPlateau: learning_rate must be a float or int. "
                            f"Received: {type(learning_rate).__name__}.")
        self.mode, self.factor, self.patience, self.threshold = mode, factor, patience, threshold
        self.threshold_mode, self.cooldown, self.min_lr, self.epsilon = threshold_mode, cooldown, min_lr, epsilon
        self.cooldown_counter = 0
        self.best = None
        self.num_bad_epochs = 0
        self.base_lr = float(learning_rate)
        self.last_lr = float(learning_rate)
        self.last_epoch = 0
        self.verbose = verbose
        self._var_name = None

    def state_keys(self):
        self.keys = ["cooldown_counter", "best", "num_bad_epochs", "last_epoch", "last_lr"]

    def step(self, metrics, epoch=None):
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if hasattr(metrics, "numpy") or isinstance(metrics, np.ndarray):
            arr = np.asarray(metrics.numpy() if hasattr(metrics, "numpy") else metrics)
            if arr.size != 1:
                raise ValueError(f"ReduceOnPlateau.step: metrics must hold one value; "
                                 f"received shape {list(arr.shape)}.")
            metrics = float(arr.reshape(-1)[0])
        elif not isinstance(metrics, (int, float, np.floating, np.integer)):
            raise TypeError(f"ReduceOnPlateau.step: metrics must be a number, a 1-element ndarray or Tensor. "
                            f"Received: {type(metrics).__name__}.")
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            return
        if self.best is None or self._is_better(metrics, self.best):
            self.best = metrics
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.num_bad_epochs > self.patience:
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
            new_lr = max(self.last_lr * self.factor, self.min_lr)
            if self.last_lr - new_lr > self.epsilon:
                self.last_lr = new_lr
                if self.verbose:
                    print(f"Epoch {self.last_epoch}: ReduceOnPlateau set learning rate to {self.last_lr}.")

    def _is_better(self, current, best):
        if self.mode == "min" and self.threshold_mode == "rel":
            return current < best - best * self.threshold
        if self.mode == "min" and self.threshold_mode == "abs":
            return current < best - self.threshold
        if self.mode == "max" and self.threshold_mode == "rel":
            return current > best + best * self.threshold
        return current > best + self.threshold


class OneCycleLR(LRScheduler):
    """One-cycle policy (warm up to ``max_learning_rate``, anneal to ``max/divide_factor/end...``)."""

    def __init__(self, max_learning_rate, total_steps, divide_factor=25.0, end_learning_rate=0.0001,
                 phase_pct=0.3, anneal_strategy="cos", three_phase=False, last_epoch=-1, verbose=False):
        if total_steps <= 0 or not isinstance(total_steps, int):
            raise ValueError("OneCycleLR: total_steps must be a positive int.")
        if not 0 <= phase_pct <= 1:
            raise ValueError("OneCycleLR: phase_pct must be in [0, 1].")
        self.total_steps = total_steps
        initial_lr = max_learning_rate / float(divide_factor)
        min_lr = float(end_learning_rate)
        if three_phase:
            if phase_pct >= 0.5:
                raise ValueError("OneCycleLR: with three_phase=True, phase_pct must be less than 0.5.")
            ends = [float(phase_pct * total_steps) - 1, float(2 * phase_pct * total_steps) - 2, total_steps - 1]
            lrs = [initial_lr, max_learning_rate, initial_lr, min_lr]
        else:
            ends = [float(phase_pct * total_steps) - 1, total_steps - 1]
            lrs = [initial_lr, max_learning_rate, min_lr]
        self._step_config = ends
        self._lr_config = lrs
        self._steps_size = [ends[0]] + [ends[i] - ends[i - 1] for i in range(1, len(ends))]
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("OneCycleLR: anneal_strategy must be 'cos' or 'linear'.")
        self.anneal_func = self._cos_annealing if anneal_strategy == "cos" else self._linear_annealing
        super().__init__(initial_lr, last_epoch, verbose)

    @staticmethod
    def _cos_annealing(start, end, pct):
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)

    @staticmethod
    def _linear_annealing(start, end, pct):
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times; total_steps is {self.total_steps}.")
        for i, (end_step, size) in enumerate(zip(self._step_config, self._steps_size)):
            if step <= end_step or i == len(self._step_config) - 1:
                pct = (step - (end_step - size)) / size if size else 0.0
                return self.anneal_func(self._lr_config[i], self._lr_config[i + 1], pct)
        return self._lr_config[-1]


class CyclicLR(LRScheduler):
    """Cyclical learning rate between ``base_learning_rate`` and ``max_learning_rate``."""

    def __init__(self, base_learning_rate, max_learning_rate, step_size_up, step_size_down=None, mode="triangular",
                 exp_gamma=1.0, scale_fn=None, scale_mode="cycle", last_epoch=-1, verbose=False):
        if not isinstance(step_size_up, int) or step_size_up <= 0:
            raise ValueError("CyclicLR: step_size_up must be a positive int.")
        step_size_down = step_size_up if step_size_down is None else step_size_down
        self.cycle_size = step_size_up + step_size_down
        self.step_up_pct = step_size_up / self.cycle_size
        self.max_lr = float(max_learning_rate)
        self.amplitude = self.max_lr - float(base_learning_rate)
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError("CyclicLR: mode must be 'triangular', 'triangular2' or 'exp_range'.")
        self.mode, self.gamma = mode, exp_gamma
        if scale_fn is None:
            if mode == "triangular":
                self.scale_fn, self.scale_mode = (lambda x: 1.0), "cycle"
            elif mode == "triangular2":
                self.scale_fn, self.scale_mode = (lambda x: 1 / (2.0 ** (x - 1))), "cycle"
            else:
                self.scale_fn, self.scale_mode = (lambda x: self.gamma ** x), "iterations"
        else:
            self.scale_fn, self.scale_mode = scale_fn, scale_mode
        super().__init__(base_learning_rate, last_epoch, verbose)

    def get_lr(self):
        iterations = self.last_epoch
        cycle = 1 + iterations // self.cycle_size
        pct = 1.0 + iterations / self.cycle_size - cycle
        scale = pct / self.step_up_pct if pct <= self.step_up_pct else (1 - pct) / (1 - self.step_up_pct)
        base_height = self.amplitude * scale
        arg = cycle if self.scale_mode == "cycle" else iterations
        return self.base_lr + base_height * self.scale_fn(arg)


class LinearLR(LRScheduler):
    """Scale the learning rate linearly from ``start_factor * lr`` to ``end_factor * lr`` over ``total_steps``."""

    def __init__(self, learning_rate, total_steps, start_factor=1.0 / 3, end_factor=1.0, last_epoch=-1,
                 verbose=False):
        if not 0 < start_factor <= 1.0:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1]. Received: {start_factor}.")
        if not 0 <= end_factor <= 1.0:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1]. Received: {end_factor}.")
        if total_steps <= 0:
            raise ValueError(f"LinearLR: total_steps must be positive. Received: {total_steps}.")
        self.start_factor, self.end_factor, self.total_steps = start_factor, end_factor, total_steps
        super().__init__(learning_rate, last_epoch, verbose)

    def get_lr(self):
        if self.last_epoch == 0:
            return self.base_lr * self.start_factor
        if self.last_epoch > self.total_steps:
            return self.last_lr
        span = self.end_factor - self.start_factor
        return self.last_lr * (1.0 + span / (self.total_steps * self.start_factor + (self.last_epoch - 1) * span))


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing restarted every ``T_i`` epochs (``T_0``, then multiplied by ``T_mult``)."""

    def __init__(self, learning_rate, T_0, T_mult=1, eta_min=0, last_epoch=-1, verbose=False):
        if not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: T_0 must be a positive int. Received: {T_0!r}.")
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"CosineAnnealingWarmRestarts: T_mult must be an int >= 1. Received: {T_mult!r}.")
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(learning_rate, last_epoch, verbose)

    def get_lr(self):
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2

    def step(self, epoch=None):
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"CosineAnnealingWarmRestarts.step: epoch must be >= 0. Received: {epoch}.")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        self.last_lr = self.get_lr()
        if self.verbose:
            print(f"Epoch {self.last_epoch}: CosineAnnealingWarmRestarts set learning rate to {self.last_lr}.")
