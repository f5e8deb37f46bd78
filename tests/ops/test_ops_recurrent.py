"""The ``rnn`` op in every mode: forward vs a float64 NumPy reference written independently of the
kernel (one sequence at a time, reverse direction by per-sequence reversal), backward vs central
differences, static vs eager; plus layout, masking, dropout and error behaviour."""
import numpy as np
import pytest

import sampan as paddle
from sampan.core.dispatch import run_op, OpError
from tests.ops.harness import OpSpec, check_forward, check_backward, check_static

GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


# ---------------------------------------------------------------------------- reference
def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def _cell(mode, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One step for one sequence (x [C], h, c [H]) written from the documented formulas."""
    H = h.shape[0]
    gx, gh = w_ih @ x + b_ih, w_hh @ h + b_hh
    if mode == "LSTM":
        g = gx + gh
        i, f, cc, o = _sig(g[:H]), _sig(g[H:2 * H]), np.tanh(g[2 * H:3 * H]), _sig(g[3 * H:])
        c2 = f * c + i * cc
        return o * np.tanh(c2), c2
    if mode == "GRU":
        r = _sig(gx[:H] + gh[:H])
        z = _sig(gx[H:2 * H] + gh[H:2 * H])
        cc = np.tanh(gx[2 * H:] + r * gh[2 * H:])
        return z * h + (1 - z) * cc, None
    a = gx + gh
    return (np.tanh(a) if mode == "RNN_TANH" else np.maximum(a, 0)), None


def ref_rnn(x, states, weights, seq_len, mode, L, D):
    """Returns (out [T, N, D*H], [h [L*D, N, H], c ...])."""
    T, N, _ = x.shape
    n = L * D
    H = weights[1].shape[1]
    lengths = [T] * N if seq_len is None else [min(int(v), T) for v in seq_len]
    h_fin = np.zeros((n, N, H))
    c_fin = np.zeros((n, N, H))
    inp = x
    for layer in range(L):
        out = np.zeros((T, N, D * H))
        for d in range(D):
            k = layer * D + d
            w = (weights[2 * k], weights[2 * k + 1], weights[2 * n + 2 * k], weights[2 * n + 2 * k + 1])
            for b in range(N):
                h = states[0][k, b]
                c = states[1][k, b] if mode == "LSTM" else None
                steps = range(lengths[b]) if d == 0 else range(lengths[b] - 1, -1, -1)
                for t in steps:
                    h, c = _cell(mode, inp[t, b], h, c, *w)
                    out[t, b, d * H:(d + 1) * H] = h
                h_fin[k, b] = h
                if c is not None:
                    c_fin[k, b] = c
        inp = out
    return inp, [h_fin] + ([c_fin] if mode == "LSTM" else [])


# ---------------------------------------------------------------------------- specs
def _spec(mode, L=1, D=1, T=3, N=2, C=2, H=3, seq_len=None, pick=0, **tol):
    G, n = GATES[mode], L * D
    ns = 2 if mode == "LSTM" else 1
    shapes = [(T, N, C)] + [(n, N, H)] * ns
    for layer in range(L):
        for _ in range(D):
            shapes += [(G * H, C if layer == 0 else D * H), (G * H, H)]
    shapes += [(G * H,)] * (2 * n)
    inputs = list(shapes)
    if seq_len is not None:
        inputs.append(lambda rng, s=seq_len: np.array(s, dtype=np.int64))
    attrs = {"mode": mode, "num_layers": L, "is_bidirec": D == 2, "hidden_size": H, "input_size": C}

    def fn(x, *rest):
        sl = rest[-1] if seq_len is not None else None
        ins = {"Input": x, "PreState": list(rest[:ns]), "WeightList": list(rest[ns:ns + 4 * n]),
               "SequenceLength": sl}
        res = run_op("rnn", ins, attrs)
        return (res["Out"], *res["State"])

    def ref(x, *rest):
        sl = rest[-1] if seq_len is not None else None
        out, states = ref_rnn(x, rest[:ns], rest[ns:ns + 4 * n], sl, mode, L, D)
        return (out, *states)[pick]

    name = f"rnn_{mode}_L{L}_D{D}" + ("_seqlen" if seq_len is not None else "") + f"_out{pick}"
    return OpSpec(name, fn, ref, inputs, pick=pick, **tol)


SPECS = []
for _mode in GATES:
    SPECS += [
        _spec(_mode),
        _spec(_mode, pick=1),
        _spec(_mode, L=2, D=2),
        _spec(_mode, L=2, D=1, seq_len=[3, 1], pick=1),
        _spec(_mode, L=2, D=2, seq_len=[2, 3]),
    ]
SPECS += [_spec("LSTM", pick=2), _spec("LSTM", L=2, D=2, seq_len=[3, 2], pick=2)]


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_forward(spec):
    check_forward(spec)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_backward(spec):
    check_backward(spec)


@pytest.mark.parametrize("spec", [s for s in SPECS if "L2_D2" in s.name], ids=repr)
def test_static(spec):
    check_static(spec)


# ---------------------------------------------------------------------------- behaviour
def _arrays(mode="LSTM", L=1, D=1, T=4, N=3, C=2, H=3, seed=0):
    rng = np.random.default_rng(seed)
    G, n = GATES[mode], L * D
    x = rng.uniform(-1, 1, (T, N, C)).astype(np.float32)
    states = [rng.uniform(-1, 1, (n, N, H)).astype(np.float32) for _ in range(2 if mode == "LSTM" else 1)]
    ws, bs = [], []
    for layer in range(L):
        for _ in range(D):
            ws += [rng.uniform(-.5, .5, (G * H, C if layer == 0 else D * H)).astype(np.float32),
                   rng.uniform(-.5, .5, (G * H, H)).astype(np.float32)]
            bs += [rng.uniform(-.5, .5, (G * H,)).astype(np.float32) for _ in range(2)]
    attrs = {"mode": mode, "num_layers": L, "is_bidirec": D == 2, "hidden_size": H, "input_size": C}
    return x, states, ws + bs, attrs


def _run(x, states, weights, attrs, seq_len=None):
    t = paddle.to_tensor
    return run_op("rnn", {"Input": t(x), "PreState": [t(s) for s in states], "WeightList": [t(w) for w in weights],
                          "SequenceLength": None if seq_len is None else t(np.asarray(seq_len))}, attrs)


def test_padded_steps_output_zero_and_keep_state():
    x, states, ws, attrs = _arrays("GRU", N=2)
    res = _run(x, states, ws, attrs, seq_len=[4, 2])
    out, h = res["Out"].numpy(), res["State"][0].numpy()
    assert np.all(out[2:, 1] == 0)
    np.testing.assert_allclose(h[0, 1], out[1, 1], rtol=1e-6)
    # the full-length element is unaffected by the other's padding
    full = _run(x[:, :1], [s[:, :1] for s in states], ws, attrs)["Out"].numpy()
    np.testing.assert_allclose(out[:, 0], full[:, 0], rtol=1e-6)


def test_reverse_direction_starts_at_last_valid_step():
    x, states, ws, attrs = _arrays("LSTM", D=2, N=1)
    padded = _run(x, states, ws, attrs, seq_len=[2])["Out"].numpy()
    short = _run(x[:2], states, ws, attrs)["Out"].numpy()
    np.testing.assert_allclose(padded[:2], short, rtol=1e-6, atol=1e-7)


def test_float32_stays_float32_and_meta_shapes():
    x, states, ws, attrs = _arrays("LSTM", L=2, D=2)
    res = _run(x, states, ws, attrs)
    assert res["Out"].dtype == paddle.float32 and res["Out"].shape == [4, 3, 6]
    assert [s.shape for s in res["State"]] == [[4, 3, 3], [4, 3, 3]]


def test_dropout_between_layers_is_inverted_and_differentiable():
    x, states, ws, attrs = _arrays("RNN_TANH", L=2)
    attrs = dict(attrs, dropout_prob=0.5, seed=3)
    ts = [paddle.to_tensor(w.astype(np.float64), stop_gradient=False) for w in ws]
    res = run_op("rnn", {"Input": paddle.to_tensor(x.astype(np.float64)),
                         "PreState": [paddle.to_tensor(s.astype(np.float64)) for s in states],
                         "WeightList": ts}, attrs)
    mask = res["Reserve"].numpy()
    assert mask.shape == (1, 4, 3, 3) and set(np.unique(mask)) <= {0, 1}
    # rerunning with the same seed gives the same masks: the forward is reproducible
    again = run_op("rnn", {"Input": paddle.to_tensor(x.astype(np.float64)),
                           "PreState": [paddle.to_tensor(s.astype(np.float64)) for s in states],
                           "WeightList": [paddle.to_tensor(w.astype(np.float64)) for w in ws]}, attrs)
    np.testing.assert_array_equal(again["Out"].numpy(), res["Out"].numpy())
    # the backward uses the forward's masks: compare with central differences on one weight
    res["Out"].sum().backward()
    w = ws[4].astype(np.float64)   # layer 1 w_ih: sees the dropped inputs

    def f(wv):
        arrs = [a.astype(np.float64) for a in ws]
        arrs[4] = wv
        r = run_op("rnn", {"Input": paddle.to_tensor(x.astype(np.float64)),
                           "PreState": [paddle.to_tensor(s.astype(np.float64)) for s in states],
                           "WeightList": [paddle.to_tensor(a) for a in arrs]}, attrs)
        return r["Out"].numpy().sum()
    num = np.zeros_like(w)
    for idx in np.ndindex(*w.shape):
        e = np.zeros_like(w)
        e[idx] = 1e-6
        num[idx] = (f(w + e) - f(w - e)) / 2e-6
    np.testing.assert_allclose(ts[4].grad.numpy(), num, rtol=1e-5, atol=1e-8)


def test_is_test_disables_dropout():
    x, states, ws, attrs = _arrays("GRU", L=3)
    a = _run(x, states, ws, dict(attrs, dropout_prob=0.7, is_test=True))
    b = _run(x, states, ws, attrs)
    np.testing.assert_array_equal(a["Out"].numpy(), b["Out"].numpy())
    assert a["Reserve"].numpy().size == 0


def test_wrong_weight_count_names_op():
    x, states, ws, attrs = _arrays("LSTM")
    with pytest.raises((OpError, ValueError), match="rnn.*WeightList"):
        _run(x, states, ws[:3], attrs)


def test_wrong_weight_shape_names_layer_and_shapes():
    x, states, ws, attrs = _arrays("GRU")
    ws[1] = np.zeros((9, 4), np.float32)
    with pytest.raises((OpError, ValueError), match=r"w_hh of layer 0 direction 0 must have shape \[9, 3\]"):
        _run(x, states, ws, attrs)


def test_wrong_state_count():
    x, states, ws, attrs = _arrays("LSTM")
    with pytest.raises((OpError, ValueError), match="PreState"):
        _run(x, states[:1], ws, attrs)


def test_attribute_defaults_are_paddles():
    from sampan.ops.registry import get_op
    d = get_op("rnn").defaults
    assert d == {"dropout_prob": 0.0, "is_bidirec": False, "input_size": 10, "hidden_size": 100,
                 "num_layers": 1, "mode": "RNN_TANH", "seed": 0, "is_test": False}
