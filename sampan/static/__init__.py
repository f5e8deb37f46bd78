"""``paddle.static``: Program IR, building, the Executor, static autodiff and program files."""
from .program import (  # noqa: F401
    Program, Block, Variable, Operator, VarType, program_guard, default_main_program, default_startup_program,
)
from .executor import Executor, Scope, global_scope, scope_guard, CPUPlace, CUDAPlace  # noqa: F401
from .input import data, InputSpec  # noqa: F401
from .backward import append_backward, gradients  # noqa: F401
from .io import (  # noqa: F401
    save, load, load_program_state, set_program_state, serialize_program, deserialize_program,
    serialize_persistables, deserialize_persistables, save_to_file, load_from_file, normalize_program,
    save_inference_model, load_inference_model,
)
from . import nn  # noqa: F401
from ..core.unique_name import guard as name_scope_guard  # noqa: F401
import contextlib as _contextlib


@_contextlib.contextmanager
def name_scope(prefix=None):
    """Accepted for API compatibility; op namescopes are not recorded."""
    yield


def create_global_var(shape, value, dtype, persistable=False, force_cpu=False, name=None):
    """A variable of the main program initialised to ``value`` by the startup program."""
    from ..core import unique_name
    from ..core.dtype import convert_dtype
    from ..core.dispatch import run_op
    name = name or unique_name.generate("global_var")
    dt = convert_dtype(dtype)
    v = default_main_program().global_block().create_var(name=name, shape=list(shape), dtype=dt,
                                                         persistable=persistable, stop_gradient=True)
    sb = default_startup_program().global_block()
    sv = sb.create_var(name=name, shape=list(shape), dtype=dt, persistable=persistable)
    from .program import switch_main_program
    old = switch_main_program(default_startup_program())
    try:
        run_op("fill_constant", {}, {"shape": list(shape), "value": float(value), "dtype": dt.proto},
               bind={"Out": sv})
    finally:
        switch_main_program(old)
    return v


def cpu_places(device_count=None):
    return [CPUPlace() for _ in range(device_count or 1)]


class CompiledProgram:
    def __init__(self, program, build_strategy=None):
        self._program = program


class BuildStrategy:
    pass
