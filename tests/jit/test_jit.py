"""jit: to_static tracing/training, jit.save file sets, jit.load -> TranslatedLayer (issue 6)."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import sampan as paddle
import sampan.nn as nn
from sampan.static import InputSpec


class LinearNet(nn.Layer):
    def __init__(self, n_in=8, n_out=3):
        super().__init__()
        self._linear = nn.Linear(n_in, n_out)

    def forward(self, x):
        return self._linear(x)


class StaticNet(LinearNet):
    @paddle.jit.to_static
    def forward(self, x):
        return self._linear(x)


def _data(n=4, d=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32), rng.integers(0, 3, (n, 1))


def test_to_static_trains_like_dygraph():
    x, y = _data()
    with paddle.utils.unique_name.guard():
        a = LinearNet()
    with paddle.utils.unique_name.guard():
        b = StaticNet()
    b.set_state_dict(a.state_dict())
    oa = paddle.optimizer.Adam(learning_rate=0.01, parameters=a.parameters())
    ob = paddle.optimizer.Adam(learning_rate=0.01, parameters=b.parameters())
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(3):
        for net, opt in ((a, oa), (b, ob)):
            loss = loss_fn(net(paddle.to_tensor(x)), paddle.to_tensor(y))
            loss.backward()
            opt.step()
            opt.clear_grad()
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb
        np.testing.assert_allclose(va.numpy(), vb.numpy(), rtol=1e-6, atol=1e-7)
    assert not np.allclose(a._linear.weight.numpy(), 0)


def test_to_static_caches_per_signature_and_mode():
    net = StaticNet()
    net(paddle.to_tensor(_data(4)[0]))
    net(paddle.to_tensor(_data(4, seed=1)[0]))
    net(paddle.to_tensor(_data(5)[0]))
    net.eval()
    net(paddle.to_tensor(_data(5)[0]))
    assert len(net.forward._cache) == 3
    assert net.forward.concrete_program.main_program.global_block().ops


def test_tensor_dependent_control_flow_names_file_and_line():
    @paddle.jit.to_static(input_spec=[InputSpec([None, 3], "float32")])
    def f(x):
        if x.sum() > 0:
            return x * 2
        return x

    with pytest.raises(TypeError, match=r"test_jit\.py, line \d+.*not supported"):
        f(paddle.ones([2, 3]))


def test_jit_save_files_and_reload(tmp_path):
    net = LinearNet()
    net.eval()
    path = str(tmp_path / "example.model" / "linear")
    paddle.jit.save(net, path, input_spec=[InputSpec(shape=[None, 8], dtype="float32")])
    assert sorted(os.listdir(tmp_path / "example.model")) == [
        "linear.pdiparams", "linear.pdiparams.info", "linear.pdmodel"]
    loaded = paddle.jit.load(path)
    assert isinstance(loaded, paddle.jit.TranslatedLayer) and isinstance(loaded, nn.Layer)
    loaded.eval()
    for n in (1, 16):
        x = paddle.to_tensor(_data(n)[0])
        np.testing.assert_allclose(loaded(x).numpy(), net(x).numpy(), rtol=1e-6, atol=1e-7)
    live = {p.name for p in net.parameters()}
    assert not live & {p.name for p in loaded.parameters()}, "loaded parameters must not clash with live names"
    assert sorted(loaded.state_dict()) == ["_linear.bias", "_linear.weight"]
    prog = loaded.program()
    assert [o.type for o in prog.global_block().ops] == ["feed", "matmul_v2", "elementwise_add", "fetch"]


def test_multi_method_writes_the_guides_five_files(tmp_path):
    class Two(nn.Layer):
        def __init__(self):
            super().__init__()
            self._linear = nn.Linear(8, 3)
            self._linear_2 = nn.Linear(8, 3)

        @paddle.jit.to_static(input_spec=[InputSpec(shape=[None, 8], dtype="float32")])
        def forward(self, x):
            return self._linear(x)

        @paddle.jit.to_static(input_spec=[InputSpec(shape=[None, 8], dtype="float32")])
        def another_forward(self, x):
            return self._linear_2(x)

    layer = Two()
    x = paddle.randn([1, 8])
    b0, b1 = layer.another_forward(x), layer(x)
    path = str(tmp_path / "example.model" / "linear")
    paddle.jit.save(layer, path)
    assert sorted(os.listdir(tmp_path / "example.model")) == sorted([
        "linear.another_forward.pdiparams", "linear.pdiparams", "linear.pdmodel",
        "linear.another_forward.pdmodel", "linear.pdiparams.info"])
    loaded = paddle.jit.load(path)
    np.testing.assert_allclose(loaded(x).numpy(), b1.numpy(), rtol=1e-6)
    np.testing.assert_allclose(loaded.another_forward(x).numpy(), b0.numpy(), rtol=1e-6)


def test_jit_save_plain_function_writes_only_pdmodel(tmp_path):
    def fun(inputs):
        return paddle.tanh(inputs)

    path = str(tmp_path / "func" / "model")
    paddle.jit.save(fun, path, input_spec=[InputSpec(shape=[None, 6], dtype="float32", name="x")])
    assert os.listdir(tmp_path / "func") == ["model.pdmodel"]
    f = paddle.jit.load(path)
    x = paddle.rand([3, 6])
    np.testing.assert_allclose(f(x).numpy(), np.tanh(x.numpy()), rtol=1e-6)


def test_example_tensor_input_spec_and_input_names(tmp_path):
    net = LinearNet()
    x = paddle.to_tensor(_data(16)[0])
    path = str(tmp_path / "m")
    paddle.jit.save(net, path, input_spec=[x])
    prog = paddle.jit.load(path).program()
    feed = [o for o in prog.global_block().ops if o.type == "feed"]
    assert feed[0].outputs["Out"] == ["x"]


def test_paddle_load_prefix_restores_fresh_layer(tmp_path):
    net = LinearNet()
    path = str(tmp_path / "m")
    paddle.jit.save(net, path, input_spec=[InputSpec([None, 8], "float32")])
    sd = paddle.load(path)
    assert sorted(sd) == sorted(p.name for p in net.parameters())
    with paddle.utils.unique_name.guard():   # a fresh process would name it linear_0 again
        fresh = LinearNet()
    fresh.set_state_dict(sd, use_structured_name=False)
    x = paddle.to_tensor(_data()[0])
    np.testing.assert_array_equal(fresh(x).numpy(), net(x).numpy())
    sd2 = paddle.load(path, structured_name=True)
    assert sorted(sd2) == ["_linear.bias", "_linear.weight"]


def test_fine_tune_loaded_layer_and_resave(tmp_path):
    net = LinearNet()
    path = str(tmp_path / "m")
    paddle.jit.save(net, path, input_spec=[InputSpec([None, 8], "float32")])
    loaded = paddle.jit.load(path)
    loaded.train()
    x, y = _data(16)
    opt_l = paddle.optimizer.Adam(learning_rate=0.01, parameters=loaded.parameters())
    opt_n = paddle.optimizer.Adam(learning_rate=0.01, parameters=net.parameters())
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for step in range(5):
        for layer, opt in ((loaded, opt_l), (net, opt_n)):
            loss = loss_fn(layer(paddle.to_tensor(x)), paddle.to_tensor(y))
            loss.backward()
            opt.step()
            opt.clear_grad()
            if layer is loaded:
                losses.append(float(loss))
        if step == 0:  # one fine-tune step on the loaded layer == one step on the original
            for p_l, (_k, p_n) in zip(sorted(loaded.parameters(), key=lambda p: p.shape), sorted(
                    net.state_dict().items(), key=lambda kv: kv[1].shape)):
                np.testing.assert_allclose(p_l.numpy(), p_n.numpy(), rtol=1e-6, atol=1e-7)
    assert losses[-1] < losses[0]
    out2 = str(tmp_path / "fine-tune.model" / "linear")
    paddle.jit.save(loaded, out2, input_spec=[paddle.to_tensor(x)])
    again = paddle.jit.load(out2)
    again.eval()
    loaded.eval()
    np.testing.assert_allclose(again(paddle.to_tensor(x)).numpy(), loaded(paddle.to_tensor(x)).numpy(), rtol=1e-6)


def test_jit_load_missing_prefix_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model at prefix"):
        paddle.jit.load(str(tmp_path / "nope" / "model"))


def test_jit_save_rejects_bad_input_spec(tmp_path):
    with pytest.raises(TypeError, match="input_spec must be a list"):
        paddle.jit.save(LinearNet(), str(tmp_path / "m"), input_spec={"x": 1})
    with pytest.raises(ValueError, match="unknown config"):
        paddle.jit.save(LinearNet(), str(tmp_path / "m"), input_spec=[InputSpec([None, 8])], bogus=1)


def test_loaded_in_new_process_reproduces_and_keeps_names(tmp_path):
    net = LinearNet()
    path = str(tmp_path / "m")
    paddle.jit.save(net, path, input_spec=[InputSpec([None, 8], "float32")])
    x = _data()[0]
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", net(paddle.to_tensor(x)).numpy())
    code = textwrap.dedent(f"""
        import numpy as np, sampan as paddle
        m = paddle.jit.load({path!r}); m.eval()
        np.testing.assert_allclose(m(paddle.to_tensor(np.load({str(tmp_path / 'x.npy')!r}))).numpy(),
                                   np.load({str(tmp_path / 'y.npy')!r}), rtol=1e-6)
        print(sorted(p.name for p in m.parameters()))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(sorted(p.name for p in net.parameters()))


