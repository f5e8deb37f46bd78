"""Program state and files: ``Program.state_dict``/``set_state_dict``, ``static.save/load``,
``serialize_*``, and the inference-model API (``save_inference_model`` / ``load_inference_model``).

All bytes go through ``sampan.formats``; this module decides what to write, not how.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from ..core.tensor import Tensor
from .program import Program, Variable, VarType, default_main_program
from .executor import global_scope

__all__ = ["save", "load", "load_program_state", "set_program_state", "serialize_program",
           "deserialize_program", "serialize_persistables", "deserialize_persistables", "save_to_file",
           "load_from_file", "normalize_program", "save_inference_model", "load_inference_model",
           "program_state_dict", "program_set_state_dict"]

_NOT_STATE = {VarType.FEED_MINIBATCH, VarType.FETCH_LIST, VarType.RAW, VarType.READER}


def _state_vars(program, mode="all"):
    if mode not in ("all", "param", "opt"):
        raise ValueError(f"Program.state_dict: mode must be 'all', 'param' or 'opt'. Received: {mode!r}.")
    out = []
    for v in program.list_vars():
        if not v.persistable or v.type in _NOT_STATE:
            continue
        if mode == "param" and not v.is_parameter:
            continue
        if mode == "opt" and v.is_parameter:
            continue
        out.append(v)
    return out


def program_state_dict(program, mode="all", scope=None):
    scope = scope or global_scope()
    res = {}
    missing = []
    for v in _state_vars(program, mode):
        if not scope.has(v.name):
            missing.append(v.name)
            continue
        res[v.name] = Tensor(scope.get(v.name), name=v.name, persistable=True)
    if missing:
        raise ValueError(f"Program.state_dict: variables {missing} have no value in the scope; run the startup "
                         "program (exe.run(startup_program)) or load them first.")
    return res


def _as_array(v):
    if isinstance(v, Tensor):
        return v._data
    if hasattr(v, "numpy") and not isinstance(v, np.ndarray):
        return np.asarray(v.numpy())
    return np.asarray(v)


def program_set_state_dict(program, state_dict, scope=None):
    """Set every persistable var found in ``state_dict``; warn once about what was skipped."""
    if not isinstance(state_dict, dict):
        raise TypeError(f"Program.set_state_dict: state_dict must be a dict. Received: {type(state_dict).__name__}.")
    scope = scope or global_scope()
    skipped = []
    for v in _state_vars(program):
        if v.name not in state_dict:
            skipped.append(f"{v.name}: not in the provided dict")
            continue
        arr = _as_array(state_dict[v.name])
        if v.shape is not None and list(arr.shape) != list(v.shape) and -1 not in v.shape:
            skipped.append(f"{v.name}: shape {list(arr.shape)} in the dict, {v.shape} in the program")
            continue
        if v.dtype is not None and arr.dtype != v.dtype.np:
            skipped.append(f"{v.name}: dtype {arr.dtype} in the dict, {v.dtype.name} in the program")
            continue
        scope.set(v.name, np.array(arr, copy=True))
    if skipped:
        warnings.warn("Program.set_state_dict skipped " + "; ".join(skipped), UserWarning, stacklevel=2)


# ---------------------------------------------------------------------- files of a whole program
def _write(path, data: bytes):
    from ..formats.atomic import atomic_write_bytes
    atomic_write_bytes(path, data)


def save(program, model_path, protocol=4, **configs):
    """``static.save``: ``model_path.pdparams`` (parameters), ``.pdopt`` (other persistables), ``.pdmodel``."""
    from ..framework.io import save as fsave
    from ..formats.pdmodel import encode_program
    base = os.path.basename(model_path)
    if not base:
        raise ValueError(f"static.save: model_path must end with a file prefix. Received: {model_path!r}.")
    scope = global_scope()
    params = {v.name: scope.get(v.name) for v in _state_vars(program, "param")}
    opts = {v.name: scope.get(v.name) for v in _state_vars(program, "opt") if scope.has(v.name)}
    fsave(params, model_path + ".pdparams", protocol=protocol)
    fsave(opts, model_path + ".pdopt", protocol=protocol)
    _write(model_path + ".pdmodel", encode_program(program))


def load_program_state(model_path, var_list=None):
    """Read ``model_path.pdparams`` (+ ``.pdopt``) into ``{var name: ndarray}``."""
    from ..framework.io import load as fload
    out = {}
    found = False
    for ext in (".pdparams", ".pdopt"):
        p = model_path + ext
        if os.path.isfile(p):
            found = True
            for k, v in fload(p, return_numpy=True).items():
                out[k] = np.asarray(v)
    if not found:
        if os.path.isdir(model_path):
            from ..formats.tensor_stream import read_tensor_file
            for name in sorted(os.listdir(model_path)):
                p = os.path.join(model_path, name)
                if os.path.isfile(p) and not name.startswith("__"):
                    out[name] = read_tensor_file(p)
            return out
        raise FileNotFoundError(f"load_program_state: neither {model_path}.pdparams nor {model_path}.pdopt exists.")
    if var_list is not None:
        names = {v.name if isinstance(v, Variable) else v for v in var_list}
        out = {k: v for k, v in out.items() if k in names}
    return out


def set_program_state(program, state_dict):
    program_set_state_dict(program, state_dict)


def load(program, model_path, executor=None, var_list=None):
    """``static.load``: restore the program's persistable vars from ``model_path.pdparams/.pdopt``."""
    state = load_program_state(model_path, var_list)
    program_set_state_dict(program, state)


