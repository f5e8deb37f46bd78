"""Recurrent layers against real Paddle 2.6.2 (reference data from
``tests/fixtures/generated/make_reference.py``): state_dict keys and parameter names, outputs,
final states and the gradients of ``sum(out * w_out) + sum(h * w_h) [+ sum(c * w_c)]`` w.r.t. the
input, the initial states and every parameter; plus the program a recurrent layer builds and the
agreement of the cell-based wrappers with the fused networks."""
import json
import os

import numpy as np
import pytest

import sampan as paddle
from sampan.core import unique_name

REF = os.path.join(os.path.dirname(__file__), "..", "fixtures", "generated", "rnn_reference.npz")
DATA = np.load(REF)
CASES = sorted({k.split("/")[0] for k in DATA.files})


def _meta(case):
    return json.loads(str(DATA[f"{case}/meta"]))


def _build(case):
    m = _meta(case)
    with unique_name.guard():
        layer = getattr(paddle.nn, m["class"])(**m["ctor"])
    by_name = {}
    for key, name, _ in m["state_dict"]:
        if f"{case}/param/{key}" in DATA.files:
            by_name[name] = DATA[f"{case}/param/{key}"]
    missing, unexpected = layer.set_state_dict({key: by_name[name] for key, name, _ in m["state_dict"]})
    assert missing == [] and unexpected == []
    return layer, m


def _has(case, what):
    return f"{case}/{what}" in DATA.files


@pytest.mark.parametrize("case", CASES)
def test_state_dict_keys_names_and_shapes_match_paddle(case):
    layer, m = _build(case)
    got = [[k, v.name, list(v.shape)] for k, v in layer.state_dict().items()]
    assert got == m["state_dict"]
    # the duplicate keys are the same tensors
    sd = layer.state_dict()
    assert len({id(v) for v in sd.values()}) == len(layer.parameters())


@pytest.mark.parametrize("case", CASES)
def test_outputs_states_and_gradients_match_paddle(case):
    layer, m = _build(case)
    x = paddle.to_tensor(DATA[f"{case}/x"], stop_gradient=False)
    kwargs, init = {}, []
    for s in ("h0", "c0"):
        if _has(case, s):
            init.append(paddle.to_tensor(DATA[f"{case}/{s}"], stop_gradient=False))
    if init:
        kwargs["initial_states"] = tuple(init) if m["class"] == "LSTM" else init[0]
    if _has(case, "seq_len"):
        kwargs["sequence_length"] = paddle.to_tensor(DATA[f"{case}/seq_len"])
    out, states = layer(x, **kwargs)
    hs = states if m["class"] == "LSTM" else (states,)
    np.testing.assert_allclose(out.numpy(), DATA[f"{case}/out"], rtol=1e-5, atol=1e-6)
    loss = (out * paddle.to_tensor(DATA[f"{case}/w_out"])).sum()
    for s, t in zip(("h", "c"), hs):
        np.testing.assert_allclose(t.numpy(), DATA[f"{case}/{s}"], rtol=1e-5, atol=1e-6, err_msg=s)
        loss = loss + (t * paddle.to_tensor(DATA[f"{case}/w_{s}"])).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), DATA[f"{case}/grad/x"], rtol=1e-4, atol=1e-5)
    for s, t in zip(("h0", "c0"), init):
        np.testing.assert_allclose(t.grad.numpy(), DATA[f"{case}/grad/{s}"], rtol=1e-4, atol=1e-5, err_msg=s)
    sd = layer.state_dict()
    n_checked = 0
    for key in sd:
        if _has(case, f"grad/{key}"):
            np.testing.assert_allclose(sd[key].grad.numpy(), DATA[f"{case}/grad/{key}"], rtol=1e-4, atol=1e-5,
                                       err_msg=key)
            n_checked += 1
    assert n_checked == len(layer.parameters())


