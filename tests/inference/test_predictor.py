"""``sampan.inference``: Config / create_predictor / Predictor / Tensor handles.

* Every real Paddle export under ``tests/fixtures/paddle`` (2.6.2, 3.3.1 legacy ``.pdmodel`` and
  3.3.1 PIR ``.json``; linear, mlp, cnn, transformer; ``jit`` and ``static``) and the
  multi-input / multi-output / one-file-per-variable exports under ``tests/fixtures/interop``
  reproduce Paddle's stored outputs through the predictor, with the inference passes on and off.
* Models exported by sampan (``jit.save``, ``static.save_inference_model``) give what ``jit.load``
  and the Executor give.
* Names, handles, ``run(list)``, ``clone``, per-predictor scopes, and the error messages.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import sampan
from sampan import inference, nn
from sampan.static import InputSpec
from tests.fixture_cases import interop_manifests, paddle_exports

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(os.path.dirname(HERE), "fixtures")
RTOL, ATOL = 1e-5, 1e-6


# ----------------------------------------------------------------------------- fixture cases
PADDLE_CASES = [pytest.param(d, inp, exp, id=f"{flavour}/{model}/{kind}")
                for flavour, model, kind, d, inp, exp in paddle_exports()]
INTEROP_CASES = [pytest.param(d, man, kind, e, id=f"{man['flavour']}/{man['model']}/{kind}")
                 for d, man in interop_manifests() for kind, e in sorted(man["exports"].items())]


def _model_file(d):
    files = [f for f in os.listdir(d) if f.endswith((".pdmodel", ".json"))]
    assert len(files) == 1, files
    return os.path.join(d, files[0])


def _predict(pred, xs):
    for name, x in zip(pred.get_input_names(), xs):
        pred.get_input_handle(name).copy_from_cpu(x)
    assert pred.run() is None
    return [pred.get_output_handle(n).copy_to_cpu() for n in pred.get_output_names()]


def _check(got, want, what):
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, expected {want.dtype}"
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=what)


def test_fixture_inventory():
    ids = {p.id for p in PADDLE_CASES}
    for fl in ("2.6.2", "3.3.1-legacy", "3.3.1-pir"):
        for model in ("linear", "mlp", "cnn"):
            for kind in ("jit", "static"):
                assert f"{fl}/{model}/{kind}" in ids
    assert {"2.6.2/transformer/jit", "3.3.1-pir/transformer/static"} <= ids
    assert sum(1 for p in PADDLE_CASES if p.id.startswith("3.3.1-pir")) == 8     # the .json programs
    assert len(INTEROP_CASES) >= 40


@pytest.mark.parametrize("ir_optim", [True, False], ids=["ir_optim", "no_ir_optim"])
@pytest.mark.parametrize("d, inp, exp", PADDLE_CASES)
def test_paddle_exports_reproduce_paddle(d, inp, exp, ir_optim):
    mf = _model_file(d)
    assert mf.endswith(".json") == ("3.3.1-pir" in d)
    config = inference.Config(mf, os.path.join(d, "model.pdiparams"))
    config.switch_ir_optim(ir_optim)
    pred = inference.create_predictor(config)
    assert pred.get_input_names() == ["x"]
    got, = _predict(pred, [np.load(inp)])
    _check(got, np.load(exp), d)


# Paddle's own fetch target names (2.x: the scale op save_inference_model appends; 3.3.1: the
# last op's output), as Paddle's load_inference_model reported them when the fixtures were made
MLP_OUTPUT_NAMES = {
    ("2.6.2", "jit"): "save_infer_model/scale_0.tmp_0", ("2.6.2", "static"): "save_infer_model/scale_0.tmp_1",
    ("3.3.1-legacy", "jit"): "linear_2.tmp_1", ("3.3.1-legacy", "static"): "linear_2.tmp_1",
    ("3.3.1-pir", "jit"): "elementwise_add_2.tmp_0", ("3.3.1-pir", "static"): "elementwise_add_2.tmp_0",
}


@pytest.mark.parametrize("flavour, kind", sorted(MLP_OUTPUT_NAMES))
def test_output_names_are_the_fetch_var_names(flavour, kind):
    d = os.path.join(FIX, "paddle", flavour, "mlp", kind)
    pred = inference.create_predictor(inference.Config(_model_file(d), os.path.join(d, "model.pdiparams")))
    assert pred.get_output_names() == [MLP_OUTPUT_NAMES[flavour, kind]]
    assert pred.get_input_names() == ["x"]


@pytest.mark.parametrize("d, inp, exp", PADDLE_CASES)
def test_predictor_equals_executor_on_paddle_exports(d, inp, exp):
    """Same feed/fetch names and same values as static.load_inference_model + Executor.run."""
    x = np.load(inp)
    sampan.enable_static()
    try:
        scope = sampan.static.Scope()
        with sampan.static.scope_guard(scope):
            exe = sampan.static.Executor(sampan.CPUPlace())
            prog, feeds, fetches = sampan.static.load_inference_model(os.path.join(d, "model"), exe)
            want = exe.run(prog, feed={feeds[0]: x}, fetch_list=fetches)
    finally:
        sampan.disable_static()
    pred = inference.create_predictor(inference.Config(os.path.join(d, "model")))
    assert pred.get_input_names() == list(feeds)
    assert pred.get_output_names() == [v.name for v in fetches]
    got = _predict(pred, [x])
    for g, w in zip(got, want):
        _check(g, np.asarray(w), d)


@pytest.mark.parametrize("d, man, kind, export", INTEROP_CASES)
def test_interop_exports_reproduce_paddle(d, man, kind, export):
    """Several inputs and outputs, int64 inputs, and the directory layout (``__model__[.json]`` +
    one file per variable) read with ``Config(model_dir)``."""
    if kind == "separate":
        config = inference.Config(os.path.join(d, export["dir"]))
    else:
        prefix = os.path.join(d, export["prefix"])
        ext = ".json" if export["format"] == "pir_json" else ".pdmodel"
        config = inference.Config(prefix + ext, prefix + ".pdiparams")
    pred = inference.create_predictor(config)
    assert pred.get_input_names() == [i["name"] for i in man["inputs"]]
    assert len(pred.get_output_names()) == len(man["outputs"])
    xs = [np.load(os.path.join(d, i["file"])) for i in man["inputs"]]
    for got, o in zip(_predict(pred, xs), man["outputs"]):
        _check(got, np.load(os.path.join(d, o["file"])), f"{d} {kind}")
    outs = pred.run(xs)                       # the Paddle 2.5+ form gives the same
    for got, o in zip(outs, man["outputs"]):
        _check(got.numpy(), np.load(os.path.join(d, o["file"])), f"{d} {kind} run(list)")


# ----------------------------------------------------------------------------- sampan exports
def _mlp():
    sampan.seed(3)
    return nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 5))


def _cnn():
    sampan.seed(4)
    net = nn.Sequential(nn.Conv2D(3, 6, 3, 1, 1), nn.BatchNorm2D(6), nn.ReLU(),
                        nn.Conv2D(6, 8, 3, 2, 1), nn.BatchNorm2D(8), nn.ReLU(),
                        nn.Conv2D(8, 8, 3, 1, 1, groups=2, bias_attr=False), nn.BatchNorm2D(8),
                        nn.MaxPool2D(2), nn.Flatten(), nn.Linear(32, 4))
    rng = np.random.default_rng(0)
    for layer in net:
        if isinstance(layer, nn.BatchNorm2D):       # running statistics far from (0, 1): folding them matters
            c = layer.weight.shape[0]
            layer._mean.set_value(rng.standard_normal(c).astype("float32"))
            layer._variance.set_value(rng.uniform(0.2, 3.0, c).astype("float32"))
            layer.weight.set_value(rng.uniform(0.5, 2.0, c).astype("float32"))
            layer.bias.set_value(rng.standard_normal(c).astype("float32"))
    return net


def _jit_load(prefix):
    layer = sampan.jit.load(prefix)
    layer.eval()          # a TranslatedLayer starts in training mode, as in Paddle
    return layer


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("exported")
    out = {}
    for name, make, spec in (("mlp", _mlp, [None, 12]), ("cnn", _cnn, [None, 3, 8, 8])):
        net = make()
        net.eval()
        prefix = str(d / name)
        sampan.jit.save(net, prefix, input_spec=[InputSpec(spec, "float32", "x")])
        out[name] = (net, prefix, spec)
    return out


@pytest.mark.parametrize("ir_optim", [True, False], ids=["ir_optim", "no_ir_optim"])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_sampan_jit_save_equals_jit_load(exported, name, batch, ir_optim):
    net, prefix, spec = exported[name]
    x = np.random.default_rng(batch).standard_normal([batch] + spec[1:]).astype("float32")
    want = _jit_load(prefix)(sampan.to_tensor(x)).numpy()
    np.testing.assert_allclose(net(sampan.to_tensor(x)).numpy(), want, rtol=RTOL, atol=ATOL)
    config = inference.Config(prefix + ".pdmodel", prefix + ".pdiparams")
    config.switch_ir_optim(ir_optim)
    pred = inference.create_predictor(config)
    got, = _predict(pred, [x])
    _check(got, want, f"{name} batch {batch}")


def test_passes_fuse_and_fold(exported):
    """With ir_optim the CNN's conv+bias+bn+relu chains and the MLP's matmul+bias+relu become one
    step each (and jit.save's reshape2 of the conv bias is folded away)."""
    for name, n_fused in (("mlp", 3), ("cnn", 4)):
        prefix = exported[name][1]
        on = inference.create_predictor(inference.Config(prefix))
        cfg = inference.Config(prefix)
        cfg.switch_ir_optim(False)
        off = inference.create_predictor(cfg)
        assert off._plan.n_steps == off._plan.n_ops
        fused = [w[1] for *_, w in on._plan.steps if "+" in w[1]]
        assert len(fused) == n_fused, fused
        assert on._plan.n_steps < off._plan.n_steps
    assert "conv2d+elementwise_add+batch_norm+relu" in [w[1] for *_, w in on._plan.steps]


def test_nhwc_conv_batch_norm_fusion(tmp_path):
    sampan.seed(0)
    net = nn.Sequential(nn.Conv2D(3, 4, 3, 1, 1, data_format="NHWC"), nn.BatchNorm2D(4, data_format="NHWC"),
                        nn.ReLU())
    rng = np.random.default_rng(0)
    net[1]._mean.set_value(rng.standard_normal(4).astype("float32"))
    net[1]._variance.set_value(rng.uniform(0.5, 2.0, 4).astype("float32"))
    net.eval()
    sampan.jit.save(net, str(tmp_path / "m"), input_spec=[InputSpec([None, 6, 6, 3], "float32", "x")])
    x = rng.standard_normal((2, 6, 6, 3)).astype("float32")
    want = net(sampan.to_tensor(x)).numpy()
    pred = inference.create_predictor(inference.Config(str(tmp_path / "m")))
    assert pred._plan.n_steps == 1
    _check(pred.run([x])[0].numpy(), want, "NHWC conv+bn+relu")


def test_static_save_inference_model_export(tmp_path):
    sampan.enable_static()
    try:
        main, startup = sampan.static.Program(), sampan.static.Program()
        with sampan.static.program_guard(main, startup):
            x = sampan.static.data("x", [None, 6], "float32")
            y = sampan.static.data("y", [None, 6], "float32")
            h = sampan.static.nn.fc(x, 7, activation="relu")
            out = sampan.nn.functional.softmax(sampan.static.nn.fc(h, 3) + sampan.static.nn.fc(y, 3))
        exe = sampan.static.Executor(sampan.CPUPlace())
        scope = sampan.static.Scope()
        with sampan.static.scope_guard(scope):
            exe.run(startup)
            xs = np.random.default_rng(0).standard_normal((4, 6)).astype("float32")
            ys = np.random.default_rng(1).standard_normal((4, 6)).astype("float32")
            want, = exe.run(main, feed={"x": xs, "y": ys}, fetch_list=[out])
            sampan.static.save_inference_model(str(tmp_path / "net"), [x, y], [out], exe, program=main)
    finally:
        sampan.disable_static()
    pred = inference.create_predictor(inference.Config(str(tmp_path / "net.pdmodel"), str(tmp_path / "net.pdiparams")))
    assert pred.get_input_names() == ["x", "y"]
    assert pred.get_output_names() == [out.name]
    got, = _predict(pred, [xs, ys])
    _check(got, want, "save_inference_model")


# ----------------------------------------------------------------------------- API surface
def test_config_forms(exported, tmp_path):
    prefix = exported["mlp"][1]
    x = np.ones((2, 12), "float32")
    want = _jit_load(prefix)(sampan.to_tensor(x)).numpy()
    d = os.path.dirname(prefix)
    single = tmp_path / "single"
    single.mkdir()
    for ext in (".pdmodel", ".pdiparams"):
        with open(prefix + ext, "rb") as src, open(single / ("inference" + ext), "wb") as dst:
            dst.write(src.read())
    with open(prefix + ".pdmodel", "rb") as f:
        prog = f.read()
    with open(prefix + ".pdiparams", "rb") as f:
        params = f.read()
    configs = [inference.Config(prefix + ".pdmodel", prefix + ".pdiparams"),
               inference.Config(d, "mlp"),                 # Paddle 3: model_dir + prefix
               inference.Config(str(single)),              # a directory holding one model
               inference.Config(prefix)]                   # sampan: a path prefix
    c = inference.Config()
    c.set_model(prefix + ".pdmodel", prefix + ".pdiparams")
    configs.append(c)
    c = inference.Config()
    c.set_model_buffer(prog, len(prog), params, len(params))
    assert c.model_from_memory()
    configs.append(c)
    for config in configs:
        config.disable_gpu()
        config.enable_mkldnn()
        config.set_cpu_math_library_num_threads(1)
        config.switch_ir_optim(True)
        config.disable_glog_info()
        config.enable_memory_optim()
        got, = _predict(inference.create_predictor(config), [x])
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=repr(config))
    assert configs[0].prog_file() == prefix + ".pdmodel" and configs[0].params_file() == prefix + ".pdiparams"
    assert configs[0].mkldnn_enabled() and configs[0].cpu_math_library_num_threads() == 1
    assert configs[0].glog_info_disabled() and configs[0].ir_optim() and not configs[0].use_gpu()
    assert "ir_optim" in configs[0].summary()


