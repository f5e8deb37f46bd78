"""Imports every op module so that each registers its ops (the registry loads this lazily)."""
import importlib

_MODULES = ["math", "activation", "reduce", "shape", "creation", "nn_ops", "conv", "norm", "loss",
            "optim", "compare", "indexing", "recurrent", "interp", "feed_fetch"]

for _m in _MODULES:
    try:
        importlib.import_module(f"sampan.ops.{_m}")
    except ModuleNotFoundError as e:  # a module not written yet
        if e.name != f"sampan.ops.{_m}":
            raise
