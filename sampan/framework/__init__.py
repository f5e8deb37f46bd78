"""``paddle.framework``: ``save`` and ``load`` (see ``sampan.framework.io``)."""
from .io import save, load  # noqa: F401

__all__ = ["save", "load"]