def test_handles(exported):
    prefix = exported["cnn"][1]
    pred = inference.create_predictor(inference.Config(prefix))
    h = pred.get_input_handle("x")
    assert h.name() == "x"
    assert h.shape() == [-1, 3, 8, 8]                       # declared, before any data
    assert h.type() == inference.DataType.FLOAT32
    h.reshape([2, 3, 8, 8])
    assert h.shape() == [2, 3, 8, 8]
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))     # float64: cast like the Executor does
    h.copy_from_cpu(x)
    assert h.shape() == [2, 3, 8, 8] and h.type() == inference.DataType.FLOAT32
    x[:] = 0                                                 # copy_from_cpu copied
    pred.run()
    out = pred.get_output_handle(pred.get_output_names()[0])
    assert out.shape() == [2, 4] and out.type() == inference.DataType.FLOAT32
    a = out.copy_to_cpu()
    a[:] = 7                                                 # copy_to_cpu gives a copy
    b = out.copy_to_cpu()
    assert not np.allclose(b, 7)
    want = _jit_load(prefix)(sampan.to_tensor(np.random.default_rng(0).standard_normal((2, 3, 8, 8))
                                                   .astype("float32"))).numpy()
    np.testing.assert_allclose(b, want, rtol=RTOL, atol=ATOL)
    # a second run with another batch size: no state carried over
    x5 = np.random.default_rng(5).standard_normal((5, 3, 8, 8)).astype("float32")
    h.copy_from_cpu(x5)
    pred.run()
    np.testing.assert_allclose(out.copy_to_cpu(), _jit_load(prefix)(sampan.to_tensor(x5)).numpy(),
                               rtol=RTOL, atol=ATOL)


