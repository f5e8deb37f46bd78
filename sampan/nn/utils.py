"""``paddle.nn.utils``: flattening parameters to a vector and back, gradient-norm clipping."""
from __future__ import annotations

import numpy as np

from ..core.tensor import Tensor
from .clip import clip_grad_norm_, clip_grad_value_

__all__ = ["parameters_to_vector", "vector_to_parameters", "clip_grad_norm_", "clip_grad_value_"]


def parameters_to_vector(parameters, name=None):
    """Concatenate the flattened parameters into one 1-D Tensor (a copy)."""
    ps = list(parameters)
    if not ps:
        raise ValueError("parameters_to_vector: received no parameters.")
    return Tensor(np.concatenate([p.numpy().reshape(-1) for p in ps]))


def vector_to_parameters(vec, parameters, name=None):
    """Copy consecutive slices of ``vec`` into ``parameters`` (shapes kept)."""
    arr = vec.numpy() if isinstance(vec, Tensor) else np.asarray(vec)
    ps = list(parameters)
    total = sum(p.size for p in ps)
    if arr.size != total:
        raise ValueError(f"vector_to_parameters: the vector has {arr.size} elements, the parameters {total}.")
    off = 0
    for p in ps:
        p.set_value(arr[off:off + p.size].reshape(p.shape))
        off += p.size
