"""``nn.Layer``: the base class of every layer (Paddle's ``paddle.nn.Layer``).

A Layer owns parameters (``create_parameter``: names ``<full_name>.w_<n>`` / ``.b_<n>`` from the
unique-name table, so ``Linear`` inside ``LinearNet`` gets ``linear_0.w_0`` exactly as Paddle),
buffers (persistable or not) and sublayers, all in insertion order. ``state_dict()`` gives
structured names (``fc1.weight``, ``bn._mean``) for parameters then persistable buffers, layer by
layer; ``set_state_dict`` applies what matches and reports everything else in one warning.

Parameters, buffers and sublayers are kept in ``_parameters`` / ``_buffers`` / ``_sub_layers``
(Paddle's names, read by other code) and mirrored into the instance ``__dict__`` so that
``self.weight`` in a ``forward`` is a plain attribute hit instead of a ``__getattr__`` call.
``__setattr__``/``__delattr__`` keep the two in step.
"""
from __future__ import annotations

import copy
import warnings
from collections import OrderedDict

import numpy as np

from ...core import state, unique_name
from ...core.dtype import convert_dtype, BY_NUMPY
from ...core.tensor import Tensor, Parameter
from ..param_attr import ParamAttr

__all__ = ["Layer", "HookRemoveHelper"]

_FN_CACHE: dict = {}


def functional(name):
    """``nn.functional.<name>``, or a clear error when sampan does not implement it yet."""
    fn = _FN_CACHE.get(name)
    if fn is None:
        from .. import functional as F
        fn = getattr(F, name, None)
        if fn is None:
            raise NotImplementedError(f"paddle.nn.functional.{name} is not implemented in sampan yet; the layer "
                                      "that needs it can be built but not called.")
        _FN_CACHE[name] = fn
    return fn


def _is_param(v):
    """An eager Parameter or, while building a static program, a parameter Variable."""
    if isinstance(v, Parameter):
        return True
    return not isinstance(v, Tensor) and getattr(v, "is_parameter", False) is True and hasattr(v, "block")


class HookRemoveHelper:
    """Returned by ``register_forward_*_hook``; ``remove()`` unregisters the hook."""

    _next_id = [0]

    def __init__(self, hooks):
        self._hooks = hooks
        self._id = HookRemoveHelper._next_id[0]
        HookRemoveHelper._next_id[0] += 1

    def remove(self):
        self._hooks.pop(self._id, None)