def test_run_with_list_returns_tensors(exported):
    prefix = exported["mlp"][1]
    pred = inference.create_predictor(inference.Config(prefix))
    x = np.random.default_rng(2).standard_normal((3, 12)).astype("float32")
    outs = pred.run([x])
    assert isinstance(outs, list) and len(outs) == 1 and isinstance(outs[0], sampan.Tensor)
    want, = _predict(pred, [x])
    np.testing.assert_array_equal(outs[0].numpy(), want)
    outs2 = pred.run([sampan.to_tensor(x)])                  # Tensors are accepted too
    np.testing.assert_array_equal(outs2[0].numpy(), want)
    with pytest.raises(ValueError, match=r"has 1 inputs \['x'\], received 2"):
        pred.run([x, x])
    with pytest.raises(TypeError, match="must be a list"):
        pred.run(x)


def test_each_predictor_owns_its_parameters(exported):
    prefix = exported["mlp"][1]
    p1 = inference.create_predictor(inference.Config(prefix))
    p2 = inference.create_predictor(inference.Config(prefix))
    names = p1._scope.local_var_names()
    assert names and sorted(names) == sorted(p2._scope.local_var_names())
    for n in names:
        a, b = p1._scope.get(n), p2._scope.get(n)
        assert not np.shares_memory(a, b), n
        assert not a.flags.writeable                          # nobody can change them in place
    assert not any(sampan.static.global_scope().has(n) for n in names)
    c = p1.clone()
    assert c._scope is not p1._scope
    x = np.ones((2, 12), "float32")
    c.get_input_handle("x").copy_from_cpu(x)
    with pytest.raises(RuntimeError, match="has no data"):  # the clone's inputs are its own
        p1.run()
    c.run()
    want, = _predict(p2, [x])
    np.testing.assert_array_equal(c.get_output_handle(c.get_output_names()[0]).copy_to_cpu(), want)


