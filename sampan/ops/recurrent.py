"""The ``rnn`` op: Paddle's fused multi-layer (bidirectional) LSTM / GRU / Elman RNN.

Slots and attributes are Paddle 2.6.2's (``op_attrs_2.6.2.txt``; defaults from its op proto):

* ``Input`` [T, N, C], time-major;
* ``PreState*``: ``[h0, c0]`` for LSTM, ``[h0]`` otherwise, each [L*D, N, H]
  (row ``l*D + d`` belongs to layer ``l``, direction ``d``; D = 2 when ``is_bidirec``);
* ``WeightList*``: the ``2*L*D`` weights first, then the ``2*L*D`` biases, each group ordered
  layer by layer, forward before reverse, ``ih`` before ``hh``:
  ``[w_ih(0,fw), w_hh(0,fw), w_ih(0,bw), w_hh(0,bw), w_ih(1,fw), ..., b_ih(0,fw), b_hh(0,fw), ...]``.
  ``w_ih`` is [G*H, C_l], ``w_hh`` [G*H, H], biases [G*H]; G = 4 (LSTM), 3 (GRU), 1 (RNN_*);
* ``SequenceLength?`` [N] int: steps ``t >= len`` keep the previous state and output zeros;
* outputs ``Out`` [T, N, D*H], ``State*`` (final states, shaped like ``PreState``),
  ``Reserve~`` (uint8 dropout masks [L-1, T, N, D*H] kept for the backward; empty without
  dropout) and ``DropoutState?`` (uint8, unused on the CPU; empty).

Gate order and formulas (checked against Paddle 2.6.2, see
``tests/fixtures/generated/make_reference.py``), with ``g = x W_ih^T + b_ih + h W_hh^T + b_hh``:

* LSTM, chunks i, f, c, o: ``c' = sig(f) c + sig(i) tanh(c~)``, ``h' = sig(o) tanh(c')``;
* GRU, chunks r, z, c, reset applied after the matmul:
  ``r = sig(x_r + h_r)``, ``z = sig(x_z + h_z)``, ``c~ = tanh(x_c + r * (h W_hc^T + b_hc))``,
  ``h' = z h + (1 - z) c~``;
* RNN_TANH / RNN_RELU: ``h' = act(g)``.

Between layers (not after the last), training with ``dropout_prob > 0`` applies inverted
dropout (kept values scaled by ``1 / (1 - p)``), each layer with its own mask.

The backward is BPTT in NumPy, vectorised over the batch: it recomputes the forward pass with
caches (so eager forwards keep nothing but the outputs) and reads dropout masks from ``Reserve``.
"""
from __future__ import annotations

import numpy as np

from .registry import op

