"""``paddle.inference.create_predictor`` / ``Predictor`` / ``Tensor``: Paddle's deployment API.

A predictor reads a saved inference model (``.pdmodel`` of Paddle 2.x/3.x legacy IR or ``.json``
of Paddle 3 PIR, with ``.pdiparams``; or the directory layouts) through ``sampan.formats``, keeps
the parameters in a ``Scope`` of its own, and runs the program with a ``plan.Plan`` compiled once
(registry kernels, integer registers; see ``plan.py`` for why it is not the Executor loop).
"""
from __future__ import annotations

import enum
import os

import numpy as np

from ..core.tensor import Tensor as _SampanTensor
from ..static.executor import Scope
from .config import Config
from .plan import Plan, feed_fetch_names

__all__ = ["create_predictor", "Predictor", "Tensor", "DataType", "get_version"]

_WHO = "paddle.inference.create_predictor"


class DataType(enum.Enum):
    """``paddle.inference.DataType`` (what ``Tensor.type()`` returns)."""
    FLOAT64 = "float64"
    FLOAT32 = "float32"
    FLOAT16 = "float16"
    BFLOAT16 = "bfloat16"
    INT64 = "int64"
    INT32 = "int32"
    INT16 = "int16"
    INT8 = "int8"
    UINT8 = "uint8"
    BOOL = "bool"

    @classmethod
    def _of(cls, dtype):
        name = getattr(dtype, "name", None) if not isinstance(dtype, np.dtype) else dtype.name
        try:
            return cls(name)
        except ValueError:
            return None


def get_version():
    from .. import __version__
    return f"sampan {__version__} (NumPy {np.__version__}, CPU)"


def create_predictor(config):
    """Build a ``Predictor`` from a ``Config`` (``paddle.inference.create_predictor``).

    Example:
        >>> config = paddle.inference.Config("out/model.pdmodel", "out/model.pdiparams")
        >>> predictor = paddle.inference.create_predictor(config)
        >>> h = predictor.get_input_handle(predictor.get_input_names()[0])
        >>> h.copy_from_cpu(np.ones([1, 784], "float32"))
        >>> predictor.run()
        >>> y = predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()
    """
    if not isinstance(config, Config):
        raise TypeError(f"{_WHO}: config must be a paddle.inference.Config. Received: {type(config).__name__}.")
    return Predictor(config)


# ---------------------------------------------------------------------------- loading
def _load(config):
    """``(program, {name: ndarray})`` for whatever the config points at."""
    from ..formats.model_files import read_inference_model, decode_any_program, param_names
    if config._prog_buffer is not None:
        from ..formats.tensor_stream import read_pdiparams
        program = decode_any_program(config._prog_buffer)
        names = param_names(program)
        return program, (read_pdiparams(config._params_buffer, names) if names else {})
    pf = config._params_file       # a missing one is reported by the reader, if the program has parameters
    if config._model_dir is not None:
        return _load_dir(config._model_dir, pf)
    mf = config._prog_file
    if mf is None:
        raise ValueError(f"{_WHO}: the Config names no model; use Config(prog_file, params_file), Config(model_dir) "
                         "or config.set_model(...).")
    if os.path.isfile(mf):
        stem, ext = os.path.splitext(mf)
        prefix = stem if ext in (".pdmodel", ".json") else mf
        return read_inference_model(prefix, os.path.abspath(mf), os.path.abspath(pf) if pf else None, who=_WHO)
    if os.path.isfile(mf + ".pdmodel") or os.path.isfile(mf + ".json"):     # a path prefix
        return read_inference_model(mf, None, os.path.abspath(pf) if pf else None, who=_WHO)
    raise FileNotFoundError(f"{_WHO}: the model file {mf!r} does not exist.")