class TwoOut(nn.Layer):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        y = self.fc(x)
        return y, paddle.nn.functional.softmax(y)


def test_jit_save_configs(tmp_path):
    net = TwoOut()
    spec = [InputSpec([None, 8], "float32", "x")]
    x = paddle.to_tensor(_data()[0])
    # output_spec keeps only the named outputs (here: the first, given as an example Tensor)
    y, _ = net(x)
    paddle.jit.save(net, str(tmp_path / "one"), input_spec=spec, output_spec=[y])
    one = paddle.jit.load(str(tmp_path / "one"))
    one.eval()
    np.testing.assert_allclose(one(x).numpy(), y.numpy(), rtol=1e-6)
    # without it both outputs are saved
    paddle.jit.save(net, str(tmp_path / "two"), input_spec=spec)
    two = paddle.jit.load(str(tmp_path / "two"))
    two.eval()
    assert len(two(x)) == 2
    # clip_extra is accepted; separate files are refused clearly
    paddle.jit.save(net, str(tmp_path / "c"), input_spec=spec, clip_extra=True)
    with pytest.raises(NotImplementedError, match="separate"):
        paddle.jit.save(net, str(tmp_path / "s"), input_spec=spec, separate_parameters=True)
    with pytest.raises(NotImplementedError, match="separate"):
        paddle.jit.save(net, str(tmp_path / "s"), input_spec=spec, combine_params=False)


def test_skip_forward_saves_only_other_methods(tmp_path):
    class M(nn.Layer):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        @paddle.jit.to_static(input_spec=[InputSpec([None, 4], "float32")])
        def forward(self, x):
            return self.fc(x)

        @paddle.jit.to_static(input_spec=[InputSpec([None, 4], "float32")])
        def double(self, x):
            return self.fc(x) * 2

    m = M()
    paddle.jit.save(m, str(tmp_path / "m"), skip_forward=True)
    assert sorted(os.listdir(tmp_path)) == ["m.double.pdiparams", "m.double.pdmodel", "m.pdiparams.info"]
    loaded = paddle.jit.load(str(tmp_path / "m"))
    x = paddle.ones([3, 4])
    np.testing.assert_allclose(loaded.double(x).numpy(), m.double(x).numpy(), rtol=1e-6)