__all__ = ["rnn"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _sigmoid(x):
    # tanh form: no overflow warnings for large |x|
    return 0.5 * (1.0 + np.tanh(0.5 * x))


# ---------------------------------------------------------------------------- one step per mode
# step(xg, h, c, w_hh, b_hh) -> (h_new, c_new, cache)
# step_back(cache, dh_new, dc_new) -> (dxg, dhg, dh_direct, dc_prev)
#   dxg: grad of the input projection, dhg: grad of h W_hh^T + b_hh,
#   dh_direct: grad reaching h_prev not through W_hh (GRU), dc_prev: grad of c_prev (LSTM).
def _lstm_step(xg, h, c, w_hh, b_hh):
    g = xg + h @ w_hh.T + b_hh
    H = h.shape[-1]
    i = _sigmoid(g[:, :H])
    f = _sigmoid(g[:, H:2 * H])
    cc = np.tanh(g[:, 2 * H:3 * H])
    o = _sigmoid(g[:, 3 * H:])
    c_new = f * c + i * cc
    tc = np.tanh(c_new)
    return o * tc, c_new, (i, f, cc, o, tc, c)


def _lstm_step_back(cache, dh, dc):
    i, f, cc, o, tc, c_prev = cache
    dc = dc + dh * o * (1.0 - tc * tc)
    dg = np.concatenate([dc * cc * i * (1.0 - i), dc * c_prev * f * (1.0 - f),
                         dc * i * (1.0 - cc * cc), dh * tc * o * (1.0 - o)], axis=1)
    return dg, dg, None, dc * f


def _gru_step(xg, h, c, w_hh, b_hh):
    hg = h @ w_hh.T + b_hh
    H = h.shape[-1]
    r = _sigmoid(xg[:, :H] + hg[:, :H])
    z = _sigmoid(xg[:, H:2 * H] + hg[:, H:2 * H])
    hc = hg[:, 2 * H:]
    cc = np.tanh(xg[:, 2 * H:] + r * hc)
    return z * h + (1.0 - z) * cc, None, (r, z, cc, hc, h)


def _gru_step_back(cache, dh, dc):
    r, z, cc, hc, h_prev = cache
    dcc = dh * (1.0 - z) * (1.0 - cc * cc)
    dr = dcc * hc * r * (1.0 - r)
    dz = dh * (h_prev - cc) * z * (1.0 - z)
    dxg = np.concatenate([dr, dz, dcc], axis=1)
    dhg = np.concatenate([dr, dz, dcc * r], axis=1)
    return dxg, dhg, dh * z, None


def _tanh_step(xg, h, c, w_hh, b_hh):
    h_new = np.tanh(xg + h @ w_hh.T + b_hh)
    return h_new, None, h_new


def _tanh_step_back(h_new, dh, dc):
    da = dh * (1.0 - h_new * h_new)
    return da, da, None, None


def _relu_step(xg, h, c, w_hh, b_hh):
    h_new = np.maximum(xg + h @ w_hh.T + b_hh, 0)
    return h_new, None, h_new


def _relu_step_back(h_new, dh, dc):
    da = dh * (h_new > 0)
    return da, da, None, None


_STEPS = {"LSTM": (_lstm_step, _lstm_step_back), "GRU": (_gru_step, _gru_step_back),
          "RNN_TANH": (_tanh_step, _tanh_step_back), "RNN_RELU": (_relu_step, _relu_step_back)}


# ---------------------------------------------------------------------------- one direction
def _direction_forward(mode, xg, h, c, w_hh, b_hh, mask, reverse, keep):
    """Run one direction of one layer over time. ``xg`` [T, N, G*H] is the input projection.

    Returns (out [T, N, H], h_T, c_T, caches or None)."""
    step = _STEPS[mode][0]
    T = xg.shape[0]
    out = np.empty(xg.shape[:2] + h.shape[-1:], dtype=xg.dtype)
    caches = [None] * T if keep else None
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        h_new, c_new, cache = step(xg[t], h, c, w_hh, b_hh)
        if keep:
            caches[t] = (cache, h)
        if mask is None:
            out[t] = h_new
            h, c = h_new, c_new
        else:
            m = mask[t]
            out[t] = np.where(m, h_new, 0)
            h = np.where(m, h_new, h)
            if c is not None:
                c = np.where(m, c_new, c)
    return out, h, c, caches


def _direction_backward(mode, caches, dout, dh, dc, w_hh, mask, reverse):
    """BPTT through one direction. Returns (dxg, dh0, dc0, dw_hh, db_hh)."""
    step_back = _STEPS[mode][1]
    T = dout.shape[0]
    dxg = None
    dw_hh = np.zeros_like(w_hh)
    db_hh = np.zeros(w_hh.shape[0], dtype=w_hh.dtype)
    for t in (range(T) if reverse else range(T - 1, -1, -1)):
        cache, h_prev = caches[t]
        if mask is None:
            dh_new, dc_new, dh_keep, dc_keep = dh + dout[t], dc, None, None
        else:
            m = mask[t]
            dh_new, dh_keep = np.where(m, dh + dout[t], 0), np.where(m, 0, dh)
            dc_new = None if dc is None else np.where(m, dc, 0)
            dc_keep = None if dc is None else np.where(m, 0, dc)
        dxg_t, dhg, dh_direct, dc_prev = step_back(cache, dh_new, dc_new)
        if dxg is None:
            dxg = np.empty((T,) + dxg_t.shape, dtype=dxg_t.dtype)
        dxg[t] = dxg_t
        dw_hh += dhg.T @ h_prev
        db_hh += dhg.sum(axis=0)
        dh = dhg @ w_hh
        if dh_direct is not None:
            dh = dh + dh_direct
        if dh_keep is not None:
            dh = dh + dh_keep
        if dc is not None:
            dc = dc_prev if dc_keep is None else dc_prev + dc_keep
    return dxg, dh, dc, dw_hh, db_hh


# ---------------------------------------------------------------------------- validation
def _layout(ins, attrs):
    """Check shapes against the attributes; returns (mode, L, D, H, per-cell weight tuples)."""
    x, ws, states = ins["Input"], ins["WeightList"], ins["PreState"]
    mode = attrs["mode"]
    if mode not in _GATES:
        raise ValueError(f"rnn: mode must be one of {sorted(_GATES)}. Received: mode={mode!r}.")
    if x is None or x.ndim != 3:
        raise ValueError(f"rnn: Input must be time-major [T, N, C]. Received shape "
                         f"{None if x is None else list(x.shape)}.")
    L, D, H = int(attrs["num_layers"]), 2 if attrs["is_bidirec"] else 1, int(attrs["hidden_size"])
    G, n = _GATES[mode], L * D
    if len(ws) != 4 * n:
        raise ValueError(f"rnn: WeightList must hold 4 * num_layers * directions = {4 * n} tensors "
                         f"(weights, then biases) for num_layers={L}, is_bidirec={bool(D - 1)}. "
                         f"Received {len(ws)}.")
    cells = []
    for k in range(n):
        w_ih, w_hh, b_ih, b_hh = ws[2 * k], ws[2 * k + 1], ws[2 * n + 2 * k], ws[2 * n + 2 * k + 1]
        c_in = x.shape[-1] if k < D else D * H
        want = [(G * H, c_in), (G * H, H), (G * H,), (G * H,)]
        for a, shp, what in zip((w_ih, w_hh, b_ih, b_hh), want, ("w_ih", "w_hh", "b_ih", "b_hh")):
            if tuple(a.shape) != shp:
                raise ValueError(f"rnn ({mode}, hidden_size={H}, Input {list(x.shape)}): {what} of layer "
                                 f"{k // D} direction {k % D} must have shape {list(shp)}. "
                                 f"Received {list(a.shape)}.")
        cells.append((w_ih, w_hh, b_ih, b_hh))
    n_states = 2 if mode == "LSTM" else 1
    if len(states) != n_states:
        raise ValueError(f"rnn: mode {mode} takes {n_states} PreState tensors. Received {len(states)}.")
    for s in states:
        if tuple(s.shape) != (n, x.shape[1], H):
            raise ValueError(f"rnn: PreState must have shape [num_layers * directions, N, hidden_size] = "
                             f"{[n, x.shape[1], H]}. Received {list(s.shape)}.")
    return mode, L, D, H, cells


def _step_mask(seq_len, x):
    if seq_len is None:
        return None
    seq_len = np.asarray(seq_len).reshape(-1)
    if seq_len.shape[0] != x.shape[1]:
        raise ValueError(f"rnn: SequenceLength must have one entry per batch element ({x.shape[1]}). "
                         f"Received shape {list(seq_len.shape)}.")
    return (np.arange(x.shape[0])[:, None] < seq_len[None, :])[:, :, None]  # [T, N, 1]


def _dropout_masks(attrs, L, shape):
    p = float(attrs["dropout_prob"])
    if attrs["is_test"] or p <= 0.0 or L < 2:
        return None
    from ..core import state
    rng = np.random.default_rng(attrs["seed"]) if attrs["seed"] else state.rng()
    return (rng.random((L - 1,) + tuple(shape)) >= p).astype(np.uint8)


def _apply_dropout(a, mask, p):
    return a * mask if p >= 1.0 else a * mask * np.asarray(1.0 / (1.0 - p), dtype=a.dtype)


# ---------------------------------------------------------------------------- whole op
def _forward(ins, attrs, drop, keep):
    mode, L, D, H, cells = _layout(ins, attrs)
    x = ins["Input"]
    mask = _step_mask(ins.get("SequenceLength"), x)
    h0 = ins["PreState"][0]
    c0 = ins["PreState"][1] if mode == "LSTM" else None
    hs, cs, layer_in, caches = [], [], [], []
    inp = x
    for layer in range(L):
        if layer and drop is not None:
            inp = _apply_dropout(inp, drop[layer - 1], float(attrs["dropout_prob"]))
        layer_in.append(inp)
        outs = []
        for d in range(D):
            k = layer * D + d
            w_ih, w_hh, b_ih, b_hh = cells[k]
            xg = inp @ w_ih.T + b_ih
            o, h, c, cache = _direction_forward(mode, xg, h0[k], None if c0 is None else c0[k],
                                                w_hh, b_hh, mask, d == 1, keep)
            outs.append(o)
            hs.append(h)
            cs.append(c)
            caches.append(cache)
        inp = outs[0] if D == 1 else np.concatenate(outs, axis=-1)
    states = [np.stack(hs)] + ([np.stack(cs)] if mode == "LSTM" else [])
    return inp, states, (mode, L, D, H, cells, mask, layer_in, caches)


@op("rnn", "Input PreState* WeightList* SequenceLength?", "Out State* Reserve~ DropoutState?",
    {"dropout_prob": ("float", 0.0), "is_bidirec": ("bool", False), "input_size": ("int", 10),
     "hidden_size": ("int", 100), "num_layers": ("int", 1), "mode": ("string", "RNN_TANH"),
     "seed": ("int", 0), "is_test": ("bool", False)},
    no_grad="SequenceLength", random=True)
def rnn(ins, attrs):
    """Multi-layer, optionally bidirectional LSTM / GRU / RNN_TANH / RNN_RELU over time-major input."""
    x = ins["Input"]
    L, D = int(attrs["num_layers"]), 2 if attrs["is_bidirec"] else 1
    drop = _dropout_masks(attrs, L, (x.shape[0], x.shape[1], D * int(attrs["hidden_size"])))
    out, states, _ = _forward(ins, attrs, drop, keep=False)
    empty = np.zeros([0], dtype=np.uint8)
    return {"Out": out, "State": states, "Reserve": empty if drop is None else drop,
            "DropoutState": np.zeros([0], dtype=np.uint8)}


@rnn.meta
def _rnn_meta(metas, attrs):
    from ..core.dtype import BY_NAME
    (xs, xd), = metas["Input"]
    D = 2 if attrs["is_bidirec"] else 1
    ws = metas.get("WeightList") or []
    H = ws[1][0][1] if len(ws) > 1 and len(ws[1][0]) == 2 else int(attrs["hidden_size"])
    u8 = BY_NAME["uint8"]
    state = [int(attrs["num_layers"]) * D, xs[1], H]   # known dims even when PreState's are not
    return {"Out": (list(xs[:2]) + [D * H], xd), "State": [(list(state), d) for _, d in metas["PreState"]],
            "Reserve": ([], u8), "DropoutState": ([], u8)}


@rnn.grad
def _rnn_grad(ctx):
    ins = {k: ctx.x(k) for k in ("Input", "PreState", "WeightList", "SequenceLength")}
    reserve = ctx.out("Reserve")
    drop = reserve if reserve is not None and reserve.size else None
    out, _, (mode, L, D, H, cells, mask, layer_in, caches) = _forward(ins, ctx.attrs, drop, keep=True)
    # a static grad op may bind State@GRAD to an empty list, or leave holes, when no gradient flows
    d_states = ctx.dout("State") if ctx.has_dout("State") else []
    d_states = [g if i < len(d_states) and g is not None else np.zeros_like(s)
                for i, (g, s) in enumerate(zip(list(d_states) + [None] * 2, ctx.x("PreState")))]
    dh_T = d_states[0]
    dc_T = d_states[1] if mode == "LSTM" else None
    n = L * D
    dws = [None] * (4 * n)
    dh0 = np.zeros_like(ins["PreState"][0])
    dc0 = np.zeros_like(dh0) if mode == "LSTM" else None
    d_inp = ctx.dout("Out")
    p = float(ctx.attrs["dropout_prob"])
    for layer in range(L - 1, -1, -1):
        inp = layer_in[layer]
        d_below = np.zeros_like(inp)
        for d in range(D):
            k = layer * D + d
            w_ih, w_hh, _, _ = cells[k]
            dxg, dh, dc, dw_hh, db_hh = _direction_backward(
                mode, caches[k], d_inp[..., d * H:(d + 1) * H], dh_T[k],
                None if dc_T is None else dc_T[k], w_hh, mask, d == 1)
            dh0[k] = dh
            if dc0 is not None:
                dc0[k] = dc
            flat = dxg.reshape(-1, dxg.shape[-1])
            dws[2 * k] = flat.T @ inp.reshape(-1, inp.shape[-1])
            dws[2 * k + 1] = dw_hh
            dws[2 * n + 2 * k] = flat.sum(axis=0)
            dws[2 * n + 2 * k + 1] = db_hh
            d_below += dxg @ w_ih
        if layer and drop is not None:
            d_below = _apply_dropout(d_below, drop[layer - 1], p)
        d_inp = d_below
    res = {}
    if ctx.needs("Input"):
        res["Input"] = d_inp
    if ctx.needs("PreState"):
        res["PreState"] = [dh0] + ([dc0] if dc0 is not None else [])
    if ctx.needs("WeightList"):
        res["WeightList"] = dws
    return res