def _load_dir(d, params_file):
    from ..formats.model_files import read_inference_model
    if not os.path.isdir(d):
        raise FileNotFoundError(f"{_WHO}: the model directory {d!r} does not exist.")
    files = set(os.listdir(d))
    if "__model__" in files or "__model__.json" in files:
        pf = params_file or ("__params__" if "__params__" in files else None)
        return read_inference_model(d, None, os.path.abspath(pf) if pf and os.path.isfile(pf) else pf, who=_WHO)
    stems = sorted({os.path.splitext(f)[0] for f in files if f.endswith((".pdmodel", ".json"))
                    and f != "MANIFEST.json" and os.path.splitext(f)[0] + ".pdiparams" in files})
    if len(stems) == 1:
        return read_inference_model(os.path.join(d, stems[0]), None,
                                    os.path.abspath(params_file) if params_file else None, who=_WHO)
    found = sorted(f for f in files if f.endswith((".pdmodel", ".json", ".pdiparams")))
    what = f"several models ({stems}); name one with Config(prog_file, params_file)" if stems else \
        f"no __model__ / __model__.json and no <name>.pdmodel or <name>.json with its <name>.pdiparams (model files " \
        f"there: {found})"
    raise FileNotFoundError(f"{_WHO}: the model directory {d!r} holds {what}.")


# ---------------------------------------------------------------------------- the predictor
class Predictor:
    """Runs one inference model (``paddle.inference.Predictor``); made by ``create_predictor``.

    Each predictor owns a Scope with its parameters. The arrays are made read-only, so ``clone()``
    can share them (as Paddle's clone shares weights) without one predictor ever changing another's.
    """

    def __init__(self, config, _from=None):
        if _from is None:
            program, params = _load(config)
        else:
            program, params = _from
        self._config = config
        self._program = program
        self._scope = Scope()
        for n, a in params.items():
            # the tensor-stream reader already returns aligned arrays (unaligned ones slow BLAS ~2.5x)
            a = np.asarray(a)
            a.flags.writeable = False
            self._scope.set(n, a)
        feeds, fetches = feed_fetch_names(program)
        if not fetches:
            raise ValueError(f"{_WHO}: the program has no fetch ops, so it is not an inference model (save it with "
                             "paddle.jit.save or paddle.static.save_inference_model).")
        self._feed_names, self._fetch_names = feeds, fetches
        self._plan = Plan(program, {n: self._scope.get(n) for n in params}, feeds, fetches,
                          optimize=config.ir_optim())
        block = program.global_block()
        self._specs = [_InputSpec(n, block.vars.get(n)) for n in feeds]
        self._in_vals = [None] * len(feeds)
        self._in_shapes = [None] * len(feeds)      # shapes set by reshape() before data arrives
        self._out_vals = [None] * len(fetches)
        self._in_index = {n: i for i, n in enumerate(feeds)}
        self._out_index = {n: i for i, n in enumerate(fetches)}
        # Paddle 3 predictors name the outputs of a PIR (.json) model fetch_name_<i>: accept those too
        for i, alias in enumerate(getattr(self._program, "_fetch_aliases", None) or []):
            self._out_index.setdefault(alias, i)

    # ------------------------------------------------------------------ names and handles
    def get_input_names(self):
        return list(self._feed_names)

    def get_output_names(self):
        return list(self._fetch_names)

    def get_input_handle(self, name):
        i = self._in_index.get(name)
        if i is None:
            raise ValueError(f"Predictor.get_input_handle: the model has no input named {name!r}. "
                             f"Its inputs are {self._feed_names}.")
        return Tensor(self, name, i, True)

    def get_output_handle(self, name):
        i = self._out_index.get(name)
        if i is None:
            raise ValueError(f"Predictor.get_output_handle: the model has no output named {name!r}. "
                             f"Its outputs are {self._fetch_names}.")
        return Tensor(self, name, i, False)

    def get_input_tensor_shape(self):
        return {s.name: list(s.shape) if s.shape is not None else None for s in self._specs}

    # ------------------------------------------------------------------ running
    def run(self, inputs=None):
        """Run the model on the inputs set through the input handles (returns None), or on
        ``inputs`` (a list of arrays or Tensors in ``get_input_names()`` order; returns the outputs as
        a list of Tensors, as Paddle 2.5+ does). The output handles see the outputs either way."""
        if inputs is None:
            feeds = self._in_vals
            for v in feeds:
                if v is None:
                    self._missing_inputs()
            self._out_vals = self._plan.run(feeds)
            if self._plan.written_params:
                self._sync_scope()
            return None
        if not isinstance(inputs, (list, tuple)):
            raise TypeError("Predictor.run: inputs must be a list of arrays or Tensors in the order of "
                            f"get_input_names() {self._feed_names}. Received: {type(inputs).__name__}.")
        if len(inputs) != len(self._feed_names):
            raise ValueError(f"Predictor.run: the model has {len(self._feed_names)} inputs {self._feed_names}, "
                             f"received {len(inputs)}.")
        feeds = [s.prepare(v, copy=False, who="Predictor.run") for s, v in zip(self._specs, inputs)]
        self._out_vals = self._plan.run(feeds)
        if self._plan.written_params:
            self._sync_scope()
        return [_SampanTensor._wrap(a) for a in self._out_vals]

    def _missing_inputs(self):
        missing = [n for n, v in zip(self._feed_names, self._in_vals) if v is None]
        n = missing[0]
        hint = ""
        if self._in_shapes[self._in_index[n]] is not None:
            hint = f" (reshape() gave it a shape {self._in_shapes[self._in_index[n]]}, but no values)"
        raise RuntimeError(f"Predictor.run: input {n!r} has no data{hint}; call "
                           f"predictor.get_input_handle({n!r}).copy_from_cpu(array) before run(), or pass the "
                           f"inputs: predictor.run([array, ...]). Inputs without data: {missing}.")

    def _sync_scope(self):
        for n in self._plan.written_params:
            self._scope.set(n, self._plan.param_value(n))

    # ------------------------------------------------------------------ the rest of Paddle's surface
    def clone(self):
        """A new predictor on the same model; it shares the (read-only) parameter arrays and has its
        own Scope, inputs and outputs, so it can run in another thread."""
        params = {n: self._scope.get(n) for n in self._scope.local_var_names()}
        return Predictor(self._config, _from=(self._program, params))

    def clear_intermediate_tensor(self):
        """Temporaries are already released at the end of each run; drops the last outputs too."""
        self._out_vals = [None] * len(self._fetch_names)

    def try_shrink_memory(self):
        return 0

    def __repr__(self):
        return (f"Predictor(inputs={self._feed_names}, outputs={self._fetch_names}, "
                f"steps={self._plan.n_steps} for {self._plan.n_ops} ops)")


