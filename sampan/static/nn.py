"""``paddle.static.nn``: the old fully-connected API (``mul`` + ``elementwise_add``, as Paddle writes it)."""
from __future__ import annotations

import numpy as np

from ..core import unique_name
from ..core.dispatch import run_op, create_parameter

__all__ = ["fc"]


def _initializers():
    from ..nn import initializer
    return initializer


def fc(x, size, num_flatten_dims=1, weight_attr=None, bias_attr=None, activation=None, name=None):
    """``out = act(flatten(x, num_flatten_dims) @ W + b)`` with parameters ``fc_N.w_0`` / ``fc_N.b_0``."""
    if isinstance(x, (list, tuple)):
        if len(x) != 1:
            raise NotImplementedError("static.nn.fc: several inputs are not supported yet; concat them first.")
        x = x[0]
    helper = name or unique_name.generate("fc")
    init = _initializers()
    in_dim = int(np.prod(x.shape[num_flatten_dims:]))
    w_init = getattr(weight_attr, "initializer", None) or init.XavierUniform()
    w = create_parameter([in_dim, size], x.dtype, unique_name.generate(helper + ".w"), w_init)
    out = run_op("mul", {"X": x, "Y": w}, {"x_num_col_dims": num_flatten_dims, "y_num_col_dims": 1},
                 name=helper)["Out"]
    if bias_attr is not False:
        b_init = getattr(bias_attr, "initializer", None) or init.Constant(0.0)
        b = create_parameter([size], x.dtype, unique_name.generate(helper + ".b"), b_init)
        out = run_op("elementwise_add", {"X": out, "Y": b}, {"axis": num_flatten_dims}, name=helper)["Out"]
    if activation is not None:
        out = run_op(activation, {"X": out}, name=helper)["Out"]
    return out
