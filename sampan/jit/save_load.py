"""``paddle.jit.save`` and ``paddle.jit.load``.

jit.save traces each ``to_static`` method (``forward`` from ``input_spec`` when it is not
decorated) in eval mode, turns it into an inference program (pruned to the outputs, ``is_test``
set, feed/fetch ops), and writes, for ``forward``, ``path.pdmodel`` + ``path.pdiparams``, for
every other decorated method ``path.<method>.pdmodel`` + ``path.<method>.pdiparams``, and one
shared ``path.pdiparams.info`` (FORMATS.md sections 2-4). A plain function writes ``path.pdmodel``
only (plus ``.pdiparams`` if it captured tensors).
"""
from __future__ import annotations

import os

from ..core.tensor import Tensor
from ..static.input import InputSpec
from ..static.io import normalize_program
from .api import StaticFunction, _check_specs
from .runner import arg_names

__all__ = ["save", "load"]

_KNOWN_CONFIGS = {"output_spec", "combine_params", "clip_extra", "skip_forward", "separate_parameters",
                  "input_names_after_prune", "skip_prune_program", "with_hook", "use_combine", "fetch"}


def _is_layer(obj):
    return hasattr(obj, "sublayers") and hasattr(obj, "state_dict")


def _methods_to_save(layer, input_spec):
    """[(method name, StaticFunction or plain function, specs or None)] with forward first."""
    cls = type(layer)
    found = []
    for name in dir(cls):
        attr = getattr(cls, name, None)
        if isinstance(attr, StaticFunction):
            found.append(name)
    inst_forward = layer.__dict__.get("forward")
    if isinstance(inst_forward, StaticFunction) and "forward" not in found:
        found.append("forward")
    out = []
    if "forward" in found or input_spec is not None or not found:
        fwd = layer.forward
        out.append(("forward", fwd))
    for name in sorted(n for n in found if n != "forward"):
        out.append((name, getattr(layer, name)))
    if input_spec is not None and any(n != "forward" for n, _ in out) and "forward" not in found:
        raise ValueError("jit.save: when methods other than forward are decorated with to_static, forward must be "
                         "decorated too and input_spec must be None (guide 3.1.1.1 note 3).")
    return out


def _specs(fn, input_spec, who):
    if input_spec is not None:
        return _check_specs(input_spec, who)
    if isinstance(fn, StaticFunction):
        if fn.input_spec is not None:
            return fn.input_spec
        if fn._last is not None:
            return [InputSpec(v.shape, v.dtype, v.name) for v in fn._last.inputs]
    raise ValueError(f"{who}: no input_spec: pass input_spec=[InputSpec(...)] (or example Tensors), decorate the "
                     "method with to_static(input_spec=...), or call it once before saving.")


def _trace_for_save(layer, fn, specs):
    from .runner import trace
    if isinstance(fn, StaticFunction):
        raw, inst = fn._function, fn._instance
    else:
        raw = getattr(fn, "__func__", fn)
        inst = getattr(fn, "__self__", None)
    names = getattr(layer, "_input_names", None) if layer is not None and hasattr(layer, "_input_names") else None
    names = names or arg_names(raw, inst is not None)
    specs = [InputSpec(s.shape, s.dtype, s.name or (names[i] if i < len(names) else f"x_{i}"))
             for i, s in enumerate(specs)]
    was = getattr(layer, "training", None)
    try:
        if layer is not None and hasattr(layer, "eval"):
            layer.eval()
        return trace(raw, inst, specs, names, training=False)
    finally:
        if layer is not None and was:
            layer.train()


def _select_outputs(cp, output_spec):
    if output_spec is None:
        return cp.outputs
    names = [o.name if not isinstance(o, str) else o for o in output_spec]
    by_name = {v.name: v for v in cp.outputs}
    if all(n in by_name for n in names):
        return [by_name[n] for n in names]
    if len(output_spec) <= len(cp.outputs) and all(isinstance(o, Tensor) for o in output_spec):
        return cp.outputs[:len(output_spec)]
    raise ValueError(f"jit.save: output_spec {names} does not name outputs of the traced program "
                     f"{[v.name for v in cp.outputs]}.")


