"""The high-level API: ``Model``, callbacks, ``summary`` and the progress bar."""
from . import callbacks  # noqa: F401
from .model import Model  # noqa: F401
from .summary import summary  # noqa: F401

__all__ = ["Model", "summary", "callbacks"]
