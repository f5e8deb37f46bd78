"""Op registry and kernels. ``get_op(type)`` returns the OpDef; see ``registry``."""
from .registry import get_op, has_op, all_ops, op, OpDef, UnknownOpError  # noqa: F401