# ---------------------------------------------------------------------- inference programs
def _prune(program, fetch_names, feed_names):
    """Keep only ops needed to compute ``fetch_names`` from ``feed_names`` (and persistables)."""
    block = program.global_block()
    needed = set(fetch_names)
    keep = []
    for o in reversed(block.ops):
        if o.type in ("feed", "fetch"):
            continue
        if set(o.output_arg_names) & needed:
            keep.append(o)
            for n in o.input_arg_names:
                if n not in feed_names:
                    needed.add(n)
    keep.reverse()
    block.ops = keep
    used = set(feed_names) | set(fetch_names)
    for o in keep:
        used.update(o.input_arg_names)
        used.update(o.output_arg_names)
    for n in list(block.vars):
        if n not in used:
            del block.vars[n]
    return program


def normalize_program(program, feed_vars, fetch_vars, **kwargs):
    """Prune ``program`` to the fetch vars, set is_test, add feed/fetch ops as Paddle does."""
    if not isinstance(program, Program):
        raise TypeError(f"normalize_program: program must be a Program. Received: {type(program).__name__}.")
    feed_vars = feed_vars if isinstance(feed_vars, (list, tuple)) else [feed_vars]
    fetch_vars = fetch_vars if isinstance(fetch_vars, (list, tuple)) else [fetch_vars]
    for i, v in enumerate(feed_vars):
        if not isinstance(v, Variable):
            raise TypeError(f"save_inference_model: feed_vars[{i}] must be a static Variable. Received: {v!r}.")
    for i, v in enumerate(fetch_vars):
        if not isinstance(v, Variable):
            raise TypeError(f"save_inference_model: fetch_vars[{i}] must be a static Variable. Received: {v!r}.")
    feed_names = [v.name for v in feed_vars]
    fetch_names = [v.name for v in fetch_vars]
    p = program.clone(for_test=True)
    _prune(p, fetch_names, feed_names)
    block = p.global_block()
    for n in feed_names + fetch_names:
        if n not in block.vars:
            raise ValueError(f"save_inference_model: variable {n!r} is not in the program.")
    for v in block.vars.values():   # inference programs carry neither flag (FORMATS 2.4)
        v.is_parameter = None
        v._stop_gradient = None
    add_feed_fetch_ops(p, feed_names, fetch_names)
    return p


def add_feed_fetch_ops(program, feed_names, fetch_names):
    block = program.global_block()
    block.create_var(name="feed", type=VarType.FEED_MINIBATCH, persistable=True)
    block.create_var(name="fetch", type=VarType.FETCH_LIST, persistable=True)
    for i, n in enumerate(feed_names):   # prepended one at a time: col 1 ends up before col 0
        block._prepend_op("feed", {"X": ["feed"]}, {"Out": [n]}, {"col": i}, {"col": 0})
    for i, n in enumerate(fetch_names):
        block.append_op("fetch", {"X": [n]}, {"Out": ["fetch"]}, {"col": i}, {"col": 0})


def _owner_program(program, fetch_vars):
    """The program to save: the one given, else the one the fetch variables belong to."""
    if program is not None:
        return program
    fv = fetch_vars[0] if isinstance(fetch_vars, (list, tuple)) and fetch_vars else fetch_vars
    owner = getattr(getattr(fv, "block", None), "program", None)
    return owner if owner is not None else default_main_program()


def _persistable_arrays(program, scope):
    names = sorted(v.name for v in _state_vars(program))
    missing = [n for n in names if not scope.has(n)]
    if missing:
        raise ValueError(f"save_inference_model: persistable variables {missing} have no value in the scope; "
                         "run the startup program first.")
    return [(n, scope.get(n)) for n in names]


