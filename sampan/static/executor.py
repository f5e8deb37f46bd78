"""Scope and Executor: run a Program's ops with the registry kernels.

The Executor is a short loop (ONNX's reference evaluator, JAX's ``eval_jaxpr``): for each op read
the input arrays, call the registry forward, store the outputs. Persistable variables live in a
``Scope`` (parameters, optimizer state); temporaries live only for one run.
"""
from __future__ import annotations

import contextlib

import numpy as np

from ..core.tensor import Tensor, Place
from ..core.dtype import convert_dtype
from ..ops.registry import get_program_op
from .program import Program, VarType, default_main_program

__all__ = ["Scope", "global_scope", "scope_guard", "Executor", "CPUPlace", "CUDAPlace", "ExecutionError"]


class ExecutionError(RuntimeError):
    """An op failed while a program ran; the message names the op, its index and its inputs."""


def CPUPlace():
    return Place("cpu")


def CUDAPlace(device_id=0):
    raise RuntimeError(f"CUDAPlace({device_id}): sampan runs on the CPU only and this machine has no CUDA "
                       "device. Use paddle.CPUPlace().")


class _TensorHandle:
    """What ``scope.find_var(name).get_tensor()`` returns (Paddle's LoDTensor surface)."""

    def __init__(self, scope, name):
        self._scope, self._name = scope, name

    def set(self, value, place=None):
        self._scope.set(self._name, np.array(value.numpy() if isinstance(value, Tensor) else value))

    def __array__(self, dtype=None, copy=None):
        a = self._scope.get(self._name)
        return a if dtype is None else a.astype(dtype)

    def shape(self):
        return list(self._scope.get(self._name).shape)

    def _dtype(self):
        return convert_dtype(self._scope.get(self._name).dtype)

    def numpy(self):
        return self._scope.get(self._name)


class _VarHandle:
    def __init__(self, scope, name):
        self._scope, self._name = scope, name

    def get_tensor(self):
        return _TensorHandle(self._scope, self._name)

    def set_value(self, value):
        self.get_tensor().set(value)


class Scope:
    """Name -> value storage for persistable variables (Paddle's ``Scope``)."""

    def __init__(self):
        self._vars: dict[str, np.ndarray] = {}

    def find_var(self, name):
        return _VarHandle(self, name) if name in self._vars else None

    def var(self, name):
        self._vars.setdefault(name, np.zeros([0], np.float32))
        return _VarHandle(self, name)

    def get(self, name):
        try:
            return self._vars[name]
        except KeyError:
            raise KeyError(f"variable {name!r} is not in the scope; run the startup program or load "
                           "its value first.") from None

    def set(self, name, value):
        self._vars[name] = value

    def has(self, name):
        return name in self._vars

    def local_var_names(self):
        return list(self._vars)

    def drop_kids(self):
        return None


_scopes = [Scope()]


def global_scope() -> Scope:
    return _scopes[-1]


@contextlib.contextmanager
def scope_guard(scope):
    _scopes.append(scope)
    try:
        yield
    finally:
        _scopes.pop()


_SKIP_TYPES = {VarType.FEED_MINIBATCH, VarType.FETCH_LIST}


class _Plan:
    """A block's ops resolved to registry entries once (re-planned when the block changes)."""

    def __init__(self, block):
        self.key = len(block.ops)
        self.steps = []
        for i, o in enumerate(block.ops):
            if o.type in ("feed", "fetch"):
                self.steps.append((i, o, None, None))
                continue
            od = get_program_op(o, i, block)
            self.steps.append((i, o, od, od.fill_attrs(o.attrs)))


