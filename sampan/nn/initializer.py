"""Parameter initializers (``paddle.nn.initializer``).

Each initializer has two faces:

* ``generate(shape, dtype) -> ndarray``: eager values, drawn from sampan's global generator
  (``paddle.seed``);
* ``append_init_op(var)``: in static mode, append the op that initialises ``var``
  (``fill_constant``, ``uniform_random``, ``gaussian_random``, ``truncated_gaussian_random``,
  ``assign_value``) to the current main program block, which the caller has switched to the startup
  program (``core.dispatch.create_parameter``).

Paddle's defaults per layer: weights ``XavierUniform`` (``Linear``, ``Embedding``), bias
``Constant(0)``, ``Conv*`` weights ``Normal(0, sqrt(2 / (k*k*in_channels)))``, norm scales
``Constant(1)``.

Example:
    >>> import sampan as paddle
    >>> init = paddle.nn.initializer.Constant(0.5)
    >>> lin = paddle.nn.Linear(2, 2, weight_attr=paddle.ParamAttr(initializer=init))
    >>> float(lin.weight.numpy()[0, 0])
    0.5
"""
from __future__ import annotations

import math

import numpy as np

from ..core import state
from ..core.dtype import convert_dtype, float32_to_bfloat16

__all__ = ["Initializer", "Constant", "Normal", "TruncatedNormal", "Uniform", "XavierNormal", "XavierUniform",
           "KaimingNormal", "KaimingUniform", "Assign", "Bilinear", "Orthogonal", "Dirac", "calculate_gain",
           "set_global_initializer"]


def _compute_fans(shape):
    """Paddle's fan rule: 2-D ``[in, out]``; conv ``[out, in, *k]`` with the receptive field."""
    shape = list(shape)
    if not shape:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    rf = int(np.prod(shape[2:]))
    return shape[1] * rf, shape[0] * rf


def _finish(arr, dtype):
    """Cast generated float64 values to the parameter dtype (bfloat16 as uint16 bits)."""
    dt = convert_dtype(dtype)
    if dt.name == "bfloat16":
        return float32_to_bfloat16(np.asarray(arr, dtype=np.float32))
    return np.asarray(arr).astype(dt.np, copy=False)


class Initializer:
    """Base class. Subclasses implement ``generate`` and ``append_init_op``."""

    def __call__(self, param, block=None):
        """Initialise ``param`` now (eager Tensor) or append its init op (static Variable)."""
        from ..core.tensor import Tensor
        if isinstance(param, Tensor):
            data = self.generate(param.shape, param.dtype)
            param._data = data
            return param
        return self.append_init_op(param)

    def generate(self, shape, dtype):
        raise NotImplementedError

    def append_init_op(self, var):
        raise NotImplementedError

    def _run_init_op(self, var, op_type, attrs, inputs=None):
        from ..core.dispatch import run_op
        attrs = dict(attrs, shape=[int(d) for d in var.shape], dtype=convert_dtype(var.dtype).proto)
        run_op(op_type, inputs or {}, attrs, bind={"Out": var})
        return var

    def __repr__(self):
        args = ", ".join(f"{k.lstrip('_')}={v!r}" for k, v in vars(self).items() if not k.startswith("__"))
        return f"{type(self).__name__}({args})"


class Constant(Initializer):
    """Fill with ``value`` (op ``fill_constant``)."""

    def __init__(self, value=0.0, force_cpu=False):
        self._value = value
        self._force_cpu = force_cpu

    def generate(self, shape, dtype):
        dt = convert_dtype(dtype)
        if dt.name == "bfloat16":
            return _finish(np.full(shape, self._value, dtype=np.float32), dt)
        return np.full(shape, self._value, dtype=dt.np)

    def append_init_op(self, var):
        v = float(self._value)   # Paddle writes str_value as str(float(value))
        return self._run_init_op(var, "fill_constant", {"value": v, "str_value": str(v), "force_cpu": self._force_cpu,
                                                        "place_type": -1})


class Uniform(Initializer):
    """Uniform values in ``[low, high)`` (op ``uniform_random``)."""

    def __init__(self, low=-1.0, high=1.0, seed=0, diag_num=0, diag_step=0, diag_val=1.0, name=None):
        if low > high:
            raise ValueError(f"Uniform: low ({low}) must not exceed high ({high}).")
        self._low, self._high, self._seed = float(low), float(high), seed
        self._diag = (diag_num, diag_step, diag_val)

    def _bounds(self, shape):
        """``(low, high)`` for a parameter of ``shape`` (fan-based subclasses compute them)."""
        return self._low, self._high

    def generate(self, shape, dtype):
        low, high = self._bounds(shape)
        return _finish(state.rng().uniform(low, high, size=shape), dtype)

    def append_init_op(self, var):
        low, high = self._bounds(var.shape)
        n, s, v = self._diag
        return self._run_init_op(var, "uniform_random", {"min": low, "max": high, "seed": self._seed,
                                                         "diag_num": n, "diag_step": s, "diag_val": float(v)})