def test_paddle_parameter_names_for_default_construction():
    with unique_name.guard():
        lstm = paddle.nn.LSTM(3, 4, num_layers=2, direction="bidirectional")
        gru = paddle.nn.GRU(3, 4)
    assert lstm.weight_hh_l1_reverse.name == "lstm_cell_3.w_1"
    assert lstm[0].cell_bw.bias_ih.name == "lstm_cell_1.b_0"
    assert gru.weight_ih_l0.name == "gru_cell_0.w_0"
    assert lstm.full_name() == "lstm_0" and gru.full_name() == "gru_0"
    # WeightList order: all weights (layer, direction, ih/hh), then all biases
    assert [p.name for p in lstm._all_weights] == [
        "lstm_cell_0.w_0", "lstm_cell_0.w_1", "lstm_cell_1.w_0", "lstm_cell_1.w_1",
        "lstm_cell_2.w_0", "lstm_cell_2.w_1", "lstm_cell_3.w_0", "lstm_cell_3.w_1",
        "lstm_cell_0.b_0", "lstm_cell_0.b_1", "lstm_cell_1.b_0", "lstm_cell_1.b_1",
        "lstm_cell_2.b_0", "lstm_cell_2.b_1", "lstm_cell_3.b_0", "lstm_cell_3.b_1"]


def test_default_init_is_uniform_one_over_sqrt_hidden():
    paddle.seed(1)
    gru = paddle.nn.GRU(8, 16)
    for p in gru.parameters():
        a = p.numpy()
        assert np.abs(a).max() <= 0.25 and a.std() > 0.1


def test_static_program_has_one_rnn_op_like_paddle():
    main, startup = paddle.static.Program(), paddle.static.Program()
    paddle.enable_static()
    try:
        with paddle.static.program_guard(main, startup), unique_name.guard():
            x = paddle.static.data("x", [-1, 5, 3], "float32")
            lstm = paddle.nn.LSTM(3, 4, num_layers=2, direction="bidirect")
            out, (h, c) = lstm(x)
    finally:
        paddle.disable_static()
    ops = [op for op in main.global_block().ops if op.type == "rnn"]
    assert len(ops) == 1
    op = ops[0]
    assert op.attrs["mode"] == "LSTM" and op.attrs["num_layers"] == 2 and op.attrs["is_bidirec"] is True
    assert op.attrs["hidden_size"] == 4 and op.attrs["input_size"] == 3 and op.attrs["is_test"] is False
    assert op.inputs["WeightList"][:2] == ["lstm_cell_0.w_0", "lstm_cell_0.w_1"]
    assert op.inputs["WeightList"][8] == "lstm_cell_0.b_0"
    assert len(op.inputs["PreState"]) == 2 and len(op.outputs["State"]) == 2
    assert list(out.shape) == [-1, 5, 8] and list(h.shape) == [4, -1, 4]


def _copy_cells(dst_cells, src_cells):
    for d, s in zip(dst_cells, src_cells):
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(d, n).set_value(getattr(s, n).numpy())


def test_rnn_wrapper_fused_and_loop_agree_with_network():
    paddle.seed(3)
    lstm = paddle.nn.LSTM(3, 4)
    cell = paddle.nn.LSTMCell(3, 4)
    _copy_cells([cell], [lstm[0].cell])
    x = paddle.randn((2, 5, 3))
    want, (h, c) = lstm(x)
    got, (gh, gc) = paddle.nn.RNN(cell)(x)            # fused path
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gc.numpy(), c.numpy()[0], rtol=1e-5, atol=1e-6)
    sl = paddle.to_tensor(np.array([5, 5]))
    loop, (lh, lc) = paddle.nn.RNN(cell)(x, sequence_length=sl)   # time loop over the cell
    np.testing.assert_allclose(loop.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lh.numpy(), h.numpy()[0], rtol=1e-5, atol=1e-6)


