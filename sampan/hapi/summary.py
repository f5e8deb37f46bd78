"""``paddle.summary``: a table of a network's layers, output shapes and parameter counts.

The network runs once on example inputs (zeros of the given shapes, or the given Tensors) in eval
mode without gradient, so summarising changes no running statistic, no random state and no
training flag. The totals count every parameter of the network once, including parameters owned
directly by container layers (Paddle's totals only add up the hooked leaf rows).
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["summary"]


def _is_spec(x):
    return hasattr(x, "shape") and hasattr(x, "dtype") and type(x).__name__ == "InputSpec"


def _fix_shape(shape):
    """Dynamic dims (None / -1) become 1; the batch dim silently, others too (they must be something)."""
    return tuple(1 if (d is None or (isinstance(d, numbers.Integral) and d < 0)) else int(d) for d in shape)


def _shapes_and_dtypes(input_size, dtypes):
    """[(shape tuple, dtype name)] for every network input."""
    if _is_spec(input_size):
        items = [input_size]
    elif isinstance(input_size, tuple) and all(isinstance(d, (numbers.Integral, type(None))) for d in input_size):
        items = [input_size]
    elif isinstance(input_size, (list, tuple)):
        if input_size and all(isinstance(d, (numbers.Integral, type(None))) for d in input_size):
            items = [tuple(input_size)]     # a single shape given as a list
        else:
            items = list(input_size)
    else:
        raise TypeError(f"summary: input_size must be a shape tuple, an InputSpec, or a list of them. "
                        f"Received: {input_size!r}.")
    if isinstance(dtypes, (list, tuple)):
        if len(dtypes) != len(items):
            raise ValueError(f"summary: {len(items)} inputs but {len(dtypes)} dtypes. Received dtypes={dtypes!r}.")
        dts = list(dtypes)
    else:
        dts = [dtypes] * len(items)
    out = []
    for item, dt in zip(items, dts):
        if _is_spec(item):
            shape, spec_dt = item.shape, item.dtype
            dt = dt or getattr(spec_dt, "name", spec_dt)
        else:
            shape = item
        out.append((_fix_shape(shape), str(getattr(dt, "name", dt) or "float32")))
    return out


def _make_inputs(input_size, dtypes, input):
    from ..core.tensor import Tensor
    if input is not None:
        if isinstance(input, Tensor):
            return [input]
        if isinstance(input, dict):
            return input
        return list(input)
    if input_size is None:
        raise ValueError("summary: give input_size (shapes, e.g. (1, 784)) or input (example Tensors).")
    from ..core.dtype import convert_dtype
    return [Tensor(np.zeros(shape, dtype=convert_dtype(dt).np)) for shape, dt in _shapes_and_dtypes(input_size, dtypes)]


def _shape_of(x):
    if hasattr(x, "shape") and not isinstance(x, (list, tuple, dict)):
        s = x.shape
        return list(s() if callable(s) else s)
    if isinstance(x, (list, tuple)):
        return [_shape_of(v) for v in x]
    if isinstance(x, dict):
        return {k: _shape_of(v) for k, v in x.items()}
    return []


def _numel(x):
    if hasattr(x, "shape") and not isinstance(x, (list, tuple, dict)):
        return int(np.prod(_shape_of(x))) if _shape_of(x) else 1
    if isinstance(x, (list, tuple)):
        return sum(_numel(v) for v in x)
    if isinstance(x, dict):
        return sum(_numel(v) for v in x.values())
    return 0


def _is_container(layer):
    return type(layer).__name__ in ("Sequential", "LayerList", "LayerDict", "ParameterList")


def _run_with_hooks(net, inputs):
    """Forward once; returns the rows [(name, input shapes, output shape, #params, #trainable)]."""
    from ..core.tensor import no_grad
    rows, counters, hooks = [], {}, []
    has_children = len(net.sublayers()) > 0

    def hook(layer, inp, out):
        cls = type(layer).__name__
        counters[cls] = counters.get(cls, 0) + 1
        own = list(layer.parameters(include_sublayers=False))
        n = sum(int(np.prod(p.shape)) for p in own)
        nt = sum(int(np.prod(p.shape)) for p in own if not p.stop_gradient)
        rows.append((f"{cls}-{counters[cls]}", _shape_of(list(inp)), _shape_of(out), n, nt, _numel(out)))

    for layer in net.sublayers(include_self=True):
        if _is_container(layer) or (layer is net and has_children):
            continue
        hooks.append(layer.register_forward_post_hook(hook))
    modes = [(layer, layer.training) for layer in net.sublayers(include_self=True)]
    try:
        net.eval()
        with no_grad():
            if isinstance(inputs, dict):
                net(**inputs)
            else:
                net(*inputs)
    finally:
        for h in hooks:
            h.remove()
        for layer, training in modes:
            layer.__dict__["training"] = training
    return rows


def _table(rows, total, trainable, input_bytes, act_bytes, param_bytes):
    head = ("Layer (type)", "Input Shape", "Output Shape", "Param #")
    cells = [(r[0], str(r[1][0] if len(r[1]) == 1 else r[1]), str(r[2]), f"{r[3]:,}") for r in rows]
    widths = [max([len(head[i])] + [len(c[i]) for c in cells]) + 2 for i in range(4)]
    width = sum(widths) + 3
    line = "-" * width
    fmt = lambda c: " ".join(c[i].center(widths[i]) for i in range(4))  # noqa: E731
    mb = 1024.0 ** 2
    out = [line, fmt(head), "=" * width] + [fmt(c) for c in cells] + ["=" * width,
           f"Total params: {total:,}", f"Trainable params: {trainable:,}",
           f"Non-trainable params: {total - trainable:,}", line,
           f"Input size (MB): {input_bytes / mb:.2f}",
           f"Forward/backward pass size (MB): {act_bytes / mb:.2f}",
           f"Params size (MB): {param_bytes / mb:.2f}",
           f"Estimated Total Size (MB): {(input_bytes + act_bytes + param_bytes) / mb:.2f}", line]
    return "\n".join(out)


def summary(net, input_size=None, dtypes=None, input=None):
    """Print a table of ``net``'s layers with output shapes and parameter counts.

    Args:
        net (Layer): the network.
        input_size (tuple | InputSpec | list): input shape(s) including the batch dimension (None/-1
            become 1), e.g. ``(1, 784)`` or ``[(1, 3, 32, 32), (1, 10)]``.
        dtypes (str | list[str], optional): input dtype(s); float32 by default.
        input (Tensor | list[Tensor] | dict, optional): example inputs instead of ``input_size``.

    Returns:
        dict: ``{'total_params': int, 'trainable_params': int}``.

    Example:
        >>> import sampan as paddle
        >>> net = paddle.nn.Sequential(paddle.nn.Linear(4, 3), paddle.nn.ReLU(), paddle.nn.Linear(3, 2))
        >>> info = paddle.summary(net, (1, 4))  # doctest: +ELLIPSIS
        ---...
        >>> info
        {'total_params': 23, 'trainable_params': 23}
    """
    inputs = _make_inputs(input_size, dtypes, input)
    rows = _run_with_hooks(net, inputs)
    seen, params = set(), []
    for p in net.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            params.append(p)
    total = sum(int(np.prod(p.shape)) for p in params)
    trainable = sum(int(np.prod(p.shape)) for p in params if not p.stop_gradient)
    in_list = inputs.values() if isinstance(inputs, dict) else inputs
    input_bytes = sum(int(np.asarray(t.numpy()).nbytes) for t in in_list)
    act_bytes = 2 * 4 * sum(r[5] for r in rows)             # outputs kept for backward, float32
    param_bytes = sum(int(np.asarray(p.numpy()).nbytes) for p in params)
    print(_table(rows, total, trainable, input_bytes, act_bytes, param_bytes))
    return {"total_params": int(total), "trainable_params": int(trainable)}