class _InputSpec:
    """What an input variable accepts: its dtype and the dims that are fixed."""

    __slots__ = ("name", "dtype", "shape", "fixed")

    def __init__(self, name, var):
        self.name = name
        self.dtype = var.dtype.np if var is not None and var.dtype is not None else None
        self.shape = list(var.shape) if var is not None and var.shape is not None else None
        self.fixed = None if self.shape is None else [(i, d) for i, d in enumerate(self.shape) if d >= 0]

    def prepare(self, data, copy, who):
        if isinstance(data, _SampanTensor):
            data = data._data
        elif not isinstance(data, np.ndarray):
            raise TypeError(f"{who}: the value of input {self.name!r} must be a numpy.ndarray. "
                            f"Received: {type(data).__name__}.")
        want = self.dtype
        if want is not None and data.dtype != want and data.dtype.kind != want.kind:
            raise ValueError(f"{who}: input {self.name!r} expects {want.name} values, received an array of dtype "
                             f"{data.dtype} (shape {list(data.shape)}).")
        if self.shape is not None:
            if data.ndim != len(self.shape) or any(data.shape[i] != d for i, d in self.fixed):
                raise ValueError(f"{who}: input {self.name!r} expects shape {self.shape} (-1 = any size), received "
                                 f"an array of shape {list(data.shape)}.")
        if copy:
            return np.array(data, dtype=want, order="C", copy=True)
        return data if want is None or data.dtype == want else data.astype(want)


