"""The Program IR: Paddle's ProgramDesc model as plain Python data.

Program -> Block(s) -> Variables (VarDesc) + Operators (OpDesc). Op types, slot names and
attribute names are Paddle's own, so the ``.pdmodel`` codec (``sampan.formats.pdmodel``) is a
thin mapping and real Paddle programs run in the Executor. This module imports neither the
executor nor a codec.

Fields that a ProgramDesc may or may not carry (``need_check_feed``, ``lod_level``, ...)
are ``None`` when absent, so decoding then re-encoding a file reproduces it byte for byte.
"""
from __future__ import annotations

import contextlib

import numpy as np

from ..core import unique_name
from ..core.dtype import DType, convert_dtype
from ..core.tensor import _MathMixin

__all__ = ["Program", "Block", "Variable", "Operator", "VarType", "program_guard",
           "default_main_program", "default_startup_program", "ProgramVerifyError"]


class VarType:
    """ProgramDesc ``VarType.Type`` kinds (FORMATS.md section 2.3)."""
    DENSE_TENSOR = 7
    LOD_TENSOR = 7
    SELECTED_ROWS = 8
    FEED_MINIBATCH = 9
    FETCH_LIST = 10
    STEP_SCOPES = 11
    LOD_RANK_TABLE = 12
    DENSE_TENSOR_ARRAY = 13
    LOD_TENSOR_ARRAY = 13
    PLACE_LIST = 14
    READER = 15
    RAW = 17
    TUPLE = 18


class ControlFlowError(TypeError):
    """Python control flow on a symbolic value (``if x > 0:`` while tracing a static program)."""


