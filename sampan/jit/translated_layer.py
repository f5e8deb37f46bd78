"""``TranslatedLayer``: a Layer over loaded Programs that predicts, fine-tunes and saves again.

Its ``forward`` runs the loaded program through the dispatch point on Tensors, so the eager tape
records it and ``loss.backward()`` reaches the loaded parameters: fine-tuning needs no backward
program. ``train()``/``eval()`` switch the ``is_test`` attribute of dropout/batch_norm at run time.
"""
from __future__ import annotations

import glob
import os
from collections import OrderedDict

from ..core import unique_name
from ..core.tensor import Parameter
from ..nn import Layer
from .runner import run_program

__all__ = ["TranslatedLayer"]


def _renamed(name):
    """A fresh name for a loaded variable: ``linear_0.w_0`` -> ``linear_0.w_<next>`` (Paddle's rule)."""
    base, sep, tail = name.rpartition("_")
    if sep and tail.isdigit():
        return unique_name.generate(base)
    return unique_name.generate(name)


class _Method:
    def __init__(self, program):
        from ..static.io import feed_fetch_targets
        self.program = program
        self.feed_names, fetch_vars = feed_fetch_targets(program)
        self.fetch_names = [v.name for v in fetch_vars]


class TranslatedLayer(Layer):
    """What ``paddle.jit.load`` returns: call it, ``train()`` it, ``jit.save`` it again."""

    def __init__(self, methods, params, structured):
        super().__init__()
        self._methods = methods                  # name -> _Method
        self._var_params = params                # program var name -> Parameter
        self._structured = structured            # program var name -> structured name
        for i, p in enumerate(params.values()):
            self.add_parameter(f"param_{i}", p) if not p.stop_gradient else self.register_buffer(
                f"buffer_{i}", p, persistable=True)
        self._input_names = methods["forward"].feed_names if "forward" in methods else None

    @classmethod
    def _from_path(cls, path, **configs):
        from ..formats.model_files import read_inference_model, find_program_file
        from ..formats.tensor_stream import read_pdiparams_info
        methods, arrays, trainable = {}, {}, {}
        prog_file = None
        try:
            # a directory holds the legacy layout (__model__ + one file per variable)
            prog_file = path if os.path.isdir(path) else find_program_file(path, "jit.load")
        except FileNotFoundError:
            extra = _method_files(path)
            if not extra:
                raise
        if prog_file is not None:
            program, params = read_inference_model(path, who="jit.load")
            methods["forward"] = _Method(program)
            arrays.update(params)
            _collect_trainable(program, trainable)
        for mname in _method_files(path):
            program, params = read_inference_model(f"{path}.{mname}", who="jit.load")
            methods[mname] = _Method(program)
            arrays.update(params)
            _collect_trainable(program, trainable)
        info = {}
        if os.path.isfile(path + ".pdiparams.info"):
            info = read_pdiparams_info(path + ".pdiparams.info")
        params, structured = OrderedDict(), {}
        for vn in sorted(arrays):
            meta = info.get(vn, {})
            train = meta.get("trainable", trainable.get(vn, True))
            p = Parameter(arrays[vn], name=_renamed(vn), trainable=bool(train))
            if meta.get("stop_gradient") is not None and train:
                p.stop_gradient = bool(meta["stop_gradient"])
            params[vn] = p
            if "structured_name" in meta:
                structured[vn] = meta["structured_name"]
        layer = cls(methods, params, structured)
        for mname in methods:
            if mname != "forward":
                setattr(layer, mname, _bound_method(layer, mname))
        return layer

    # ------------------------------------------------------------------ running
    def _run(self, mname, inputs):
        m = self._methods.get(mname)
        if m is None:
            raise AttributeError(f"TranslatedLayer: no saved method {mname!r}; saved: {sorted(self._methods)}.")
        if len(inputs) != len(m.feed_names):
            raise TypeError(f"TranslatedLayer.{mname}: expected {len(m.feed_names)} inputs {m.feed_names}, "
                            f"received {len(inputs)}.")
        from ..tensor_api.creation import to_tensor
        from ..core.tensor import Tensor
        from ..static.program import Variable
        feeds = {n: (x if isinstance(x, (Tensor, Variable)) else to_tensor(x)) for n, x in zip(m.feed_names, inputs)}
        outs = run_program(m.program, feeds, self._var_params, m.fetch_names, is_test=not self.training)
        return outs[0] if len(outs) == 1 else outs

    def forward(self, *inputs):
        return self._run("forward", inputs)

    def program(self, method_name="forward"):
        """The loaded Program of ``method_name``."""
        if method_name not in self._methods:
            raise ValueError(f"TranslatedLayer.program: no method {method_name!r}; saved: {sorted(self._methods)}.")
        return self._methods[method_name].program

    # ------------------------------------------------------------------ state
    def _state_dict_impl(self, destination, include_sublayers, prefix, include_non_persistable, use_hook):
        """Structured names from ``.pdiparams.info`` when saved with one, else the saved var names.
        ``state_dict`` and ``set_state_dict`` (Layer's, with its checks and warning) both go through here."""
        for vn, p in self._var_params.items():
            destination[prefix + self._structured.get(vn, vn)] = p
        return destination


def _bound_method(layer, mname):
    def method(*inputs):
        return layer._run(mname, inputs)
    method.__name__ = mname
    return method


def _method_files(path):
    d = os.path.dirname(path) or "."
    base = os.path.basename(path)
    names = set()
    for ext in (".pdmodel", ".json"):
        for f in glob.glob(os.path.join(glob.escape(d), glob.escape(base) + ".*" + ext)):
            mid = os.path.basename(f)[len(base) + 1: -len(ext)]
            if mid and "." not in mid:
                names.add(mid)
    return sorted(names)


def _collect_trainable(program, out):
    for v in program.list_vars():
        if v.persistable:
            out.setdefault(v.name, bool(getattr(v, "trainable", True)))