class Normal(Initializer):
    """Gaussian values (op ``gaussian_random``)."""

    def __init__(self, mean=0.0, std=1.0, seed=0, name=None):
        self._mean, self._std, self._seed = float(mean), float(std), seed

    def _std_for(self, shape):
        """The standard deviation for a parameter of ``shape`` (fan-based subclasses compute it)."""
        return self._std

    def generate(self, shape, dtype):
        return _finish(state.rng().normal(self._mean, self._std_for(shape), size=shape), dtype)

    def append_init_op(self, var):
        return self._run_init_op(var, "gaussian_random",
                                 {"mean": self._mean, "std": self._std_for(var.shape), "seed": self._seed})


class TruncatedNormal(Initializer):
    """Gaussian values kept within ``[a, b]`` (op ``truncated_gaussian_random``)."""

    def __init__(self, mean=0.0, std=1.0, a=-2.0, b=2.0, seed=0, name=None):
        self._mean, self._std, self._a, self._b, self._seed = float(mean), float(std), float(a), float(b), seed

    def generate(self, shape, dtype):
        rng = state.rng()
        n = int(np.prod(shape)) if len(shape) else 1
        out = np.empty(n)
        filled = 0
        while filled < n:   # rejection sampling; the bounds are at least a few std wide in practice
            draw = rng.normal(self._mean, self._std, size=max(2 * (n - filled), 16))
            draw = draw[(draw >= self._a) & (draw <= self._b)][: n - filled]
            out[filled:filled + len(draw)] = draw
            filled += len(draw)
        return _finish(out.reshape(shape), dtype)

    def append_init_op(self, var):
        return self._run_init_op(var, "truncated_gaussian_random",
                                 {"mean": self._mean, "std": self._std, "seed": self._seed, "a": self._a, "b": self._b})


class XavierUniform(Uniform):
    """Glorot uniform: ``U(-l, l)``, ``l = gain * sqrt(6 / (fan_in + fan_out))`` (Paddle's default weight init)."""

    def __init__(self, fan_in=None, fan_out=None, gain=1.0, name=None):
        self._fan_in, self._fan_out, self._gain = fan_in, fan_out, gain
        self._seed, self._diag = 0, (0, 0, 1.0)

    def _bounds(self, shape):
        fi, fo = _compute_fans(shape)
        fi = fi if self._fan_in is None else self._fan_in
        fo = fo if self._fan_out is None else self._fan_out
        lim = self._gain * math.sqrt(6.0 / float(fi + fo))
        return -lim, lim


class XavierNormal(Normal):
    """Glorot normal: ``N(0, gain * sqrt(2 / (fan_in + fan_out)))``."""

    def __init__(self, fan_in=None, fan_out=None, gain=1.0, name=None):
        self._fan_in, self._fan_out, self._gain = fan_in, fan_out, gain
        self._mean, self._seed = 0.0, 0

    def _std_for(self, shape):
        fi, fo = _compute_fans(shape)
        fi = fi if self._fan_in is None else self._fan_in
        fo = fo if self._fan_out is None else self._fan_out
        return self._gain * math.sqrt(2.0 / float(fi + fo))


def calculate_gain(nonlinearity, param=None):
    """Recommended gain for ``nonlinearity`` (``paddle.nn.initializer.calculate_gain``).

    Example:
        >>> round(calculate_gain('tanh'), 4)
        1.6667
    """
    if param is None:
        param = 0.01
    table = {"sigmoid": 1.0, "linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0, "conv1d_transpose": 1.0,
             "conv2d_transpose": 1.0, "conv3d_transpose": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0),
             "leaky_relu": math.sqrt(2.0 / (1 + float(param) ** 2)), "selu": 3.0 / 4}
    if nonlinearity not in table:
        raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}. Expected one of {sorted(table)}.")
    return table[nonlinearity]


class KaimingNormal(Normal):
    """He normal: ``N(0, gain / sqrt(fan_in))``."""

    def __init__(self, fan_in=None, negative_slope=0.0, nonlinearity="relu", name=None):
        self._fan_in, self._slope, self._nl = fan_in, negative_slope, nonlinearity
        self._mean, self._seed = 0.0, 0

    def _std_for(self, shape):
        fi = _compute_fans(shape)[0] if self._fan_in is None else self._fan_in
        return calculate_gain(self._nl, self._slope) / math.sqrt(float(fi))


