"""Errors raised by the file codecs: what is wrong, in which file, at which byte, and how to fix it.

All three derive from :class:`FormatError`, a ``ValueError`` (Paddle raises ``ValueError`` for a
file it cannot parse, so ``except ValueError`` in user code keeps working).

Example:
    >>> err = CorruptFileError("truncated: 100 of at least 4096 bytes", path="m.pdparams", offset=100)
    >>> print(err)
    m.pdparams: truncated: 100 of at least 4096 bytes (at byte offset 100)
"""
from __future__ import annotations

import pickle

__all__ = ["FormatError", "CorruptFileError", "FormatMismatchError", "UnsafeFileError", "describe_file"]


def describe_file(path) -> str:
    """A short printable name for a path or file-like object (``'<BytesIO>'`` for buffers)."""
    if path is None:
        return "<bytes>"
    if isinstance(path, (str, bytes)) or hasattr(path, "__fspath__"):
        return str(path)
    name = getattr(path, "name", None)
    if isinstance(name, str):
        return name
    return f"<{type(path).__name__}>"


class FormatError(ValueError):
    """A model file could not be read. ``path`` and ``offset`` say where (``None`` when unknown)."""

    def __init__(self, message: str, path=None, offset: int | None = None):
        self.path = describe_file(path) if path is not None else None
        self.offset = offset
        self.reason = message
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = f"{self.path}: " if self.path else ""
        at = f" (at byte offset {self.offset})" if self.offset is not None else ""
        return f"{where}{self.reason}{at}"


class CorruptFileError(FormatError):
    """The file is empty, truncated, or its bytes do not follow the format it claims.

    A truncated file says ``"truncated: N of M bytes"`` (M being the size the data read so far
    requires, a lower bound of the original size) and the byte offset where reading stopped.
    """


class FormatMismatchError(FormatError):
    """The file is a valid Paddle file of another kind than the API expects.

    Example: a ``.pdmodel`` (ProgramDesc) or PIR ``.json`` passed to ``paddle.load`` where a state
    dict was expected; the message says what the file is and which API loads it.
    """


class UnsafeFileError(FormatError, pickle.UnpicklingError):
    """A pickle names a global that Paddle's writers never emit (``os.system``, a class ...).

    Nothing from the file was executed. ``global_name`` is the ``module.name`` that was refused.
    Files from a trusted source that need it can be loaded with
    ``sampan.load(path, allow_unsafe=True)``, which uses Python's unrestricted unpickler and so runs
    whatever code the file contains.
    """

    def __init__(self, message: str, path=None, offset: int | None = None, global_name: str | None = None):
        self.global_name = global_name
        super().__init__(message, path, offset)