class Executor:
    """Runs Programs on the CPU.

    Example:
        >>> exe = paddle.static.Executor(paddle.CPUPlace())
        >>> exe.run(paddle.static.default_startup_program())   # initialise parameters
        >>> out, = exe.run(main, feed={'x': x_np}, fetch_list=[y])
    """

    def __init__(self, place=None):
        self.place = place if place is not None else CPUPlace()
        self._plans = {}

    def close(self):
        self._plans.clear()

    def run(self, program=None, feed=None, fetch_list=None, feed_var_name="feed", fetch_var_name="fetch",
            scope=None, return_numpy=True, use_program_cache=False, use_prune=False):
        program = default_main_program() if program is None else program
        if hasattr(program, "_program"):  # CompiledProgram
            program = program._program
        if not isinstance(program, Program):
            raise TypeError(f"Executor.run: program must be a Program. Received: {type(program).__name__}.")
        scope = scope if scope is not None else global_scope()
        feed = dict(feed or {})
        fetch_list = _as_list(fetch_list)
        block = program.global_block()
        sched = getattr(program, "lr_scheduler", None)
        lr_var = getattr(program, "lr_var", None)
        if sched is not None and lr_var is not None:   # static training with an LRScheduler
            scope.set(lr_var.name, np.array([sched()], dtype=lr_var.dtype.np if lr_var.dtype else np.float32))
        env = {}
        self._feed(block, feed, env)
        fetched = self._run_block(program, block, env, scope)
        out = []
        for i, f in enumerate(fetch_list):
            name = f if isinstance(f, str) else getattr(f, "name", None)
            if name is None:
                raise TypeError(f"Executor.run: fetch_list[{i}] must be a Variable or a variable name. "
                                f"Received: {f!r}.")
            if name in fetched:
                val = fetched[name]
            elif name in env:
                val = env[name]
            elif scope.has(name):
                val = scope.get(name)
            else:
                raise ValueError(f"Executor.run: fetch target {name!r} was not computed by the program "
                                 "(is it a variable of this program?).")
            out.append(val if return_numpy else Tensor._wrap(val))
        if not fetch_list and fetched.get("__fetch_cols__"):
            cols = fetched["__fetch_cols__"]
            out = [cols[k] for k in sorted(cols)]
        return out

    # ---------------------------------------------------------------- feeding
    def _feed(self, block, feed, env):
        for name, value in feed.items():
            v = block.vars.get(name)
            arr = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
            if v is not None:
                _check_feed(v, arr)
                if v.dtype is not None and arr.dtype != v.dtype.np:
                    arr = arr.astype(v.dtype.np)
            elif not any(name in o.output("Out") for o in block.ops if o.type == "feed"):
                known = [n for n, x in block.vars.items() if x.need_check_feed]
                raise ValueError(f"Executor.run: feed name {name!r} is not a variable of the program. "
                                 f"Data variables: {known}.")
            env[name] = arr

    # ---------------------------------------------------------------- the loop
    def _run_block(self, program, block, env, scope):
        plan = self._plans.get(id(block))
        if plan is None or plan.key != len(block.ops):
            plan = _Plan(block)
            self._plans[id(block)] = plan
        vars_ = block.vars
        captured = program._captured
        fetched = {"__fetch_cols__": {}}

        def read(name):
            if name in env:
                return env[name]
            if scope.has(name):
                return scope.get(name)
            if name in captured:   # an eager tensor used while the program was built
                return captured[name]._data
            v = vars_.get(name)
            if v is not None and v.need_check_feed:
                raise ValueError(f"Executor.run: the program needs a value for data variable {name!r}: "
                                 f"pass feed={{{name!r}: array}}.")
            raise ExecutionError(f"variable {name!r} has no value: feed it, run the startup program, or load "
                                 "the parameters first.")

        for i, o, od, attrs in plan.steps:
            if od is None:
                if o.type == "feed":
                    out = o.output("Out")[0]
                    if out not in env:
                        raise ValueError(f"Executor.run: the program needs feed {out!r} "
                                         f"(column {o.attrs.get('col', 0)}); feed it by name.")
                else:
                    src = o.input("X")[0]
                    fetched[src] = read(src)
                    fetched["__fetch_cols__"][o.attrs.get("col", 0)] = fetched[src]
                continue
            ins = {}
            for s in od.inputs:
                names = o.inputs.get(s.name, [])
                if s.duplicable:
                    ins[s.name] = [read(n) for n in names]
                else:
                    ins[s.name] = read(names[0]) if names else None
            try:
                with np.errstate(all="ignore"):
                    outs = od.forward(ins, attrs)
            except Exception as e:
                shapes = {k: ([list(a.shape) for a in v] if isinstance(v, list) else
                              (list(v.shape) if v is not None else None)) for k, v in ins.items()}
                raise ExecutionError(f"op {i} ({o.type}) of block {block.idx} failed with inputs {shapes}: {e}") from e
            for slot, val in outs.items():
                names = o.outputs.get(slot)
                if not names or val is None:
                    continue
                vals = val if isinstance(val, list) else [val]
                for n, a in zip(names, vals):
                    var = vars_.get(n)
                    if var is not None and var.persistable and var.type not in _SKIP_TYPES:
                        scope.set(n, a)
                        env.pop(n, None)
                    else:
                        env[n] = a
        return fetched


def _as_list(x):
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _check_feed(var, arr):
    if var.shape is not None and (var.need_check_feed or var.is_parameter is None):
        shape = var.shape
        ok = len(shape) == arr.ndim and all(d < 0 or d == a for d, a in zip(shape, arr.shape))
        if not ok and var.need_check_feed:
            raise ValueError(f"Executor.run: the fed value of variable {var.name!r} has shape {list(arr.shape)}, "
                             f"but the variable expects {shape} (-1 = any size).")
    if var.dtype is not None and var.need_check_feed and arr.dtype != var.dtype.np:
        same_kind = arr.dtype.kind == var.dtype.np.kind
        if not same_kind:
            raise ValueError(f"Executor.run: the fed value of variable {var.name!r} has dtype {arr.dtype}, but the "
                             f"variable expects {var.dtype.name}.")