def test_sampan_exports_inference():
    assert sampan.inference is inference
    assert callable(sampan.inference.create_predictor)


# ----------------------------------------------------------------------------- errors
def test_wrong_input_and_output_names(exported):
    pred = inference.create_predictor(inference.Config(exported["mlp"][1]))
    with pytest.raises(ValueError, match=r"no input named 'image'\. Its inputs are \['x'\]"):
        pred.get_input_handle("image")
    out = pred.get_output_names()[0]
    with pytest.raises(ValueError, match=rf"no output named 'y'\. Its outputs are \['{out}'\]"):
        pred.get_output_handle("y")


def test_run_before_copy_from_cpu(exported):
    pred = inference.create_predictor(inference.Config(exported["mlp"][1]))
    with pytest.raises(RuntimeError, match=r"input 'x' has no data.*copy_from_cpu"):
        pred.run()
    with pytest.raises(RuntimeError, match=r"output .* has no value yet; call predictor.run\(\) first"):
        pred.get_output_handle(pred.get_output_names()[0]).copy_to_cpu()
    pred.get_input_handle("x").reshape([1, 12])
    with pytest.raises(RuntimeError, match=r"reshape\(\) gave it a shape \[1, 12\], but no values"):
        pred.run()


def test_bad_input_values(exported):
    pred = inference.create_predictor(inference.Config(exported["mlp"][1]))
    h = pred.get_input_handle("x")
    with pytest.raises(ValueError, match=r"input 'x' expects shape \[-1, 12\].*shape \[2, 11\]"):
        h.copy_from_cpu(np.ones((2, 11), "float32"))
    with pytest.raises(ValueError, match=r"input 'x' expects float32 values.*dtype int64"):
        h.copy_from_cpu(np.ones((2, 12), "int64"))
    with pytest.raises(TypeError, match="takes a numpy.ndarray. Received: list"):
        h.copy_from_cpu([[1.0] * 12])
    out = pred.get_output_handle(pred.get_output_names()[0])
    with pytest.raises(RuntimeError, match="is an output of the model and is read-only"):
        out.copy_from_cpu(np.ones((1, 5), "float32"))


