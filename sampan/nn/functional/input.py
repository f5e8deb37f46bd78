"""``embedding`` (op ``lookup_table_v2``) and ``one_hot`` (op ``one_hot_v2``)."""
from __future__ import annotations

from ...core.dispatch import run_op

__all__ = ["embedding", "one_hot"]


def embedding(x, weight, padding_idx=None, sparse=False, name=None):
    """Rows of ``weight`` [num_embeddings, dim] at the integer ids ``x``; rows at ``padding_idx``
    (negative: counted from the end) are zero and get no gradient.

    Example:
        >>> import sampan as paddle
        >>> import sampan.nn.functional as F
        >>> w = paddle.arange(6, dtype='float32').reshape([3, 2])
        >>> F.embedding(paddle.to_tensor([2, 0]), w).numpy()
        array([[4., 5.],
               [0., 1.]], dtype=float32)
    """
    n = int(weight.shape[0])
    if padding_idx is None:
        pad = -1
    else:
        pad = int(padding_idx)
        if pad >= n or pad < -n:
            raise ValueError(f"embedding: padding_idx must be in [-{n}, {n}). Received: {padding_idx}.")
        pad = pad if pad >= 0 else n + pad
    return run_op("lookup_table_v2", {"Ids": x, "W": weight}, {"padding_idx": pad})["Out"]


def one_hot(x, num_classes, name=None):
    """float32 one-hot vectors of the integer ``x`` with ``num_classes`` entries (appended as the last dim)."""
    return run_op("one_hot_v2", {"X": x}, {"depth": int(num_classes), "dtype": 5,
                                           "allow_out_of_range": False})["Out"]
