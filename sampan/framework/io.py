"""``paddle.save`` / ``paddle.load`` (FORMATS.md sections 1.1 and 1.6).

``save`` decides *what* to write the way Paddle does and hands the bytes to ``sampan.formats``:

1. ``use_binary_format=True``: one DenseTensor stream (``formats.tensor_stream``);
2. a ``Program``: its ProgramDesc bytes (``formats.pdmodel.encode_program``);
3. a state dict (a dict whose values are Tensors, or dicts without Tensors inside, e.g.
   ``LR_Scheduler``): in dynamic mode ``{key: ndarray, ..., 'StructuredToParameterName@@': {key:
   tensor.name}}``, in static mode a plain ``{name: ndarray}``;
4. anything else: a pickle where a Tensor becomes ``(name, ndarray)``.

Every file is written atomically (``formats.atomic``) with array data streamed into it, and is byte
for byte what Paddle writes for the same content.

``load`` detects the file kind once from its first bytes (``tensor_stream.sniff``): pickles are read
with the allow-listed unpickler (``formats.safe_unpickle``), tensor streams with
``formats.tensor_stream``, programs with the program codecs; a path that is not a file but a
``jit.save``/``save_inference_model`` prefix goes to ``sampan.jit.io.load_prefix_state_dict``.
"""
from __future__ import annotations

import collections
import difflib
import io
import os
import pickle
import warnings

import numpy as np

from ..core.dispatch import in_dynamic_mode
from ..core.tensor import Tensor
from ..formats import atomic, pickle_writer as pw, safe_unpickle, tensor_stream
from ..formats.errors import CorruptFileError, FormatMismatchError, describe_file

__all__ = ["save", "load"]

_SAVE_CONFIGS = {"use_binary_format", "pickle_protocol", "numpy_module"}
_LOAD_CONFIGS = {"model_filename", "params_filename", "keep_name_table", "return_numpy", "mmap", "allow_unsafe",
                 "structured_name"}


# ---------------------------------------------------------------------- what objects are
def _is_layer(obj) -> bool:
    return not isinstance(obj, Tensor) and hasattr(obj, "state_dict") and hasattr(obj, "sublayers")


def _is_program(obj) -> bool:
    from ..static.program import Program
    return isinstance(obj, Program)