class _Add(nn.Layer):
    def forward(self, x, y):
        return x + y


def test_kernel_failure_names_the_op(tmp_path):
    sampan.jit.save(_Add(), str(tmp_path / "add"), input_spec=[InputSpec([None, 3], "float32", "x"),
                                                               InputSpec([None, 3], "float32", "y")])
    for opt in (True, False):
        cfg = inference.Config(str(tmp_path / "add"))
        cfg.switch_ir_optim(opt)
        pred = inference.create_predictor(cfg)
        np.testing.assert_array_equal(pred.run([np.ones((2, 3), "float32"), np.ones((2, 3), "float32")])[0].numpy(),
                                      np.full((2, 3), 2, "float32"))
        msg = r"op 2 \(elementwise_add\) of block 0 failed with inputs \{'X': \[2, 3\], 'Y': \[4, 3\]\}"
        with pytest.raises(sampan.static.executor.ExecutionError, match=msg):
            pred.run([np.ones((2, 3), "float32"), np.ones((4, 3), "float32")])


def test_missing_files_name_the_path(exported, tmp_path):
    prefix = exported["mlp"][1]
    missing = str(tmp_path / "nope.pdmodel")
    with pytest.raises(FileNotFoundError, match=f"model file {missing!r} does not exist"):
        inference.create_predictor(inference.Config(missing, prefix + ".pdiparams"))
    missing = str(tmp_path / "nope.pdiparams")
    with pytest.raises(FileNotFoundError, match=f"has 6 parameters but {missing!r} does not exist"):
        inference.create_predictor(inference.Config(prefix + ".pdmodel", missing))
    missing = str(tmp_path / "no_dir")
    with pytest.raises(FileNotFoundError, match=f"{missing!r}"):
        inference.create_predictor(inference.Config(missing))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=f"model directory {str(empty)!r} holds no __model__"):
        inference.create_predictor(inference.Config(str(empty)))
    with pytest.raises(ValueError, match="names no model"):
        inference.create_predictor(inference.Config())