def serialize_program(feed_vars, fetch_vars, program=None, **kwargs):
    from ..formats.pdmodel import encode_program
    program = _owner_program(program, fetch_vars)
    return encode_program(normalize_program(program, feed_vars, fetch_vars), canonical=True)


def deserialize_program(data):
    from ..formats.model_files import decode_any_program
    return decode_any_program(data)


def serialize_persistables(feed_vars, fetch_vars, executor, program=None, **kwargs):
    import io as _io
    from ..formats.tensor_stream import write_pdiparams
    program = _owner_program(program, fetch_vars)
    p = normalize_program(program, feed_vars, fetch_vars)
    buf = _io.BytesIO()
    write_pdiparams(buf, _persistable_arrays(p, global_scope()))
    return buf.getvalue()


def deserialize_persistables(program, data, executor=None):
    from ..formats.tensor_stream import read_pdiparams
    names = sorted(v.name for v in _state_vars(program))
    for n, a in read_pdiparams(data, names).items():
        global_scope().set(n, a)


def save_to_file(path, content):
    if not isinstance(content, (bytes, bytearray)):
        raise TypeError(f"save_to_file: content must be bytes. Received: {type(content).__name__}.")
    _write(path, bytes(content))


def load_from_file(path):
    with open(path, "rb") as f:
        return f.read()


def save_inference_model(path_prefix, feed_vars, fetch_vars, executor, program=None, clip_extra=True, **kwargs):
    """Write ``path_prefix.pdmodel`` + ``path_prefix.pdiparams`` (nothing else), as Paddle 2.x does."""
    from ..formats.pdmodel import encode_program, add_common_attrs
    from ..formats.tensor_stream import write_pdiparams
    from ..formats.atomic import atomic_open
    if not isinstance(path_prefix, str) or not os.path.basename(path_prefix):
        raise ValueError(f"save_inference_model: path_prefix must be 'dir/name'. Received: {path_prefix!r}.")
    program = _owner_program(program, fetch_vars)
    p = normalize_program(program, feed_vars, fetch_vars)
    scope = getattr(executor, "_scope", None) or global_scope()
    arrays = _persistable_arrays(p, scope)
    d = os.path.dirname(path_prefix)
    if d:
        os.makedirs(d, exist_ok=True)
    data = encode_program(add_common_attrs(p), canonical=True)
    if kwargs.get("separate_parameters"):
        _write_separate(d or ".", data, arrays)
        return
    _write(path_prefix + ".pdmodel", data)
    with atomic_open(path_prefix + ".pdiparams") as f:
        write_pdiparams(f, arrays)


def _write_separate(directory, program_bytes, arrays):
    """The legacy layout Paddle 3.3.1 writes with ``separate_parameters=True``: ``__model__`` and one
    tensor-stream file per persistable variable, named after it, in the prefix's directory."""
    from ..formats.atomic import atomic_open
    from ..formats.tensor_stream import write_dense_tensor
    for name, arr in arrays:
        if os.sep in name or name in ("", ".", "..") or name.startswith("__model__"):
            raise ValueError(f"save_inference_model(separate_parameters=True): variable name {name!r} cannot "
                             "be a file name.")
        with atomic_open(os.path.join(directory, name)) as f:
            write_dense_tensor(f, arr)
    _write(os.path.join(directory, "__model__"), program_bytes)


def load_inference_model(path_prefix, executor=None, **kwargs):
    """Load a model saved by ``save_inference_model`` / ``jit.save`` (any Paddle version, .pdmodel or .json).

    Returns ``[program, feed_target_names, fetch_targets]``; parameters go to the global scope.
    """
    from ..formats.model_files import read_inference_model
    program, params = read_inference_model(path_prefix, kwargs.get("model_filename"),
                                           kwargs.get("params_filename"), who="load_inference_model")
    scope = global_scope()
    for n, a in params.items():
        scope.set(n, a)
    feed_names, fetch_vars = feed_fetch_targets(program)
    return [program, feed_names, fetch_vars]


def feed_fetch_targets(program):
    block = program.global_block()
    feeds = sorted((o.attrs.get("col", 0), o.output("Out")[0]) for o in block.ops if o.type == "feed")
    fetches = sorted((o.attrs.get("col", 0), o.input("X")[0]) for o in block.ops if o.type == "fetch")
    return [n for _, n in feeds], [block.var(n) for _, n in fetches]