def _is_paddle_object(obj) -> bool:
    """Tensor, Layer, Program or static Variable anywhere inside ``obj`` (Paddle's ``_contain_x``)."""
    from ..static.program import Variable
    if isinstance(obj, (Tensor, Variable)) or _is_layer(obj) or _is_program(obj):
        return True
    if isinstance(obj, dict):
        return any(_is_paddle_object(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_is_paddle_object(v) for v in obj)
    return False


def _is_state_dict(obj) -> bool:
    """Paddle's test: a dict whose values are Tensors or dicts holding no Tensor/Layer/Program."""
    if not isinstance(obj, dict):
        return False
    for value in obj.values():
        if isinstance(value, dict):
            if any(_is_paddle_object(v) for v in value.values()):
                return False
        elif not isinstance(value, Tensor):
            return False
    return True


# ---------------------------------------------------------------------- save
def save(obj, path, protocol=4, **configs):
    """Save a state dict, Tensor, nested container of them, or a static Program to ``path``.

    Args:
        obj: ``layer.state_dict()``, ``optimizer.state_dict()``, a Tensor, a list/tuple/dict mixing
            Tensors, ndarrays and Python values, or (static mode) a Program.
        path: file path (parent directories are created) or a binary file object (``io.BytesIO``).
        protocol: pickle protocol 2, 3 or 4 (default). 2 and 3 split arrays over 1 GiB into chunks.
        **configs: ``use_binary_format=True`` writes a single Tensor as a raw DenseTensor stream;
            ``numpy_module='numpy.core'`` writes NumPy 1's module spelling (Paddle 2.6's files).

    The write is atomic: a crash leaves either the previous file or the new one, never a mix.

    Example:
        >>> import sampan as paddle
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "x.pdtensor")
        >>> paddle.save(paddle.to_tensor([1.0, 2.0]), path)
        >>> paddle.load(path).numpy()
        array([1., 2.], dtype=float32)
    """
    protocol = _check_save_args(obj, path, protocol, configs)
    if configs.get("use_binary_format"):
        return _save_binary(obj, path)
    if _is_program(obj):
        from ..formats.pdmodel import encode_program
        return atomic.atomic_write_bytes(path, encode_program(obj))
    hook = None
    if _is_state_dict(obj):
        payload = _legacy_payload(obj, protocol) if in_dynamic_mode() else _static_payload(obj, protocol)
    else:
        payload, hook = obj, _generic_reducer(static=not in_dynamic_mode())
    with atomic.atomic_open(path, buffering=0) as f:     # unbuffered: the pickler batches its writes
        pickler = pw.dump(payload, f, protocol, numpy_module=configs.get("numpy_module", pw.NUMPY2_MODULE),
                          reduce_hook=hook)
    if pickler.foreign_globals:
        names = sorted(set(pickler.foreign_globals))
        warnings.warn(f"sampan.save: {describe_file(path)} names {names[:5]} in its pickle; sampan.load (and any "
                      "safe loader) refuses such files unless called with allow_unsafe=True. Save tensors, arrays, "
                      "containers and plain Python values to keep the file loadable everywhere.", UserWarning,
                      stacklevel=2)


def _check_save_args(obj, path, protocol, configs) -> int:
    unknown = set(configs) - _SAVE_CONFIGS
    if unknown:
        raise ValueError(f"sampan.save: unsupported config(s) {sorted(unknown)}; supported: {sorted(_SAVE_CONFIGS)}.")
    if "pickle_protocol" in configs:
        warnings.warn("sampan.save: 'pickle_protocol' is deprecated, use 'protocol'.", DeprecationWarning,
                      stacklevel=3)
        protocol = configs.pop("pickle_protocol")
    if type(protocol) is not int or not 1 < protocol < 5:
        raise ValueError(f"sampan.save: expected 1 < protocol < 5 (2, 3 or 4). Received: protocol={protocol!r}.")
    if _is_layer(obj):
        raise ValueError(f"sampan.save: cannot save a Layer ({type(obj).__name__}) itself. Save its parameters "
                         "with paddle.save(layer.state_dict(), 'model.pdparams'), or the whole model for inference "
                         "with paddle.jit.save(layer, 'dir/model', input_spec=[...]).")
    if not atomic.is_file_like(path):
        p = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
        if not p or not os.path.basename(p):
            raise ValueError("sampan.save: the path must be 'dirname/filename' with a non-empty file name. "
                             f"Received: path={path!r}.")
    return protocol


def _save_binary(obj, path):
    if not isinstance(obj, Tensor) and not isinstance(obj, np.ndarray):
        raise ValueError("sampan.save(use_binary_format=True) saves a single Tensor. "
                         f"Received: {type(obj).__name__}.")
    with atomic.atomic_open(path) as f:
        tensor_stream.write_dense_tensor(f, obj)


def _legacy_payload(state: dict, protocol: int) -> dict:
    values, names = {}, {}
    for key, value in state.items():
        if isinstance(value, Tensor):
            values[key] = value._data
            names[key] = value.name
        else:
            values[key] = value
    return pw.legacy_state_dict(values, names, protocol)


def _static_payload(state: dict, protocol: int) -> dict:
    out = {k: (pw._fresh_array(v._data) if isinstance(v, Tensor) else v) for k, v in state.items()}
    return pw.split_big_arrays(out, protocol)


def _generic_reducer(static: bool):
    def reduce(obj):
        if isinstance(obj, Tensor):
            arr = pw._fresh_array(obj._data)
            return pw.dense_tensor_reduce(arr) if static else pw.tensor_reduce(obj.name, arr)
        if _is_layer(obj):
            raise ValueError(f"sampan.save: cannot save a Layer ({type(obj).__name__}) inside a container; save "
                             "layer.state_dict() instead.")
        return NotImplemented
    return reduce


# ---------------------------------------------------------------------- load
def load(path, **configs):
    """Load what ``paddle.save`` (sampan or Paddle 2.x/3.x) wrote, or the parameters of a model prefix.

    Args:
        path: a file path, a binary file object, or a ``jit.save``/``save_inference_model`` prefix.
        **configs:
            return_numpy (bool): give ndarrays instead of Tensors. Default False.
            keep_name_table (bool): keep ``StructuredToParameterName@@`` in a state dict. Default False.
            mmap (bool): arrays are views of a copy-on-write memory map of the file, paged in on
                access (fast for big files; writes to them never reach the file).
            allow_unsafe (bool): read pickles with Python's unrestricted unpickler. Only for trusted
                files: a pickle can run any code. Default False (allow-listed reader).
            model_filename, params_filename: for a model prefix, as in Paddle.

    Returns:
        A state dict ``{key: Tensor}`` (Tensor names restored from the name table), a Tensor, the
        saved container, or in static mode a Program for a program file.

    Raises:
        FileNotFoundError: nothing at ``path`` (the message lists near misses).
        sampan.UnsafeFileError: the pickle names a global Paddle never writes.
        CorruptFileError, FormatMismatchError (``ValueError``): empty, truncated, unknown or wrong kind.

    Example:
        >>> import sampan as paddle, io
        >>> buf = io.BytesIO()
        >>> paddle.save({"w": paddle.ones([2])}, buf)
        >>> _ = buf.seek(0)
        >>> paddle.load(buf)["w"].shape
        [2]
    """
    unknown = set(configs) - _LOAD_CONFIGS
    if unknown:
        raise ValueError(f"sampan.load: unsupported config(s) {sorted(unknown)}; supported: {sorted(_LOAD_CONFIGS)}.")
    if hasattr(path, "read") and not isinstance(path, (str, bytes)):
        return _load_stream(path, configs)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"sampan.load: path must be a str, os.PathLike or a binary file object. "
                        f"Received: {type(path).__name__}.")
    p = os.fspath(path)
    if os.path.isfile(p):
        return _load_file(p, configs)
    if _is_model_prefix(p):
        from ..jit.io import load_prefix_state_dict
        return load_prefix_state_dict(p, **configs)
    raise FileNotFoundError(_missing_message(p))


