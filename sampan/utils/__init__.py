"""``paddle.utils``: ``unique_name`` and small helpers."""
from ..core import unique_name  # noqa: F401