def test_birnn_with_sequence_length_matches_network_states():
    paddle.seed(4)
    gru = paddle.nn.GRU(3, 4, direction="bidirect", time_major=True)
    fw, bw = paddle.nn.GRUCell(3, 4), paddle.nn.GRUCell(3, 4)
    _copy_cells([fw, bw], [gru[0].cell_fw, gru[0].cell_bw])
    x = paddle.randn((5, 2, 3))
    sl = paddle.to_tensor(np.array([5, 2]))
    want, h = gru(x, sequence_length=sl)
    got, (h_fw, h_bw) = paddle.nn.BiRNN(fw, bw, time_major=True)(x, sequence_length=sl)
    np.testing.assert_allclose(h_fw.numpy(), h.numpy()[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_bw.numpy(), h.numpy()[1], rtol=1e-5, atol=1e-6)
    # the rnn op zeroes padded outputs; the cell loop leaves the raw step outputs there
    np.testing.assert_allclose(got.numpy()[:2, 1], want.numpy()[:2, 1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.numpy()[:, 0], want.numpy()[:, 0], rtol=1e-5, atol=1e-6)
    assert np.all(want.numpy()[2:, 1] == 0)


def test_cells_match_a_one_step_network():
    paddle.seed(5)
    for net_cls, cell_cls in ((paddle.nn.SimpleRNN, paddle.nn.SimpleRNNCell), (paddle.nn.GRU, paddle.nn.GRUCell),
                              (paddle.nn.LSTM, paddle.nn.LSTMCell)):
        net, cell = net_cls(3, 4), cell_cls(3, 4)
        _copy_cells([cell], [net[0].cell])
        x = paddle.randn((2, 3))
        y, _ = cell(x)
        want, _ = net(x.unsqueeze(1))
        np.testing.assert_allclose(y.numpy(), want.numpy()[:, 0], rtol=1e-5, atol=1e-6, err_msg=net_cls.__name__)


def test_simple_rnn_relu_and_bad_arguments():
    rnn = paddle.nn.SimpleRNN(3, 4, activation="relu")
    y, h = rnn(paddle.randn((2, 5, 3)))
    assert (y.numpy() >= 0).all()
    with pytest.raises(ValueError, match="direction"):
        paddle.nn.LSTM(3, 4, direction="both")
    with pytest.raises(ValueError, match="initial_states"):
        paddle.nn.LSTM(3, 4)(paddle.randn((2, 5, 3)), paddle.zeros((1, 2, 4)))


def test_dropout_only_in_training():
    paddle.seed(6)
    lstm = paddle.nn.LSTM(3, 4, num_layers=3, dropout=0.5)
    x = paddle.randn((2, 5, 3))
    lstm.eval()
    a, _ = lstm(x)
    b, _ = lstm(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    lstm.train()
    c, _ = lstm(x)
    assert not np.allclose(a.numpy(), c.numpy())


MODELS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "generated", "paddle_models")


@pytest.mark.parametrize("name", ["lstm2_bidirect", "gru_bidirect_seq_len"])
def test_paddle_exported_recurrent_program_runs(name):
    """Programs jit.saved by Paddle 2.6.2 (one rnn op) give Paddle's outputs, eagerly and in the Executor."""
    prefix = os.path.join(MODELS, name)
    io = np.load(prefix + "_io.npz")
    feeds = [io["x"]] + ([io["seq_len"]] if "seq_len" in io.files else [])
    want = [io[k] for k in sorted(k for k in io.files if k.startswith("out"))]
    layer = paddle.jit.load(prefix)
    got = layer(*[paddle.to_tensor(a) for a in feeds])
    got = got if isinstance(got, (list, tuple)) else [got]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-5, atol=1e-6)
    paddle.enable_static()
    try:
        exe = paddle.static.Executor(paddle.CPUPlace())
        prog, feed_names, fetches = paddle.static.load_inference_model(prefix, exe)
        assert [op.type for op in prog.global_block().ops].count("rnn") == 1
        outs = exe.run(prog, feed=dict(zip(feed_names, feeds)), fetch_list=fetches)
    finally:
        paddle.disable_static()
    for g, w in zip(outs, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_static_backward_equals_eager():
    """append_backward through the rnn op (its derived rnn_grad) gives the eager gradients,
    also when only the final state is used (no gradient reaches Out)."""
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype("float32")
    with unique_name.guard():
        paddle.seed(1)
        net = paddle.nn.GRU(3, 4, num_layers=2, direction="bidirect")
        _, h = net(paddle.to_tensor(x))
        h.sum().backward()
        eager = {p.name: p.grad.numpy() for p in net.parameters()}
        init = {p.name: p.numpy() for p in net.parameters()}
    main, startup = paddle.static.Program(), paddle.static.Program()
    paddle.enable_static()
    try:
        with paddle.static.program_guard(main, startup), unique_name.guard():
            xv = paddle.static.data("x", [-1, 5, 3], "float32")
            _, hv = paddle.nn.GRU(3, 4, num_layers=2, direction="bidirect")(xv)
            grads = paddle.static.append_backward(hv.sum())
        exe = paddle.static.Executor(paddle.CPUPlace())
        exe.run(startup)
        scope = paddle.static.global_scope()
        for name, value in init.items():
            scope.var(name).get_tensor().set(value, paddle.CPUPlace())
        outs = exe.run(main, feed={"x": x}, fetch_list=[g for _, g in grads])
    finally:
        paddle.disable_static()
    assert len(grads) == len(eager)
    for (p, _), got in zip(grads, outs):
        np.testing.assert_allclose(got, eager[p.name], rtol=1e-5, atol=1e-6, err_msg=p.name)


@pytest.mark.parametrize("make", [lambda: paddle.nn.LSTM(3, 4, num_layers=2, direction="bidirect"),
                                  lambda: paddle.nn.GRU(3, 4, time_major=True),
                                  lambda: paddle.nn.SimpleRNN(3, 4, activation="relu")],
                         ids=["lstm2_bidirect", "gru_time_major", "simple_rnn_relu"])
def test_persistence_round_trips(make, tmp_path):
    """state_dict through paddle.save/load (duplicate keys included), jit.save/load with equal
    outputs, and one SGD fine-tune step on the loaded layer equal to the same step eagerly."""
    paddle.seed(8)
    net = make()
    net.eval()
    x = paddle.randn((5, 2, 3) if net.time_major else (2, 5, 3))
    want, _ = net(x)
    paddle.save(net.state_dict(), str(tmp_path / "m.pdparams"))
    loaded = paddle.load(str(tmp_path / "m.pdparams"))
    assert list(loaded) == list(net.state_dict())
    other = make()
    other.eval()
    assert other.set_state_dict(loaded) == ([], [])
    np.testing.assert_array_equal(other(x)[0].numpy(), want.numpy())

    spec = [paddle.static.InputSpec([5, None, 3] if net.time_major else [None, 5, 3], "float32")]
    paddle.jit.save(net, str(tmp_path / "jit"), input_spec=spec)
    tl = paddle.jit.load(str(tmp_path / "jit"))
    got = tl(x)
    got = got[0] if isinstance(got, (list, tuple)) else got
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)

    # one fine-tune step: loaded layer vs the original, same data, same SGD
    for layer in (net, tl):
        layer.train()
        out = layer(x)
        out = out[0] if isinstance(out, (list, tuple)) else out
        (out * out).mean().backward()
        opt = paddle.optimizer.SGD(learning_rate=0.1, parameters=layer.parameters())
        opt.step()
        opt.clear_grad()
    assert len(tl.parameters()) == len(net.parameters())   # the loaded layer renames them, as Paddle
    net.eval()
    tl.eval()
    after, moved = net(x)[0].numpy(), tl(x)
    moved = (moved[0] if isinstance(moved, (list, tuple)) else moved).numpy()
    assert not np.allclose(after, want.numpy())
    np.testing.assert_allclose(moved, after, rtol=1e-5, atol=1e-6)