def test_gpu_is_a_clear_error():
    config = inference.Config()
    with pytest.raises(RuntimeError, match="CPU only"):
        config.enable_use_gpu(100, 0)
    with pytest.raises(TypeError, match="must be a paddle.inference.Config"):
        inference.create_predictor("model.pdmodel")
    with pytest.raises(ValueError, match="positive int"):
        config.set_cpu_math_library_num_threads(0)


def test_pir_models_accept_paddle3_output_names():
    """Paddle 3 predictors call the outputs of a .json model fetch_name_<i>; sampan accepts both names."""
    from sampan import inference
    d = os.path.join(os.path.dirname(__file__), "..", "fixtures", "paddle", "3.3.1-pir", "linear")
    pred = inference.create_predictor(inference.Config(os.path.join(d, "jit", "model.json"),
                                                       os.path.join(d, "jit", "model.pdiparams")))
    h = pred.get_input_handle(pred.get_input_names()[0])
    h.copy_from_cpu(np.load(os.path.join(d, "input.npy")))
    pred.run()
    by_alias = pred.get_output_handle("fetch_name_0").copy_to_cpu()
    by_name = pred.get_output_handle(pred.get_output_names()[0]).copy_to_cpu()
    np.testing.assert_array_equal(by_alias, by_name)
    np.testing.assert_allclose(by_alias, np.load(os.path.join(d, "jit_output.npy")), rtol=1e-5)