class KaimingUniform(Uniform):
    """He uniform: ``U(-l, l)``, ``l = gain * sqrt(3 / fan_in)``."""

    def __init__(self, fan_in=None, negative_slope=0.0, nonlinearity="relu", name=None):
        self._fan_in, self._slope, self._nl = fan_in, negative_slope, nonlinearity
        self._seed, self._diag = 0, (0, 0, 1.0)

    def _bounds(self, shape):
        fi = _compute_fans(shape)[0] if self._fan_in is None else self._fan_in
        lim = calculate_gain(self._nl, self._slope) * math.sqrt(3.0 / float(fi))
        return -lim, lim


class Assign(Initializer):
    """Fill with the given values (a list, ndarray or Tensor; op ``assign_value``)."""

    def __init__(self, value, name=None):
        from ..core.tensor import Tensor
        self._value = np.array(value.numpy() if isinstance(value, Tensor) else value)

    def generate(self, shape, dtype):
        if list(self._value.shape) != list(shape) and self._value.size != int(np.prod(shape)):
            raise ValueError(f"Assign initializer: value of shape {list(self._value.shape)} does not fit a parameter "
                             f"of shape {list(shape)}.")
        return _finish(self._value.reshape(shape), dtype)

    def append_init_op(self, var):
        dt = convert_dtype(var.dtype)
        flat = self._value.reshape(-1)
        if dt.name in ("float32", "float16", "bfloat16", "float64"):
            key, vals = "fp32_values", [float(v) for v in flat]
        elif dt.name == "int32":
            key, vals = "int32_values", [int(v) for v in flat]
        elif dt.name == "int64":
            key, vals = "int64_values", [int(v) for v in flat]
        elif dt.name == "bool":
            key, vals = "bool_values", [bool(v) for v in flat]
        else:
            raise TypeError(f"Assign initializer: dtype {dt.name} is not supported in static mode.")
        return self._run_init_op(var, "assign_value", {key: vals})


class Bilinear(Initializer):
    """Bilinear upsampling kernel for a ``Conv2DTranspose`` weight ``[C, 1, k, k]``-like shape."""

    def generate(self, shape, dtype):
        if len(shape) != 4 or shape[2] != shape[3]:
            raise ValueError(f"Bilinear initializer: expected a 4-D weight with square kernel, received {list(shape)}.")
        size = shape[3]
        f = math.ceil(size / 2.0)
        c = (2 * f - 1 - f % 2) / (2.0 * f)
        idx = np.arange(int(np.prod(shape)))
        x = idx % size
        y = (idx // size) % size
        w = (1 - np.abs(x / f - c)) * (1 - np.abs(y / f - c))
        return _finish(w.reshape(shape), dtype)

    def append_init_op(self, var):
        return Assign(self.generate(var.shape, "float64")).append_init_op(var)


class Orthogonal(Initializer):
    """(Semi-)orthogonal matrix from a QR decomposition, scaled by ``gain``."""

    def __init__(self, gain=1.0, name=None):
        self._gain = gain

    def generate(self, shape, dtype):
        rows = shape[0]
        cols = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        a = state.rng().normal(size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return _finish(self._gain * q[:rows, :cols].reshape(shape), dtype)

    def append_init_op(self, var):
        return Assign(self.generate(var.shape, "float64")).append_init_op(var)


class Dirac(Initializer):
    """Identity-preserving conv kernel (``[out, in, *k]``, delta at the kernel centre)."""

    def __init__(self, groups=1, name=None):
        self._groups = groups

    def generate(self, shape, dtype):
        w = np.zeros(shape)
        out_per = shape[0] // self._groups
        centre = tuple(k // 2 for k in shape[2:])
        for g in range(self._groups):
            for i in range(min(out_per, shape[1])):
                w[(g * out_per + i, i) + centre] = 1.0
        return _finish(w, dtype)

    def append_init_op(self, var):
        return Assign(self.generate(var.shape, "float64")).append_init_op(var)


_global_weight_init = [None]
_global_bias_init = [None]


def set_global_initializer(weight_init, bias_init=None):
    """Use ``weight_init`` / ``bias_init`` for every parameter created afterwards (``None`` resets)."""
    for v in (weight_init, bias_init):
        if v is not None and not isinstance(v, Initializer):
            raise TypeError(f"set_global_initializer: expected an Initializer or None, received {type(v).__name__}.")
    _global_weight_init[0] = weight_init
    _global_bias_init[0] = bias_init


def global_weight_initializer():
    return _global_weight_init[0]


def global_bias_initializer():
    return _global_bias_init[0]


# fluid-era spellings
ConstantInitializer = Constant
NormalInitializer = Normal
UniformInitializer = Uniform
XavierInitializer = XavierUniform
MSRAInitializer = KaimingNormal
NumpyArrayInitializer = Assign