def _load_file(p, configs):
    kind = tensor_stream.sniff(p)
    if kind == "pickle":
        if configs.get("allow_unsafe"):
            with open(p, "rb") as f:
                obj = pickle.load(f, encoding="latin1")
        else:
            obj = safe_unpickle.load_file(p, mmap=bool(configs.get("mmap")))
        return _restore(obj, configs)
    if kind == "tensor_stream":
        arr, dt, _ = _read_stream_file(p, configs)
        return arr if configs.get("return_numpy") else Tensor(arr, dtype=dt)
    with open(p, "rb") as f:
        head = f.read(4096)
    return _other_kind(kind, p, head, lambda: _read_bytes(p))


def _read_bytes(p) -> bytes:
    with open(p, "rb") as f:
        return f.read()


def _read_stream_file(p, configs):
    try:
        return tensor_stream.read_tensor(p, mmap=bool(configs.get("mmap")))
    except FormatMismatchError as e:
        stem = os.path.splitext(p)[0]
        if _is_model_prefix(stem):
            raise FormatMismatchError(f"{e.reason} It belongs to the model {stem!r}: load its parameters with "
                                      f"paddle.load({stem!r}) or the model with paddle.jit.load({stem!r}).",
                                      e.path, e.offset) from None
        raise


def _load_stream(f, configs):
    name = describe_file(f)
    if isinstance(f, io.BytesIO):
        head = bytes(f.getbuffer()[f.tell():f.tell() + 4096])
    elif getattr(f, "seekable", lambda: False)():
        pos = f.tell()
        head = f.read(4096)
        f.seek(pos)
    else:
        data = f.read()
        return _load_stream(io.BytesIO(data), configs)
    kind = tensor_stream.sniff(head)
    if kind == "pickle":
        obj = pickle.load(f, encoding="latin1") if configs.get("allow_unsafe") else \
            safe_unpickle.load_stream(f, path=name)
        return _restore(obj, configs)
    if kind == "tensor_stream":
        arr, dt, _ = tensor_stream.read_dense_tensor(f, path=name)
        return arr if configs.get("return_numpy") else Tensor(arr, dtype=dt)
    return _other_kind(kind, name, head, f.read)


def _other_kind(kind, name, head, read_all):
    if kind in ("programdesc", "pir_json"):
        what = "a ProgramDesc protobuf (.pdmodel)" if kind == "programdesc" else "a Paddle 3 PIR program (json)"
        if not in_dynamic_mode():
            return _decode_program(kind, read_all())
        raise FormatMismatchError(
            f"this file is {what}, a model's program, not a state dict or tensor. Load the model with "
            "paddle.jit.load(prefix) or paddle.static.load_inference_model(prefix); paddle.load returns it as a "
            "Program only in static mode (paddle.enable_static()), as in Paddle.", name)
    if kind == "empty":
        raise CorruptFileError("empty file (0 bytes): nothing was saved to it (sampan.save writes atomically, so "
                               "an interrupted sampan.save never leaves an empty file under the final name)", name)
    raise CorruptFileError(f"not a Paddle file: its first bytes ({head[:8].hex(' ')}) are neither a pickle "
                           "(.pdparams/.pdopt/.pdtensor), a DenseTensor stream, a ProgramDesc nor a PIR json", name, 0)


