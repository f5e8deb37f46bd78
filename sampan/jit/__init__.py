"""``paddle.jit``: to_static, save, load, TranslatedLayer."""
from .api import to_static, StaticFunction, not_to_static, ignore_module, enable_to_static  # noqa: F401
from .save_load import save, load  # noqa: F401


def __getattr__(name):
    if name == "TranslatedLayer":
        from .translated_layer import TranslatedLayer
        return TranslatedLayer
    raise AttributeError(name)
