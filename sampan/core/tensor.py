"""Tensor (an ``numpy.ndarray`` with autograd), Parameter, and the eager autograd tape.

A Tensor produced by an op that had an input needing a gradient carries a ``_node``
(the tape entry) and its output slot; ``backward()`` walks the nodes in reverse
topological order calling each op's registry backward rule.
"""
from __future__ import annotations

import numpy as np

from . import state
from . import unique_name
from .dtype import DType, convert_dtype, bfloat16_to_float32, BY_NUMPY

__all__ = ["Tensor", "Parameter", "Node", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]


class Place:
    """Device placement. sampan runs on the CPU only."""

    def __init__(self, kind="cpu", device_id=0):
        self.kind, self.device_id = kind, device_id

    def __repr__(self):
        return "Place(cpu)" if self.kind == "cpu" else f"Place({self.kind}:{self.device_id})"

    def __eq__(self, other):
        return isinstance(other, Place) and (self.kind, self.device_id) == (other.kind, other.device_id)

    def is_cpu_place(self):
        return self.kind == "cpu"

    def is_gpu_place(self):
        return False


CPU = Place()


class Node:
    """One recorded op application on the eager tape."""

    __slots__ = ("op", "attrs", "ins", "outs", "inputs", "out_grads", "deps", "__weakref__")

    def __init__(self, op, attrs, ins, outs, inputs):
        self.op = op          # OpDef
        self.attrs = attrs    # full attrs
        self.ins = ins        # slot -> array (forward inputs)
        self.outs = outs      # slot -> array (forward outputs)
        self.inputs = inputs  # list of (slot, index or None, Tensor) that need grad
        self.out_grads = None  # during backward: {(slot, idx): grad}
        self.deps = 0          # during backward: consumers not yet processed

    def __repr__(self):
        return f"<Node {self.op.type}>"


class _MathMixin:
    """Python operators shared by eager Tensors and static Variables (all go through dispatch)."""

    __array_priority__ = 100

    def __add__(self, o):
        from ..tensor_api import math as m
        return m.add(self, o)

    def __radd__(self, o):
        from ..tensor_api import math as m
        return m.add(self, o)

    def __sub__(self, o):
        from ..tensor_api import math as m
        return m.subtract(self, o)

    def __rsub__(self, o):
        from ..tensor_api import math as m
        return m.subtract(o, self)

    def __mul__(self, o):
        from ..tensor_api import math as m
        return m.multiply(self, o)

    def __rmul__(self, o):
        from ..tensor_api import math as m
        return m.multiply(self, o)

    def __truediv__(self, o):
        from ..tensor_api import math as m
        return m.divide(self, o)

    def __rtruediv__(self, o):
        from ..tensor_api import math as m
        return m.divide(o, self)

    def __pow__(self, o):
        from ..tensor_api import math as m
        return m.pow(self, o)

    def __rpow__(self, o):
        from ..tensor_api import math as m
        return m.pow(o, self)

    def __matmul__(self, o):
        from ..tensor_api import math as m
        return m.matmul(self, o)

    def __rmatmul__(self, o):
        from ..tensor_api import math as m
        return m.matmul(m._as_tensor_like(o, self), self)

    def __neg__(self):
        from ..tensor_api import math as m
        return m.scale(self, -1.0)

    def __abs__(self):
        from ..tensor_api import math as m
        return m.abs(self)

    def __floordiv__(self, o):
        from ..tensor_api import math as m
        return m.floor_divide(self, o)

    def __mod__(self, o):
        from ..tensor_api import math as m
        return m.remainder(self, o)

    def __lt__(self, o):
        from ..tensor_api import math as m
        return m.less_than(self, o)

    def __le__(self, o):
        from ..tensor_api import math as m
        return m.less_equal(self, o)

    def __gt__(self, o):
        from ..tensor_api import math as m
        return m.greater_than(self, o)

    def __ge__(self, o):
        from ..tensor_api import math as m
        return m.greater_equal(self, o)

    def __eq__(self, o):
        from ..tensor_api import math as m
        return m.equal(self, o)

    def __ne__(self, o):
        from ..tensor_api import math as m
        return m.not_equal(self, o)

    def __invert__(self):
        from ..tensor_api import math as m
        return m.logical_not(self)

    def __and__(self, o):
        from ..tensor_api import math as m
        return m.logical_and(self, o)

    def __or__(self, o):
        from ..tensor_api import math as m
        return m.logical_or(self, o)

    __hash__ = object.__hash__

    def __getitem__(self, idx):
        from ..tensor_api import manipulation as mp
        return mp.getitem(self, idx)

    def __setitem__(self, idx, value):
        from ..tensor_api import manipulation as mp
        mp.setitem(self, idx, value)

    def __getattr__(self, name):
        # Tensor methods mirror the public functions (x.sum(), x.reshape(...), ...).
        if name.startswith("_"):
            raise AttributeError(name)
        from ..tensor_api import tensor_method
        fn = tensor_method(name)
        if fn is None:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        return lambda *a, **k: fn(self, *a, **k)