class ProgramVerifyError(ValueError):
    """``Program.verify()`` found problems; ``.problems`` lists them."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__("program verification failed:\n  " + "\n  ".join(problems))


class Variable(_MathMixin):
    """A variable of a Block (VarDesc); in static code also the symbolic value users compute with."""

    def __init__(self, block, name, shape=None, dtype=None, type=VarType.DENSE_TENSOR, persistable=False,
                 stop_gradient=None, is_parameter=None, need_check_feed=None, lod_level=None, attrs=None,
                 trainable=True):
        self.block = block
        self.name = name
        self.shape = [int(d) for d in shape] if shape is not None else None
        self._dtype = convert_dtype(dtype) if dtype is not None else None
        self.type = type
        self.persistable = bool(persistable)
        self._stop_gradient = stop_gradient
        self.is_parameter = is_parameter
        self.need_check_feed = need_check_feed
        self.lod_level = lod_level
        self.attrs = attrs or []
        self.trainable = trainable
        self.extra = {}    # codec-private extras (e.g. tensor-array descs) kept for round trips

    # value semantics used by user code
    @property
    def dtype(self) -> DType | None:
        return self._dtype

    @dtype.setter
    def dtype(self, d):
        self._dtype = convert_dtype(d) if d is not None else None

    @property
    def stop_gradient(self) -> bool:
        return bool(self._stop_gradient) if self._stop_gradient is not None else False

    @stop_gradient.setter
    def stop_gradient(self, v):
        self._stop_gradient = bool(v)

    @property
    def ndim(self):
        return len(self.shape or [])

    def dim(self):
        return self.ndim

    @property
    def size(self):
        return int(np.prod(self.shape)) if self.shape and all(d >= 0 for d in self.shape) else -1

    def numel(self):
        return self.size

    @property
    def program(self):
        return self.block.program

    @property
    def is_data(self):
        return bool(self.need_check_feed)

    def __repr__(self):
        kind = "Parameter" if self.is_parameter else "var"
        return f"{kind} {self.name} : shape={self.shape}, dtype={self.dtype}, persistable={self.persistable}"

    def __bool__(self):
        raise ControlFlowError(
            f"the truth value of static Variable '{self.name}' is not known while the program is being "
            "built: Python control flow (if/while) on a Tensor's value is not supported in static "
            "graphs yet. Compute the condition from Python values, or run in dygraph mode.")

    def __len__(self):
        if not self.shape or self.shape[0] < 0:
            raise TypeError(f"len() of static Variable '{self.name}' with unknown first dimension {self.shape}")
        return self.shape[0]

    def numpy(self):
        raise TypeError(f"static Variable '{self.name}' has no value while the program is being built; "
                        "fetch it with Executor.run(fetch_list=[...]).")

    def astype(self, dtype):
        from ..tensor_api import math as m
        return m.cast(self, dtype)

    # executor-facing helpers (Paddle's var.get_value / set_value through the global scope)
    def get_value(self, scope=None):
        from .executor import global_scope
        return (scope or global_scope()).get(self.name)

    def set_value(self, value, scope=None):
        from .executor import global_scope
        (scope or global_scope()).set(self.name, np.asarray(value))


class Operator:
    """An op of a Block (OpDesc): type, named input/output slots, typed attributes."""

    def __init__(self, block, type, inputs=None, outputs=None, attrs=None, attr_types=None, is_target=None):
        self.block = block
        self.type = type
        self.inputs = {k: list(v) for k, v in (inputs or {}).items()}    # slot -> [var names]
        self.outputs = {k: list(v) for k, v in (outputs or {}).items()}
        self.attrs = dict(attrs or {})                                    # name -> python value
        self.attr_types = dict(attr_types or {})                          # name -> AttrType code
        self.is_target = is_target

    def input(self, slot):
        return self.inputs.get(slot, [])

    def output(self, slot):
        return self.outputs.get(slot, [])

    @property
    def input_arg_names(self):
        return [n for v in self.inputs.values() for n in v]

    @property
    def output_arg_names(self):
        return [n for v in self.outputs.values() for n in v]

    @property
    def input_names(self):
        return list(self.inputs)

    @property
    def output_names(self):
        return list(self.outputs)

    def attr(self, name):
        return self.attrs.get(name)

    def has_attr(self, name):
        return name in self.attrs

    def _set_attr(self, name, value, type_code=None):
        self.attrs[name] = value
        if type_code is not None:
            self.attr_types[name] = type_code

    def __repr__(self):
        ins = ", ".join(f"{k}={v}" for k, v in self.inputs.items())
        outs = ", ".join(f"{k}={v}" for k, v in self.outputs.items())
        shown = {k: v for k, v in self.attrs.items() if not k.startswith("op_") and k != "with_quant_attr"}
        return f"{{{outs}}} = {self.type}(inputs={{{ins}}}, {shown})"


class Block:
    def __init__(self, program, idx, parent_idx=-1):
        self.program = program
        self.idx = idx
        self.parent_idx = parent_idx
        self.forward_block_idx = None
        self.vars: dict[str, Variable] = {}
        self.ops: list[Operator] = []

    def var(self, name) -> Variable:
        v = self._find_var_recursive(name)
        if v is None:
            raise ValueError(f"block {self.idx}: no variable named {name!r}")
        return v

    def has_var(self, name):
        return name in self.vars

    def _find_var_recursive(self, name):
        b = self
        while b is not None:
            if name in b.vars:
                return b.vars[name]
            b = self.program.blocks[b.parent_idx] if b.parent_idx >= 0 else None
        return None

    def create_var(self, name=None, shape=None, dtype=None, **kw) -> Variable:
        if name is None:
            name = unique_name.generate_with_ignorable_key("_generated_var")
        v = Variable(self, name, shape, dtype, **kw)
        self.vars[name] = v
        return v

    def create_parameter(self, name, shape, dtype, trainable=True, **kw):
        v = self.create_var(name=name, shape=shape, dtype=dtype, persistable=True, is_parameter=True,
                            stop_gradient=not trainable, trainable=trainable, **kw)
        return v

    def append_op(self, type, inputs=None, outputs=None, attrs=None, attr_types=None) -> Operator:
        op = Operator(self, type, _names(inputs), _names(outputs), attrs, attr_types)
        self.ops.append(op)
        return op

    def _prepend_op(self, type, inputs=None, outputs=None, attrs=None, attr_types=None) -> Operator:
        op = Operator(self, type, _names(inputs), _names(outputs), attrs, attr_types)
        self.ops.insert(0, op)
        return op

    def _remove_op(self, index):
        del self.ops[index]

    def _remove_var(self, name):
        self.vars.pop(name, None)

    def all_parameters(self):
        return [v for v in self.vars.values() if v.is_parameter]

    @property
    def parent(self):
        return self.program.blocks[self.parent_idx] if self.parent_idx >= 0 else None

    def __repr__(self):
        lines = [f"block {self.idx} (parent {self.parent_idx}) {{"]
        lines += ["    " + repr(v) for v in self.vars.values()]
        lines += ["    " + repr(o) for o in self.ops]
        return "\n".join(lines + ["}"])


def _names(slots):
    out = {}
    for k, v in (slots or {}).items():
        if v is None:
            out[k] = []
        elif isinstance(v, (list, tuple)):
            out[k] = [x if isinstance(x, str) else x.name for x in v]
        else:
            out[k] = [v if isinstance(v, str) else v.name]
    return out


class Program:
    """A static program (Paddle's ``Program``): blocks of variables and ops.

    Example:
        >>> import sampan as paddle
        >>> paddle.enable_static()
        >>> main = paddle.static.Program()
        >>> with paddle.static.program_guard(main):
        ...     x = paddle.static.data('x', [None, 4], 'float32')
        ...     y = paddle.static.nn.fc(x, 2)
        >>> [op.type for op in main.global_block().ops]
        ['mul', 'elementwise_add']
    """

    def __init__(self):
        self.blocks = [Block(self, 0)]
        self.version = None           # ProgramDesc.version (None: not written)
        self.op_version_map = None    # list of (op_name, version) or None
        self.random_seed = 0
        self._current_block_idx = 0
        self._captured = {}           # var name -> eager Tensor (parameters seen while tracing)
        self._is_test = False
        self._seed_counter = 0

    # ------------------------------------------------------------------ structure
    def global_block(self) -> Block:
        return self.blocks[0]

    def block(self, i) -> Block:
        return self.blocks[i]

    def current_block(self) -> Block:
        return self.blocks[self._current_block_idx]

    @property
    def num_blocks(self):
        return len(self.blocks)

    def _create_block(self, parent_idx=None):
        parent = self._current_block_idx if parent_idx is None else parent_idx
        b = Block(self, len(self.blocks), parent)
        self.blocks.append(b)
        self._current_block_idx = b.idx
        return b

    def _rollback(self):
        self._current_block_idx = self.current_block().parent_idx

    def list_vars(self):
        for b in self.blocks:
            yield from b.vars.values()

    def all_parameters(self):
        return [p for b in self.blocks for p in b.all_parameters()]

    def persistable_vars(self):
        skip = {VarType.FEED_MINIBATCH, VarType.FETCH_LIST, VarType.RAW, VarType.READER}
        return [v for v in self.list_vars() if v.persistable and v.type not in skip]

    # ------------------------------------------------------------------ copies
    def clone(self, for_test=False) -> "Program":
        """A deep copy; ``for_test=True`` sets ``is_test`` on ops that have it (dropout, batch_norm)."""
        p = Program()
        p.blocks = []
        for b in self.blocks:
            nb = Block(p, b.idx, b.parent_idx)
            nb.forward_block_idx = b.forward_block_idx
            for name, v in b.vars.items():
                nv = Variable(nb, v.name, v.shape, v.dtype, v.type, v.persistable, v._stop_gradient,
                              v.is_parameter, v.need_check_feed, v.lod_level, list(v.attrs), v.trainable)
                nv.extra = dict(v.extra)
                nb.vars[name] = nv
            for o in b.ops:
                no = Operator(nb, o.type, o.inputs, o.outputs, _copy_attrs(o.attrs), o.attr_types, o.is_target)
                nb.ops.append(no)
            p.blocks.append(nb)
        p.version, p.op_version_map = self.version, self.op_version_map
        p.random_seed = self.random_seed
        p._captured = dict(self._captured)
        if for_test:
            p._is_test = True
            for b in p.blocks:
                for o in b.ops:
                    if "is_test" in o.attrs or o.type in ("dropout", "batch_norm"):
                        o.attrs["is_test"] = True
                        o.attr_types.setdefault("is_test", 6)
        return p

    # ------------------------------------------------------------------ state (Paddle's API)
    def state_dict(self, mode="all", scope=None):
        """``{var name: value}`` of the persistable vars: mode 'param', 'opt' or 'all'."""
        from .io import program_state_dict
        return program_state_dict(self, mode, scope)

    def set_state_dict(self, state_dict, scope=None):
        """Copy values from ``state_dict`` (var name -> array/Tensor) into the scope."""
        from .io import program_set_state_dict
        return program_set_state_dict(self, state_dict, scope)

    def verify(self):
        """Run every op's ``infer_meta``; raise ProgramVerifyError listing problems by op index."""
        from .verify import verify_program
        return verify_program(self)

    def desc_bytes(self):
        from ..formats.pdmodel import encode_program
        return encode_program(self)

    def __repr__(self):
        return "\n".join(repr(b) for b in self.blocks)

    def to_string(self, throw_on_error=False, with_details=False):
        return repr(self)

    # iterating a Program gives nothing special; keep attribute access simple
    def _sync_with_cpp(self):
        return None


def _copy_attrs(attrs):
    return {k: (list(v) if isinstance(v, list) else v) for k, v in attrs.items()}


# ---------------------------------------------------------------------- default programs
class _Defaults:
    main = Program()
    startup = Program()


def default_main_program() -> Program:
    return _Defaults.main


def default_startup_program() -> Program:
    return _Defaults.startup


def switch_main_program(p):
    old, _Defaults.main = _Defaults.main, p
    return old


def switch_startup_program(p):
    old, _Defaults.startup = _Defaults.startup, p
    return old


@contextlib.contextmanager
def program_guard(main_program, startup_program=None):
    """Build ops into ``main_program`` (and initializers into ``startup_program``) inside the block."""
    if not isinstance(main_program, Program):
        raise TypeError(f"program_guard: main_program must be a Program. Received: {type(main_program).__name__}.")
    from ..core import dispatch
    old_main = switch_main_program(main_program)
    old_start = switch_startup_program(startup_program) if startup_program is not None else None
    dispatch.push_static()
    try:
        yield
    finally:
        dispatch.pop_static()
        switch_main_program(old_main)
        if startup_program is not None:
            switch_startup_program(old_start)
