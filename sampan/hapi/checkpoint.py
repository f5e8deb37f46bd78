"""Training checkpoints of ``Model``: a ``.pdparams`` + ``.pdopt`` pair, committed together.

The bytes are written by ``sampan.save`` / read by ``sampan.load`` (``sampan.formats`` owns them).
This module only decides names and order:

1. both files are written completely to temporary names in the target directory;
2. the old ``path.pdparams`` is removed, ``path.pdopt`` is replaced (or removed when there is no
   optimizer state), and ``path.pdparams`` is renamed into place last, then the directory is fsynced.

``.pdparams`` is thus the commit mark: a crash at any point leaves either the complete new pair, or the
untouched old pair (before step 2), or no ``path.pdparams`` (during the few microseconds of step 2) -
never a ``.pdparams`` next to a ``.pdopt`` from another save, which would resume training silently wrong.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import warnings

from ..formats.atomic import clean_stale_temp_files, fsync_dir

__all__ = ["save_checkpoint", "load_checkpoint", "strip_suffix"]

_NAME_TABLE_KEY = "StructuredToParameterName@@"
_PENDING = ".sampan-pending-"


def _unlink(p):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(p)


def save_checkpoint(path, params, opt_state):
    """Write ``path.pdparams`` (``params``) and ``path.pdopt`` (``opt_state`` if non-empty) as one commit."""
    import sampan
    d, base = os.path.split(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    clean_stale_temp_files(os.path.join(d, base), _PENDING)   # left by writers that died
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    tmp_params = os.path.join(d, f".{base}{_PENDING}{token}.pdparams")
    tmp_opt = os.path.join(d, f".{base}{_PENDING}{token}.pdopt")
    final_params, final_opt = os.path.join(d, base + ".pdparams"), os.path.join(d, base + ".pdopt")
    try:
        sampan.save(params, tmp_params)
        if opt_state:
            sampan.save(opt_state, tmp_opt)
        _unlink(final_params)                 # from here until the last rename there is no commit mark
        if opt_state:
            os.replace(tmp_opt, final_opt)
        else:
            _unlink(final_opt)                # an older optimizer state must not pair with these parameters
        os.replace(tmp_params, final_params)
        fsync_dir(d)
    finally:
        _unlink(tmp_params)
        _unlink(tmp_opt)


def strip_suffix(path):
    root, ext = os.path.splitext(path)
    if ext in (".pdparams", ".pdopt", ".pdmodel"):
        return root
    return path


def _match_params(network, state, skip_mismatch):
    """[(parameter, value)] to apply, and the problems found (missing keys, shape mismatches)."""
    matched, problems = [], []
    for key, param in network.state_dict().items():
        if key not in state:
            problems.append(f"{key} is not found in the providing file.")
            continue
        value = state[key]
        vshape = list(value.shape() if callable(getattr(value, "shape", None)) else getattr(value, "shape", []))
        if vshape != list(param.shape):
            problems.append(f"{key} receives a shape {vshape}, but the expected shape is {list(param.shape)}.")
            continue
        matched.append((param, value))
    return matched, problems


def _rename_accumulators(opt_state, name_table, network):
    """Rename ``<old param name>_<accumulator>`` keys to the current parameters' names.

    A second Model built in the same process has parameters named ``linear_1.w_0`` where the file says
    ``linear_0.w_0``; the structured-name table saved beside the parameters maps one to the other.
    """
    if not name_table or not isinstance(opt_state, dict):
        return opt_state
    current = {k: getattr(v, "name", None) for k, v in network.state_dict().items()}
    renames = {old: current[k] for k, old in name_table.items() if current.get(k) and current[k] != old}
    if not renames:
        return opt_state
    olds = sorted(renames, key=len, reverse=True)
    out = type(opt_state)()
    for key, value in opt_state.items():
        new_key = key
        if isinstance(key, str):
            for old in olds:
                if key == old or key.startswith(old + "_"):
                    new_key = renames[old] + key[len(old):]
                    break
        out[new_key] = value
    if "master_weights" in out and isinstance(out["master_weights"], dict):
        out["master_weights"] = {renames.get(k, k): v for k, v in out["master_weights"].items()}
    return out


def load_checkpoint(model, path, skip_mismatch=False, reset_optimizer=False):
    """Apply ``path.pdparams`` to ``model.network`` and ``path.pdopt`` (if present) to its optimizer."""
    import sampan
    base = strip_suffix(path)
    params_file = base + ".pdparams"
    if not os.path.isfile(params_file):
        raise FileNotFoundError(f"Model.load: {params_file!r} does not exist. Give the path prefix passed to "
                                f"Model.save (e.g. 'checkpoint/test' for checkpoint/test.pdparams).")
    state = sampan.load(params_file, keep_name_table=True)   # (Paddle's load drops the table unless asked)
    if not isinstance(state, dict):
        raise ValueError(f"Model.load: {params_file!r} holds a {type(state).__name__}, not a state dict.")
    state = dict(state)
    name_table = state.pop(_NAME_TABLE_KEY, None)
    matched, problems = _match_params(model.network, state, skip_mismatch)
    if problems:
        if not skip_mismatch:
            raise ValueError(f"Model.load: {len(problems)} parameter(s) of the network cannot be loaded from "
                             f"{params_file!r} (pass skip_mismatch=True to load the others):\n  "
                             + "\n  ".join(problems))
        warnings.warn(f"Model.load: skipped {len(problems)} parameter(s) from {params_file!r}; the optimizer "
                      f"state is not restored:\n  " + "\n  ".join(problems), stacklevel=3)
        reset_optimizer = True
    for param, value in matched:
        param.set_value(value)
    opt_file = base + ".pdopt"
    if model._optimizer is None or reset_optimizer or not os.path.isfile(opt_file):
        return
    opt_state = _rename_accumulators(sampan.load(opt_file), name_table, model.network)
    model._optimizer.set_state_dict(opt_state)
