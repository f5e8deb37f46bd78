"""``paddle.jit.to_static``: trace Python code into Programs, cached per input signature and mode."""
from __future__ import annotations

import functools
import inspect
import weakref

from ..core.tensor import Tensor
from ..core.dispatch import in_dynamic_mode
from ..static.input import InputSpec
from ..static.program import Variable
from .runner import trace, run_program, pack, flatten, arg_names

__all__ = ["to_static", "StaticFunction", "not_to_static", "ignore_module", "enable_to_static"]

_ENABLED = [True]


def enable_to_static(flag=True):
    """Globally switch ``to_static`` off (functions then run eagerly) or on."""
    _ENABLED[0] = bool(flag)


def _spec_of(x, name=None):
    if isinstance(x, InputSpec):
        return x
    if isinstance(x, (Tensor, Variable)):
        return InputSpec(list(x.shape), x.dtype, name)
    import numpy as np
    if isinstance(x, np.ndarray):
        return InputSpec(list(x.shape), x.dtype, name)
    raise TypeError(f"to_static: input_spec entries must be InputSpec or Tensor. Received: {type(x).__name__}.")


def _check_specs(input_spec, who):
    if input_spec is None:
        return None
    if not isinstance(input_spec, (list, tuple)):
        raise TypeError(f"{who}: input_spec must be a list of InputSpec or Tensor. "
                        f"Received: input_spec={input_spec!r}.")
    return [_spec_of(s) for s in input_spec]


class StaticFunction:
    """A function (or method) converted by ``to_static``.

    Calling it in dygraph mode runs its traced Program through the eager dispatch, so gradients
    reach the Layer's parameters; programs are cached per input signature and train/eval mode.
    """

    def __init__(self, function, input_spec=None, instance=None, full_graph=None, **kwargs):
        self._function = function
        self._input_spec = _check_specs(input_spec, "to_static")
        self._instance_ref = weakref.ref(instance) if instance is not None else None
        self._cache = {}
        self._last = None
        self._bound = weakref.WeakKeyDictionary()
        functools.update_wrapper(self, function)

    # descriptor: decorated methods bind per instance (each instance keeps its own cache)
    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        sf = self._bound.get(instance)
        if sf is None:
            sf = StaticFunction(self._function, self._input_spec, instance)
            self._bound[instance] = sf
        return sf

    @property
    def _instance(self):
        return self._instance_ref() if self._instance_ref is not None else None

    @property
    def dygraph_function(self):
        return self._function

    @property
    def input_spec(self):
        return self._input_spec

    @property
    def code(self):
        try:
            return inspect.getsource(self._function)
        except (OSError, TypeError):
            return ""

    def rollback(self):
        """The original dygraph function (bound to its instance for methods)."""
        inst = self._instance
        return self._function.__get__(inst) if inst is not None else self._function

    def _names(self):
        return arg_names(self._function, self._instance is not None)

    def _specs_for(self, args):
        names = self._names()
        if self._input_spec is not None:
            specs = list(self._input_spec)
            # trailing non-spec args (e.g. label=None) are not inputs of the program
            return [InputSpec(s.shape, s.dtype, s.name or (names[i] if i < len(names) else None))
                    for i, s in enumerate(specs)]
        return [_spec_of(a, names[i] if i < len(names) else None) for i, a in enumerate(args)]

    def _training(self):
        inst = self._instance
        return bool(getattr(inst, "training", False)) if inst is not None else False

    def get_concrete_program(self, *args, input_spec=None, training=None):
        specs = _check_specs(input_spec, "get_concrete_program") if input_spec is not None else self._specs_for(args)
        names = self._names()
        specs = [InputSpec(s.shape, s.dtype, s.name or (names[i] if i < len(names) else None))
                 for i, s in enumerate(specs)]
        training = self._training() if training is None else training
        key = (tuple((tuple(s.shape), s.dtype.name, s.name) for s in specs), training)
        cp = self._cache.get(key)
        if cp is None:
            inst = self._instance
            old = getattr(inst, "training", None)
            try:
                if inst is not None and hasattr(inst, "train"):
                    inst.training = training
                cp = trace(self._function, inst, specs, names, training)
            finally:
                if inst is not None and old is not None:
                    inst.training = old
            self._cache[key] = cp
        self._last = cp
        return cp

    @property
    def concrete_program(self):
        if self._last is None:
            if self._input_spec is None:
                raise ValueError("to_static: no concrete program yet; call the function once or give input_spec.")
            return self.get_concrete_program()
        return self._last

    def concrete_program_specify_input_spec(self, input_spec=None, training=False):
        return self.get_concrete_program(input_spec=input_spec or self._input_spec, training=training)

    def __call__(self, *args, **kwargs):
        inst = self._instance
        if not _ENABLED[0] or not in_dynamic_mode():
            return self._function(inst, *args, **kwargs) if inst is not None else self._function(*args, **kwargs)
        n = len(self._input_spec) if self._input_spec is not None else len(args)
        tensor_args = list(args[:n])
        extra = list(args[n:])
        if extra or any(v is not None for v in kwargs.values()):
            # arguments the program cannot take (e.g. the guide's `label`): run the Python code
            return self._function(inst, *args, **kwargs) if inst is not None else self._function(*args, **kwargs)
        from ..tensor_api.creation import to_tensor
        tensor_args = [a if isinstance(a, Tensor) else to_tensor(a) for a in tensor_args]
        cp = self.get_concrete_program(*tensor_args)
        feeds = {v.name: t for v, t in zip(cp.inputs, tensor_args)}
        outs = run_program(cp.main_program, feeds, cp.main_program._captured, cp.fetch_names)
        return pack(cp.out_structure, outs)


def to_static(function=None, input_spec=None, build_strategy=None, full_graph=None, backend=None, **kwargs):
    """Decorator converting a Layer method or a function to a static program (``paddle.jit.to_static``).

    Example:
        >>> class Net(paddle.nn.Layer):
        ...     @paddle.jit.to_static(input_spec=[InputSpec([None, 4], 'float32')])
        ...     def forward(self, x):
        ...         return self.fc(x)
    """
    def decorate(fn):
        if isinstance(fn, StaticFunction):
            return fn
        if hasattr(fn, "forward") and hasattr(fn, "sublayers"):   # a Layer instance
            layer = fn
            sf = StaticFunction(type(layer).forward, input_spec, layer)
            layer.forward = sf
            return layer
        return StaticFunction(fn, input_spec)
    if function is not None:
        return decorate(function)
    return decorate


def not_to_static(fn=None):
    return fn


def ignore_module(modules):
    return None


def _flat_outputs(out):
    return flatten(out)[0]