def _decode_program(kind, data):
    if kind == "programdesc":
        from ..formats.pdmodel import decode_program
        return decode_program(data)
    from ..formats.pir_json import decode_pir_program
    return decode_pir_program(data)


# ---------------------------------------------------------------------- Paddle's load semantics
def _restore(obj, configs):
    return_numpy = bool(configs.get("return_numpy"))
    if isinstance(obj, dict):
        obj = _pack_big_params(obj)
        if pw.NAME_TABLE_KEY in obj:
            table = obj[pw.NAME_TABLE_KEY]
            for key in table:
                arr = obj.get(key)
                if isinstance(arr, np.ndarray):
                    obj[key] = _to_tensor(arr, table[key], return_numpy)
            if not configs.get("keep_name_table"):
                del obj[pw.NAME_TABLE_KEY]
            return obj
    if _contains(obj, _is_name_tuple):
        return _convert(obj, _is_name_tuple, lambda t: _to_tensor(t[1], t[0], return_numpy))
    return _convert(obj, lambda x: isinstance(x, np.ndarray), lambda a: _to_tensor(a, None, return_numpy))


def _to_tensor(arr, name, return_numpy):
    if return_numpy:
        return arr
    dt = arr.dtype
    if dt.char == "H" and dt == np.uint16:          # (the cheap test first: most arrays are not uint16)
        return Tensor(arr, dtype="bfloat16", name=name)
    if name is None:
        return Tensor(arr)
    t = Tensor._wrap(arr)                           # = Tensor(arr, name=name) for an ndarray, faster
    t._name = name
    return t


def _pack_big_params(d: dict) -> dict:
    info = d.get(pw.BIG_PARAM_KEY)
    if not isinstance(info, dict):
        return d
    for key, entry in info.items():
        parts = [d.pop(part) for part in entry["slices"]]
        d[key] = np.concatenate(parts).reshape(entry["OriginShape"])
    del d[pw.BIG_PARAM_KEY]
    return d


def _is_name_tuple(x) -> bool:
    return type(x) is tuple and len(x) == 2 and isinstance(x[0], str) and isinstance(x[1], np.ndarray)


def _contains(obj, cond) -> bool:
    if cond(obj):
        return True
    if type(obj) in (dict, collections.OrderedDict):
        return any(_contains(v, cond) for v in obj.values())
    if type(obj) in (list, tuple):
        return any(_contains(v, cond) for v in obj)
    return False


def _convert(obj, cond, fn):
    if cond(obj):
        return fn(obj)
    t = type(obj)
    if t in (dict, collections.OrderedDict):
        for k in list(obj):
            obj[k] = _convert(obj[k], cond, fn)
        return obj
    if t is list:
        obj[:] = [_convert(v, cond, fn) for v in obj]
        return obj
    if t is tuple:
        return tuple(_convert(v, cond, fn) for v in obj)
    if t is set:
        return {_convert(v, cond, fn) for v in obj}
    return obj


# ---------------------------------------------------------------------- paths
_MODEL_EXTS = (".pdmodel", ".json", ".pdiparams")


def _is_model_prefix(p: str) -> bool:
    return os.path.isdir(p) or any(os.path.isfile(p + ext) for ext in _MODEL_EXTS)


def _missing_message(p: str) -> str:
    d = os.path.dirname(p) or "."
    if not os.path.isdir(d):
        return f"sampan.load: {p!r} does not exist (nor does the directory {d!r})."
    base = os.path.basename(p)
    entries = sorted(os.listdir(d))
    stem = os.path.splitext(base)[0]
    near = [e for e in entries if e.startswith(base + ".")]
    near += [e for e in entries if os.path.splitext(e)[0] == stem and e != base]
    near += difflib.get_close_matches(base, entries, n=3, cutoff=0.75)
    near = list(dict.fromkeys(e for e in near if atomic.TEMP_MARK not in e))[:5]
    if not near:
        return f"sampan.load: {p!r} does not exist (and no similar file is in {os.path.abspath(d)!r})."
    msg = f"sampan.load: {p!r} does not exist. Did you mean " + " or ".join(repr(os.path.join(d, e)) for e in near)
    if any(e.endswith((".pdmodel", ".pdiparams", ".json")) for e in near):
        prefix = os.path.join(d, stem)
        msg += (f"? Those are a saved model: paddle.load({prefix!r}) returns its parameters and "
                f"paddle.jit.load({prefix!r}) the model")
    return msg + "?"