class Layer:
    """Base class of all layers.

    Args:
        name_scope: prefix of the layer's unique full name; default: the class name in snake case
            (``LinearNet`` -> ``linear_net_0``).
        dtype: default dtype of the layer's parameters (default: ``paddle.get_default_dtype()``).

    Example:
        >>> import sampan as paddle
        >>> class Net(paddle.nn.Layer):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = paddle.nn.Linear(2, 1)
        ...     def forward(self, x):
        ...         return self.fc(x)
        >>> net = Net()
        >>> list(net.state_dict())
        ['fc.weight', 'fc.bias']
    """

    def __init__(self, name_scope=None, dtype=None):
        d = self.__dict__
        d["training"] = True
        if name_scope is None:
            name_scope = unique_name.camel_to_snake(type(self).__name__)
        d["_full_name"] = unique_name.generate(name_scope)
        d["_dtype"] = convert_dtype(dtype).name if dtype is not None else state.get_default_dtype()
        d["_built"] = False
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistable_buffer_names_set"] = set()
        d["_sub_layers"] = OrderedDict()
        d["_loaddict_holder"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_post_hooks"] = OrderedDict()
        d["_state_dict_hooks"] = OrderedDict()
        d["_casted_by_pure_fp16"] = False

    # ------------------------------------------------------------------ calling
    def forward(self, *inputs, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented: subclasses of nn.Layer "
                                  "must define forward().")

    def __call__(self, *inputs, **kwargs):
        if self._forward_pre_hooks or self._forward_post_hooks:
            return self._call_with_hooks(inputs, kwargs)
        return self.forward(*inputs, **kwargs)

    def _call_with_hooks(self, inputs, kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            res = hook(self, inputs)
            if res is not None:
                inputs = res if isinstance(res, tuple) else (res,)
        outputs = self.forward(*inputs, **kwargs)
        for hook in list(self._forward_post_hooks.values()):
            res = hook(self, inputs, outputs)
            if res is not None:
                outputs = res
        return outputs

    def register_forward_pre_hook(self, hook):
        """``hook(layer, inputs) -> None | new inputs`` runs before ``forward``."""
        h = HookRemoveHelper(self._forward_pre_hooks)
        self._forward_pre_hooks[h._id] = hook
        return h

    def register_forward_post_hook(self, hook):
        """``hook(layer, inputs, outputs) -> None | new outputs`` runs after ``forward``."""
        h = HookRemoveHelper(self._forward_post_hooks)
        self._forward_post_hooks[h._id] = hook
        return h

    def _register_state_dict_hook(self, hook):
        h = HookRemoveHelper(self._state_dict_hooks)
        self._state_dict_hooks[h._id] = hook
        return h

    # ------------------------------------------------------------------ names, mode
    def full_name(self):
        """The unique name of this layer (``linear_0``), the prefix of its parameter names."""
        return self._full_name

    def train(self):
        """Switch this layer and all sublayers to training mode (dropout active, batch stats)."""
        for layer in self.sublayers(include_self=True):
            layer.__dict__["training"] = True
        return self

    def eval(self):
        """Switch this layer and all sublayers to evaluation mode."""
        for layer in self.sublayers(include_self=True):
            layer.__dict__["training"] = False
        return self

    def _build_once(self, *args, **kwargs):
        pass

    # ------------------------------------------------------------------ parameters
    def create_parameter(self, shape, attr=None, dtype=None, is_bias=False, default_initializer=None):
        """Create a parameter named ``<full_name>.w_<n>`` (``.b_<n>`` for biases) unless ``attr`` names it.

        Returns ``None`` when ``attr`` is ``False`` (e.g. ``bias_attr=False``).
        """
        from .. import initializer as init
        attr = ParamAttr._to_attr(copy.deepcopy(attr) if isinstance(attr, ParamAttr) else attr)
        if attr is False:
            return None
        shape = [int(s) for s in shape]
        if any(s <= 0 for s in shape):
            raise ValueError(f"{self._full_name}.create_parameter: every dimension of shape must be positive. "
                             f"Received: shape={shape}.")
        dtype = convert_dtype(dtype if dtype is not None else self._dtype)
        glob = init.global_bias_initializer() if is_bias else init.global_weight_initializer()
        if glob is not None:
            default_initializer = glob
        name = attr.name
        if name is None:
            name = unique_name.generate(self._full_name + (".b" if is_bias else ".w"))
        initializer = attr.initializer or default_initializer
        if initializer is None:
            if is_bias:
                initializer = init.Constant(0.0)
            elif dtype.is_floating_point:
                initializer = init.XavierUniform()
            else:
                initializer = init.Constant(0.0)
        from ...core.dispatch import create_parameter
        return create_parameter(shape, dtype, name, initializer, trainable=attr.trainable,
                                learning_rate=attr.learning_rate, regularizer=attr.regularizer,
                                need_clip=attr.need_clip)

    def create_variable(self, name=None, persistable=None, dtype=None):
        """A non-parameter Tensor owned by the layer (named ``<full_name>._generated_var_<n>``)."""
        name = name or unique_name.generate(self._full_name + "._generated_var")
        dt = convert_dtype(dtype if dtype is not None else self._dtype)
        return Tensor(np.zeros([0], dtype=dt.np), dtype=dt, name=name, persistable=bool(persistable))

    create_tensor = create_variable

    def add_parameter(self, name, parameter):
        """Register ``parameter`` (a Parameter or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise RuntimeError("super().__init__() should be called first")
        if not isinstance(name, str):
            raise TypeError(f"add_parameter: the name must be a str. Received: {type(name).__name__}.")
        if "." in name or not name:
            raise KeyError(f"add_parameter: invalid parameter name {name!r} (empty or containing '.').")
        if name in self.__dict__ and name not in self._parameters:
            raise KeyError(f"add_parameter: attribute {name!r} already exists.")
        if parameter is not None and not _is_param(parameter):
            raise TypeError(f"add_parameter: expected a Parameter for {name!r}, received {type(parameter).__name__}.")
        self._parameters[name] = parameter
        self.__dict__[name] = parameter
        return parameter

    def add_sublayer(self, name, sublayer):
        """Register ``sublayer`` under ``name`` and return it."""
        if sublayer is not None and not isinstance(sublayer, Layer):
            raise TypeError(f"add_sublayer: expected a Layer for {name!r}, received {type(sublayer).__name__}.")
        name = str(name)
        self._sub_layers[name] = sublayer
        self.__dict__[name] = sublayer
        return sublayer

    def register_buffer(self, name, tensor, persistable=True):
        """Register a buffer: a Tensor saved in ``state_dict`` when ``persistable`` (not a parameter)."""
        if "_buffers" not in self.__dict__:
            raise ValueError("super().__init__() should be called first")
        if not isinstance(name, str):
            raise TypeError(f"register_buffer: the name must be a str. Received: {type(name).__name__}.")
        if "." in name:
            raise KeyError("register_buffer: the name of a buffer can not contain '.'")
        if not name:
            raise KeyError("register_buffer: the name of a buffer can not be empty")
        if name in self.__dict__ and name not in self._buffers:
            raise KeyError(f"register_buffer: attribute {name!r} already exists.")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: expected a Tensor for buffer {name!r}, "
                            f"received {type(tensor).__name__}.")
        self._buffers[name] = tensor
        self.__dict__[name] = tensor
        if persistable:
            self._non_persistable_buffer_names_set.discard(name)
        else:
            self._non_persistable_buffer_names_set.add(name)
        return tensor

    # ------------------------------------------------------------------ attribute routing
    def _drop(self, name, *dicts):
        for dct in dicts:
            dct.pop(name, None)

    def __setattr__(self, name, value):
        d = self.__dict__
        if isinstance(getattr(type(self), name, None), property):
            object.__setattr__(self, name, value)
            return
        params = d.get("_parameters")
        if _is_param(value):
            if params is None:
                raise ValueError("super().__init__() should be called first")
            if self._loaddict_holder and value.name in self._loaddict_holder:
                value.set_value(self._loaddict_holder[value.name])
            self._drop(name, self._buffers, self._sub_layers)
            params[name] = value
            d[name] = value
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(f"assignment to parameter '{name}' should be of type Parameter or None, "
                                f"but got '{type(value).__name__}'")
            params[name] = None
            d[name] = None
            return
        layers = d.get("_sub_layers")
        if isinstance(value, Layer):
            if layers is None:
                raise ValueError("super().__init__() should be called first")
            self._drop(name, params, self._buffers)
            layers[name] = value
            d[name] = value
            return
        if layers is not None and name in layers:
            if value is not None:
                raise TypeError(f"assignment to sublayer '{name}' should be of type Layer or None, "
                                f"but got '{type(value).__name__}'")
            layers[name] = None
            d[name] = None
            return
        buffers = d.get("_buffers")
        if isinstance(value, Tensor):
            if buffers is None:
                raise ValueError("super().__init__() should be called first")
            self._drop(name, params, layers)
            if name not in buffers:   # only register_buffer makes a persistable buffer
                self._non_persistable_buffer_names_set.add(name)
            buffers[name] = value
            d[name] = value
            return
        if buffers is not None and name in buffers:
            if value is not None and not hasattr(value, "block"):
                raise TypeError(f"assignment to buffer '{name}' should be of type Tensor or None, "
                                f"but got '{type(value).__name__}'")
            if value is None:
                buffers[name] = None
                d[name] = None
                return
        object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # Only reached when the attribute is not in __dict__ (entries added to the dicts directly).
        d = self.__dict__
        for key in ("_parameters", "_sub_layers", "_buffers"):
            dct = d.get(key)
            if dct is not None and name in dct:
                return dct[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        d = self.__dict__
        found = False
        for key in ("_parameters", "_sub_layers", "_buffers"):
            dct = d.get(key)
            if dct is not None and name in dct:
                del dct[name]
                found = True
        self._non_persistable_buffer_names_set.discard(name)
        if name in d:
            del d[name]
        elif not found:
            object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(dir(type(self))) | set(self.__dict__))

    # ------------------------------------------------------------------ traversal
    def named_sublayers(self, prefix="", include_self=False, layers_set=None):
        """``(prefix, layer)`` pairs in pre-order, each layer once."""
        if layers_set is None:
            layers_set = set()
        if include_self and id(self) not in layers_set:
            layers_set.add(id(self))
            yield prefix, self
        for key, layer in self._sub_layers.items():
            if layer is None:
                continue
            p = prefix + ("." if prefix else "") + key
            yield from layer.named_sublayers(prefix=p, include_self=True, layers_set=layers_set)

    def sublayers(self, include_self=False):
        return [layer for _, layer in self.named_sublayers(include_self=include_self)]

    def named_children(self):
        seen = set()
        for name, layer in self._sub_layers.items():
            if layer is not None and id(layer) not in seen:
                seen.add(id(layer))
                yield name, layer

    def children(self):
        return [layer for _, layer in self.named_children()]

    def named_parameters(self, prefix="", include_sublayers=True):
        """``(structured name, parameter)`` pairs, each parameter once, in Paddle's order."""
        seen = set()
        layers = self.named_sublayers(prefix=prefix, include_self=True) if include_sublayers else [(prefix, self)]
        for lp, layer in layers:
            for key, p in layer._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield lp + ("." if lp else "") + key, p

    def parameters(self, include_sublayers=True):
        """All parameters (the list an optimizer takes)."""
        return [p for _, p in self.named_parameters(include_sublayers=include_sublayers)]

    def named_buffers(self, prefix="", include_sublayers=True):
        seen = set()
        layers = self.named_sublayers(prefix=prefix, include_self=True) if include_sublayers else [(prefix, self)]
        for lp, layer in layers:
            for key, b in layer._buffers.items():
                if b is None or id(b) in seen:
                    continue
                seen.add(id(b))
                yield lp + ("." if lp else "") + key, b

    def buffers(self, include_sublayers=True):
        return [b for _, b in self.named_buffers(include_sublayers=include_sublayers)]

    def apply(self, fn):
        """Call ``fn(layer)`` on every sublayer (children first) and on self; returns self."""
        for layer in self.children():
            layer.apply(fn)
        fn(self)
        return self

    def clear_gradients(self, set_to_zero=True):
        """Reset the parameters' gradients to zeros (a memory-free cleared gradient) or to None."""
        from ...core.autograd import cleared_grad
        for p in self.parameters():
            if not p.stop_gradient and p._grad is not None:
                p._grad = cleared_grad(p._data.shape, p._grad.dtype) if set_to_zero else None

    # ------------------------------------------------------------------ state
    def _state_dict_impl(self, destination, include_sublayers, prefix, include_non_persistable, use_hook):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p
        skip = self._non_persistable_buffer_names_set
        for name, b in self._buffers.items():
            if b is not None and (include_non_persistable or name not in skip):
                destination[prefix + name] = b
        if include_sublayers:
            for lname, layer in self._sub_layers.items():
                if layer is not None:
                    layer._state_dict_impl(destination, True, prefix + lname + ".", include_non_persistable,
                                           use_hook)
        if use_hook:
            for hook in self._state_dict_hooks.values():
                res = hook(destination)
                if res is not None:
                    destination = res
        return destination

    def state_dict(self, destination=None, include_sublayers=True, structured_name_prefix="", use_hook=True):
        """Structured name -> Tensor: parameters, then persistable buffers, layer by layer.

        Example:
            >>> import sampan as paddle
            >>> bn = paddle.nn.BatchNorm2D(4)
            >>> list(bn.state_dict())
            ['weight', 'bias', '_mean', '_variance']
        """
        dest = OrderedDict() if destination is None else destination
        return self._state_dict_impl(dest, include_sublayers, structured_name_prefix, False, use_hook)

    def to_static_state_dict(self, destination=None, include_sublayers=True, structured_name_prefix="",
                             use_hook=True):
        """Like ``state_dict`` but including non-persistable buffers."""
        dest = OrderedDict() if destination is None else destination
        return self._state_dict_impl(dest, include_sublayers, structured_name_prefix, True, use_hook)

    def set_state_dict(self, state_dict, use_structured_name=True):
        """Load values into parameters and persistable buffers; return ``(missing_keys, unexpected_keys)``.

        Every entry that matches (by structured name, or by ``tensor.name`` when
        ``use_structured_name=False``) with the same shape and dtype is copied in. Keys the layer
        expects but that are absent, or present with another shape or dtype, are skipped and listed
        together in one warning with the reason; like Paddle they are returned in ``missing_keys``
        (and a mismatched key also in ``unexpected_keys``, since it was not used). Values may be
        Tensors or ndarrays (a bfloat16 parameter also takes the uint16 bit patterns Paddle saves).

        Example:
            >>> import sampan as paddle, numpy as np
            >>> lin = paddle.nn.Linear(2, 2)
            >>> lin.set_state_dict({'weight': np.ones([2, 2], 'float32'), 'bias': np.zeros([2], 'float32')})
            ([], [])
        """
        if not isinstance(state_dict, dict):
            raise TypeError(f"set_state_dict: expected a dict of name -> Tensor/ndarray, "
                            f"received {type(state_dict).__name__}.")
        missing, matched, problems, todo = [], set(), [], []
        for key, target in self._state_dict_impl(OrderedDict(), True, "", False, False).items():
            key_name = key if use_structured_name else target.name
            if key_name not in state_dict:
                missing.append(key_name)
                problems.append(f"{key}: not found in the provided dict" +
                                ("" if use_structured_name else f" (looked up by tensor name {key_name!r})"))
                continue
            arr, why = _coerce_state(state_dict[key_name], target)
            if why is not None:
                missing.append(key_name)
                problems.append(f"{key}: {why}")
                continue
            matched.add(key_name)
            todo.append((target, arr))
        unexpected = [k for k in state_dict if k not in matched]
        if problems:
            warnings.warn(f"{type(self).__name__}.set_state_dict: Skip loading for {len(problems)} of "
                          f"{len(problems) + len(todo)} entries (the rest were loaded):\n  " + "\n  ".join(problems),
                          stacklevel=2)
        for target, arr in todo:
            _assign(target, arr)
        return missing, unexpected

    set_dict = set_state_dict
    load_dict = set_state_dict

    # ------------------------------------------------------------------ dtype
    def _cast_floating(self, dtype):
        dt = convert_dtype(dtype)
        for layer in self.sublayers(include_self=True):
            for dct in (layer._parameters, layer._buffers):
                for t in dct.values():
                    if t is None or not isinstance(t, Tensor) or not t.dtype.is_floating_point:
                        continue
                    _cast_tensor(t, dt)
            layer.__dict__["_dtype"] = dt.name
        return self

    def astype(self, dtype=None):
        """Cast every floating parameter and buffer to ``dtype`` in place (identity and names kept)."""
        return self._cast_floating(dtype)

    def to(self, device=None, dtype=None, blocking=None):
        """``device`` must be the CPU (sampan's only device); ``dtype`` casts floating parameters and buffers."""
        if device is not None and str(device).lower().split(":")[0] not in ("cpu", "place(cpu)", "cpuplace"):
            if not (hasattr(device, "is_cpu_place") and device.is_cpu_place()):
                raise ValueError(f"{type(self).__name__}.to: sampan runs on the CPU only. Received: device={device!r}.")
        if dtype is not None:
            self._cast_floating(dtype)
        return self

    def float(self, excluded_layers=None):
        return self._cast_floating("float32")

    def float16(self, excluded_layers=None):
        return self._cast_floating("float16")

    def bfloat16(self, excluded_layers=None):
        return self._cast_floating("bfloat16")

    def double(self):
        return self._cast_floating("float64")

    # ------------------------------------------------------------------ repr
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        for name, layer in self._sub_layers.items():
            sub = repr(layer).replace("\n", "\n  ")
            lines.append(f"({name}): {sub}")
        head = type(self).__name__ + "(" + self.extra_repr()
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def _cast_tensor(t, dt):
    if t.dtype is dt:
        return
    from ...core.dtype import float32_to_bfloat16, bfloat16_to_float32
    src = t._data
    if t._dtype is not None and t._dtype.name == "bfloat16":
        src = bfloat16_to_float32(src)
    if dt.name == "bfloat16":
        t._data = float32_to_bfloat16(src.astype(np.float32))
        t._dtype = dt
    else:
        t._data = src.astype(dt.np)
        t._dtype = None
    if t._grad is not None:
        t._grad = None


def _state_meta(v):
    """(shape, dtype name, ndarray or None) of a state value: Tensor, ndarray, or something array-like."""
    if isinstance(v, Tensor):
        return list(v.shape), v.dtype.name, None
    if isinstance(v, np.ndarray):
        dt = BY_NUMPY.get(v.dtype)
        return list(v.shape), dt.name if dt is not None else str(v.dtype), v
    if hasattr(v, "shape") and hasattr(v, "dtype") and not isinstance(v, (list, tuple)):
        a = np.asarray(v)
        return _state_meta(a)
    return None, None, None


def _coerce_state(value, target):
    """Return ``(value to assign, None)`` or ``(None, reason it is skipped)``."""
    shape, dname, _ = _state_meta(value)
    tshape = list(target.shape)
    tname = target.dtype.name if target.dtype is not None else None
    if shape is None:   # Python lists / scalars carry no dtype: take the target's
        try:
            arr = np.asarray(value, dtype=target.dtype.np if tname != "bfloat16" else np.float32)
        except (TypeError, ValueError) as e:
            return None, f"cannot convert a {type(value).__name__} to a Tensor ({e})"
        shape, dname, value = list(arr.shape), tname, arr
    if shape != tshape:
        return None, f"shape mismatch: the layer expects {tshape}, the dict has {shape}"
    if dname != tname and not (tname == "bfloat16" and dname == "uint16"):
        return None, f"dtype mismatch: the layer expects {tname}, the dict has {dname}"
    return value, None


def _assign(target, value):
    if isinstance(target, Tensor):
        target.set_value(value)
    else:   # a static Variable: into the global scope
        target.set_value(value.numpy() if isinstance(value, Tensor) else np.asarray(value))