def save(layer, path, input_spec=None, **configs):
    """Save a Layer (or function) for inference and fine-tuning.

    Example:
        >>> paddle.jit.save(layer, "example.model/linear",
        ...                 input_spec=[InputSpec(shape=[None, 784], dtype='float32')])
    """
    from ..formats.pdmodel import encode_program, add_common_attrs
    from ..formats.tensor_stream import write_pdiparams, write_pdiparams_info
    from ..formats.atomic import atomic_open
    unknown = set(configs) - _KNOWN_CONFIGS
    if unknown:
        raise ValueError(f"jit.save: unknown config(s) {sorted(unknown)}; supported: {sorted(_KNOWN_CONFIGS)}.")
    if configs.get("separate_parameters") or configs.get("combine_params") is False:
        raise NotImplementedError("jit.save: separate parameter files are not supported; sampan writes the combined "
                                  ".pdiparams that every Paddle version reads.")
    if not isinstance(path, str) or not os.path.basename(path):
        raise ValueError(f"jit.save: path must be 'dir/prefix' with a file prefix. Received: path={path!r}.")
    if configs.get("skip_forward") and not _is_layer(layer):
        raise ValueError("jit.save: skip_forward=True needs a Layer.")
    if _is_layer(layer):
        methods = _methods_to_save(layer, input_spec)
        if configs.get("skip_forward"):
            methods = [(n, f) for n, f in methods if n != "forward"]
    elif callable(layer):
        methods = [("forward", layer)]
    else:
        raise TypeError(f"jit.save: layer must be a Layer or a function. Received: {type(layer).__name__}.")
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    structured = {}
    if _is_layer(layer):
        for k, t in layer.state_dict().items():
            structured[t.name] = (k, t)
    saved_params = {}
    for mname, fn in methods:
        specs = _specs(fn, input_spec if mname == "forward" else None, "jit.save")
        cp = _trace_for_save(layer if _is_layer(layer) else None, fn, specs)
        outs = _select_outputs(cp, configs.get("output_spec") if mname == "forward" else None)
        prog = normalize_program(cp.main_program, cp.inputs, outs)
        for v in prog.global_block().vars.values():
            v.need_check_feed = None
        captured = cp.main_program._captured
        names = sorted(v.name for v in prog.persistable_vars())
        prefix = path if mname == "forward" else f"{path}.{mname}"
        from ..static.io import _write
        _write(prefix + ".pdmodel", encode_program(add_common_attrs(prog), canonical=True))
        if names:
            with atomic_open(prefix + ".pdiparams") as f:
                write_pdiparams(f, [(n, captured[n]._data) for n in names])
            for n in names:
                saved_params[n] = captured[n]
    if _is_layer(layer) and saved_params:
        info = {}
        for n in sorted(saved_params):
            t = saved_params[n]
            entry = {}
            if n in structured:
                entry["structured_name"] = structured[n][0]
            entry["stop_gradient"] = bool(t.stop_gradient)
            if hasattr(t, "trainable"):
                entry["trainable"] = bool(t.trainable)
            info[n] = entry
        with atomic_open(path + ".pdiparams.info") as f:
            write_pdiparams_info(f, info)


def load(path, **configs):
    """Load what ``jit.save`` wrote (by sampan or Paddle 2.x/3.x) as a ``TranslatedLayer``.

    Example:
        >>> loaded = paddle.jit.load("example.model/linear")
        >>> loaded.eval(); pred = loaded(x)
    """
    from .translated_layer import TranslatedLayer
    if not isinstance(path, str):
        raise TypeError(f"jit.load: path must be a str. Received: {type(path).__name__}.")
    return TranslatedLayer._from_path(path, **configs)