# ---------------------------------------------------------------------------- tensor handles
class Tensor:
    """An input or output of a predictor (``paddle.inference.Tensor``), by name."""

    __slots__ = ("_p", "_name", "_i", "_is_input")

    def __init__(self, predictor, name, index, is_input):
        self._p, self._name, self._i, self._is_input = predictor, name, index, is_input

    def name(self):
        return self._name

    def copy_from_cpu(self, data):
        """Copy ``data`` (a numpy.ndarray) into this input; its shape becomes the input's shape."""
        self._check_input("copy_from_cpu")
        if not isinstance(data, np.ndarray):
            raise TypeError(f"Tensor.copy_from_cpu: input {self._name!r} takes a numpy.ndarray. "
                            f"Received: {type(data).__name__}.")
        p = self._p
        p._in_vals[self._i] = p._specs[self._i].prepare(data, True, "Tensor.copy_from_cpu")
        p._in_shapes[self._i] = None

    def share_external_data(self, data):
        """Use ``data`` (an ndarray or a sampan Tensor) without copying it; it must not change until run()."""
        self._check_input("share_external_data")
        p = self._p
        p._in_vals[self._i] = p._specs[self._i].prepare(data, False, "Tensor.share_external_data")
        p._in_shapes[self._i] = None

    def copy_to_cpu(self):
        """A new numpy.ndarray with this tensor's values (an output after run(), or an input's data)."""
        v = self._value()
        if v is None:
            if self._is_input:
                raise RuntimeError(f"Tensor.copy_to_cpu: input {self._name!r} has no data yet; copy_from_cpu first.")
            raise RuntimeError(f"Tensor.copy_to_cpu: output {self._name!r} has no value yet; call predictor.run() "
                               "first.")
        return np.array(v, copy=True)

    def reshape(self, shape):
        """Set an input's shape (Paddle's Reshape before CopyFromCpu). Keeps the data when the
        number of elements matches; copy_from_cpu sets the shape from the array anyway."""
        self._check_input("reshape")
        shape = [int(d) for d in shape]
        if any(d < 0 for d in shape):
            raise ValueError(f"Tensor.reshape: input {self._name!r}: the shape must be concrete (no -1). "
                             f"Received: {shape}.")
        p, i = self._p, self._i
        v = p._in_vals[i]
        if v is not None and v.size == int(np.prod(shape)):
            p._in_vals[i] = v.reshape(shape)
        else:
            p._in_vals[i] = None
            p._in_shapes[i] = shape

    def shape(self):
        v = self._value()
        if v is not None:
            return list(v.shape)
        if self._is_input:
            s = self._p._in_shapes[self._i]
            if s is not None:
                return list(s)
            spec = self._p._specs[self._i]
            return list(spec.shape) if spec.shape is not None else []
        var = self._p._program.global_block().vars.get(self._name)
        return list(var.shape) if var is not None and var.shape is not None else []

    def type(self):
        v = self._value()
        if v is not None:
            return DataType._of(v.dtype)
        var = self._p._program.global_block().vars.get(self._name)
        return DataType._of(var.dtype) if var is not None and var.dtype is not None else None

    def lod(self):
        return []

    def set_lod(self, lod):
        if any(len(level) > 0 for level in (lod or [])):
            raise NotImplementedError(f"Tensor.set_lod: input {self._name!r}: sampan has no LoD (variable-length "
                                      "sequence) tensors; pad the batch to one shape instead.")

    def _value(self):
        return self._p._in_vals[self._i] if self._is_input else self._p._out_vals[self._i]

    def _check_input(self, what):
        if not self._is_input:
            raise RuntimeError(f"Tensor.{what}: {self._name!r} is an output of the model and is read-only; "
                               f"use it on an input handle (inputs: {self._p._feed_names}).")

    def __repr__(self):
        kind = "input" if self._is_input else "output"
        return f"paddle.inference.Tensor({kind} {self._name!r}, shape={self.shape()})"