class Tensor(_MathMixin):
    """An eager tensor: a NumPy array plus autograd metadata.

    Example:
        >>> import sampan as paddle
        >>> x = paddle.to_tensor([1.0, 2.0], stop_gradient=False)
        >>> (x * x).sum().backward()
        >>> x.grad.numpy()
        array([2., 4.], dtype=float32)
    """

    __slots__ = ("_data", "stop_gradient", "_grad", "_name", "persistable", "_node", "_slot", "_idx",
                 "_dtype", "_hooks")

    def __init__(self, data=None, dtype=None, name=None, stop_gradient=True, persistable=False):
        if data is None:
            data = np.zeros([0], dtype=np.float32)
        arr = np.asarray(data)
        self._dtype = None
        if dtype is not None:
            dt = convert_dtype(dtype)
            if dt.name == "bfloat16":
                self._dtype = dt
                if arr.dtype != np.uint16:
                    from .dtype import float32_to_bfloat16
                    arr = float32_to_bfloat16(arr)
            elif arr.dtype != dt.np:
                arr = arr.astype(dt.np)
        self._data = arr
        self.stop_gradient = stop_gradient
        self._grad = None
        self._name = name if name is not None else unique_name.generate("generated_tensor")
        self.persistable = persistable
        self._node = None
        self._slot = None
        self._idx = None
        self._hooks = None

    @classmethod
    def _wrap(cls, arr, node=None, slot=None, idx=None, stop_gradient=True):
        """Fast constructor for op outputs (no conversion, tape-generated name)."""
        t = cls.__new__(cls)
        t._data = arr
        t.stop_gradient = stop_gradient
        t._grad = None
        t._name = None
        t.persistable = False
        t._node = node
        t._slot = slot
        t._idx = idx
        t._dtype = None
        t._hooks = None
        return t

    # ------------------------------------------------------------------ properties
    @property
    def name(self):
        if self._name is None:  # op outputs get their name only when someone asks
            self._name = unique_name.generate("eager_tmp")
        return self._name

    @name.setter
    def name(self, value):
        self._name = value

    @property
    def shape(self):
        return list(self._data.shape)

    @property
    def dtype(self) -> DType:
        if self._dtype is not None:
            return self._dtype
        return BY_NUMPY[self._data.dtype]

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    @property
    def size(self):
        return int(self._data.size)

    def numel(self):
        return int(self._data.size)

    @property
    def place(self):
        return CPU

    @property
    def grad(self):
        if self._grad is None:
            return None
        return Tensor._wrap(self._grad)

    @grad.setter
    def grad(self, value):
        self._grad = None if value is None else np.asarray(value._data if isinstance(value, Tensor) else value)

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def T(self):
        from ..tensor_api import manipulation as mp
        return mp.transpose(self, list(range(self.ndim))[::-1])

    @property
    def data(self):
        return self

    def __len__(self):
        return len(self._data)

    # ------------------------------------------------------------------ conversion
    def numpy(self):
        """A copy of the values as a NumPy array, as Paddle's (bfloat16 comes back as float32).

        A copy, so a snapshot taken before training never changes under the caller (optimizer
        state is updated in place)."""
        if self._dtype is not None and self._dtype.name == "bfloat16":
            return bfloat16_to_float32(self._data)
        return self._data.copy()

    def __array__(self, dtype=None, copy=None):
        if self._dtype is not None and self._dtype.name == "bfloat16":
            a = bfloat16_to_float32(self._data)
        else:
            a = self._data.copy() if copy else self._data
        return a.astype(dtype) if dtype is not None else a

    def item(self, *idx):
        a = self.numpy()
        return a.item(*idx) if idx else a.item()

    def tolist(self):
        return self.numpy().tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise ValueError(f"The truth value of a Tensor with shape {self.shape} is ambiguous.")
        return bool(self._data.reshape(()))

    def __index__(self):
        return int(self.item())

    def __repr__(self):
        grad = "" if self.stop_gradient else ", stop_gradient=False"
        return f"Tensor(shape={self.shape}, dtype={self.dtype}, place={self.place}{grad},\n       {self.numpy()!r})"

    def __format__(self, spec):
        if self._data.size == 1 and spec:
            return format(self.item(), spec)
        return repr(self)

    def __deepcopy__(self, memo):
        import copy
        t = type(self).__new__(type(self))   # a Parameter stays a Parameter, with its attributes
        t._data = self._data.copy()
        t.stop_gradient, t._grad, t._name, t.persistable = self.stop_gradient, None, self.name, self.persistable
        t._node = t._slot = t._idx = t._hooks = None
        t._dtype = self._dtype
        t.__dict__.update(copy.deepcopy(self.__dict__, memo))
        memo[id(self)] = t
        return t

    # ------------------------------------------------------------------ autograd
    def backward(self, grad_tensor=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
        _autograd().run_backward([self], [grad_tensor], retain_graph)

    def clear_gradient(self, set_to_zero=True):
        if self._grad is not None and set_to_zero:
            self._grad = np.zeros_like(self._grad)
        else:
            self._grad = None

    def clear_grad(self, set_to_zero=True):
        self.clear_gradient(set_to_zero)

    def detach(self):
        t = Tensor._wrap(self._data)
        t._name = self._name
        t._dtype = self._dtype
        return t

    def register_hook(self, hook):
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)

        class _Handle:
            def remove(h):
                self._hooks.remove(hook)
        return _Handle()

    # ------------------------------------------------------------------ in-place updates
    def set_value(self, value):
        """Overwrite the values (shape and dtype must match), keeping identity and name."""
        arr = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
        if list(arr.shape) != self.shape:
            raise ValueError(f"set_value: shape mismatch for {self.name}: expected {self.shape}, "
                             f"received {list(arr.shape)}.")
        if self._dtype is not None and self._dtype.name == "bfloat16":
            from .dtype import float32_to_bfloat16
            arr = float32_to_bfloat16(arr) if arr.dtype != np.uint16 else arr
        self._data = np.array(arr, dtype=self._data.dtype, copy=True)

    def copy_(self, other, blocking=True):
        self.set_value(other)
        return self

    def get_tensor(self):
        return self

    def _is_initialized(self):
        return True

    def value(self):
        return self

    def cpu(self):
        return self

    def cuda(self, *a, **k):
        raise RuntimeError("sampan runs on the CPU only: there is no CUDA device.")

    def pin_memory(self):
        return self


