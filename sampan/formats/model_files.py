"""Reading a saved model from disk: program file + parameters, whatever Paddle version wrote it.

Layouts understood (detected once, here):

* ``<prefix>.pdmodel`` (ProgramDesc protobuf) or ``<prefix>.json`` (PIR) + ``<prefix>.pdiparams``
  (jit.save / save_inference_model of Paddle 2.x and 3.x);
* a directory with ``__model__`` (or ``__model__.json``) and one tensor-stream file per persistable
  variable (``save_inference_model(..., separate_parameters=True)``), or with explicit
  ``model_filename`` / ``params_filename``.
"""
from __future__ import annotations

import os

__all__ = ["read_inference_model", "find_program_file", "decode_any_program", "param_names"]


class ModelNotFoundError(FileNotFoundError):
    pass


def decode_any_program(data: bytes):
    """ProgramDesc protobuf or PIR json -> Program (detected by the first byte)."""
    if not data:
        raise ValueError("program file is empty")
    if bytes(data[:1]) == b"{":   # a ProgramDesc starts with field tag 0x0a, PIR json with '{'
        from .pir_json import decode_pir_program
        return decode_pir_program(bytes(data))
    from .pdmodel import decode_program
    return decode_program(bytes(data))


def find_program_file(prefix, who="load"):
    """The program file of ``prefix``: ``.pdmodel`` first, then PIR ``.json``."""
    for ext in (".pdmodel", ".json"):
        if os.path.isfile(prefix + ext):
            return prefix + ext
    d = os.path.dirname(prefix) or "."
    near = []
    if os.path.isdir(d):
        base = os.path.basename(prefix)
        near = sorted(f for f in os.listdir(d) if f.endswith((".pdmodel", ".json")) and
                      (f.startswith(base[:3]) or base.startswith(f.split(".")[0])))[:5]
    hint = f" Model files in {os.path.abspath(d)!r}: {near}." if near else ""
    raise ModelNotFoundError(f"{who}: no model at prefix {prefix!r}: neither {prefix}.pdmodel nor {prefix}.json "
                             f"exists.{hint}")


def param_names(program):
    """Names of the variables stored in the ``.pdiparams`` file, in file order (sorted)."""
    pn = getattr(program, "_param_order", None)
    if pn is not None:
        return list(pn)
    skip = {9, 10, 15, 17}  # FEED_MINIBATCH, FETCH_LIST, READER, RAW
    return sorted({v.name for v in program.list_vars() if v.persistable and v.type not in skip})


def read_inference_model(path_prefix, model_filename=None, params_filename=None, who="load_inference_model"):
    """Return ``(program, {var name: ndarray})``."""
    from .tensor_stream import read_pdiparams, read_tensor_file
    if os.path.isdir(path_prefix):
        mf = os.path.join(path_prefix, model_filename) if model_filename else None
        if mf is None:
            for cand in ("__model__", "__model__.json", "model.pdmodel", "inference.pdmodel", "model.json"):
                if os.path.isfile(os.path.join(path_prefix, cand)):
                    mf = os.path.join(path_prefix, cand)
                    break
        if mf is None or not os.path.isfile(mf):
            raise ModelNotFoundError(f"{who}: directory {path_prefix!r} holds no program file "
                                     "(__model__, __model__.json, or pass model_filename=).")
        with open(mf, "rb") as f:
            program = decode_any_program(f.read())
        names = param_names(program)
        if params_filename:
            params = read_pdiparams(os.path.join(path_prefix, params_filename), names)
        else:
            params = {}
            for n in names:
                p = os.path.join(path_prefix, n)
                if not os.path.isfile(p):
                    raise ModelNotFoundError(f"{who}: parameter file {p!r} of variable {n!r} is missing.")
                params[n] = read_tensor_file(p)
        return program, params
    if model_filename:
        d = os.path.dirname(path_prefix)
        mf = model_filename if os.path.isabs(model_filename) else os.path.join(d, model_filename)
    else:
        mf = find_program_file(path_prefix, who)
    with open(mf, "rb") as f:
        program = decode_any_program(f.read())
    names = param_names(program)
    if params_filename:
        d = os.path.dirname(path_prefix)
        pf = params_filename if os.path.isabs(params_filename) else os.path.join(d, params_filename)
    else:
        pf = path_prefix + ".pdiparams"
    if not names:
        return program, {}
    if not os.path.isfile(pf):
        raise ModelNotFoundError(f"{who}: the program {mf!r} has {len(names)} parameters but {pf!r} does not exist.")
    return program, read_pdiparams(pf, names)