def _autograd():
    global _AUTOGRAD
    if _AUTOGRAD is None:
        from . import autograd
        _AUTOGRAD = autograd
    return _AUTOGRAD


_AUTOGRAD = None


class Parameter(Tensor):
    """A trainable Tensor owned by a Layer (Paddle's ``EagerParamBase``)."""

    __slots__ = ()

    def __init__(self, data, dtype=None, name=None, trainable=True, **kw):
        super().__init__(data, dtype=dtype, name=name if name is not None else unique_name.generate("param"),
                         stop_gradient=not trainable, persistable=True)
        self.__dict__.update(optimize_attr={"learning_rate": kw.get("learning_rate", 1.0)},
                             regularizer=kw.get("regularizer"), need_clip=kw.get("need_clip", True),
                             is_distributed=False, do_model_average=None)

    @property
    def trainable(self):
        return not self.stop_gradient

    @trainable.setter
    def trainable(self, v):
        self.stop_gradient = not v

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


# ---------------------------------------------------------------------- grad mode
class no_grad:
    """Context manager / decorator disabling tape recording (``paddle.no_grad``)."""

    def __enter__(self):
        self._old = state.set_grad_enabled(False)

    def __exit__(self, *exc):
        state.set_grad_enabled(self._old)

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with no_grad():
                return fn(*a, **k)
        return wrapper


class enable_grad(no_grad):
    def __enter__(self):
        self._old = state.set_grad_enabled(True)


def set_grad_enabled(mode: bool):
    class _Ctx:
        def __init__(self):
            self._old = state.set_grad_enabled(mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            state.set_grad_enabled(self._old)
    return _Ctx()


def is_grad_enabled():
    return state.grad_enabled()
