"""Real Paddle 2.6.2 reads what sampan writes (issues 6 and 7).

sampan exports models into a temp dir -- ``jit.save`` of a LinearNet, an MLP and a CNN,
``static.save_inference_model`` of a static program, ``paddle.save`` of Layer and Adam state dicts
and of a static Program with its state -- then ``paddle_reader.py`` (beside this file) runs in a
subprocess under the Python named by env ``SAMPAN_PADDLE_PYTHON`` (paddlepaddle==2.6.2, made by
``.ci/paddle_env.sh``) and loads them with ``paddle.jit.load``, ``paddle.static.load_inference_model``
+ ``Executor.run``, the ``paddle.inference`` predictor, ``paddle.load`` + ``set_state_dict`` (and one
Adam step resumed from the ``.pdopt``), ``paddle.load`` of a jit.save prefix and, in static mode,
``paddle.load`` of the Program. Each (export, Paddle API) pair is one test comparing Paddle's numbers
with sampan's.

Without ``SAMPAN_PADDLE_PYTHON`` (or when it is not a working paddlepaddle 2.6.2) every test here is
skipped with the reason; set ``SAMPAN_REQUIRE_PADDLE=1`` to make that a failure instead (CI).
The reverse direction (sampan reads Paddle's files) is ``tests/interop/test_interop_fixtures.py``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import sampan

HERE = os.path.dirname(os.path.abspath(__file__))
READER = os.path.join(HERE, "paddle_reader.py")
PADDLE_VERSION = "2.6.2"
RTOL, ATOL = 1e-5, 1e-6
ATOL_IR_OPTIM = 1e-5          # the predictor's fused kernels (fc, conv+bn) round differently
SEED = 20240917


# ----------------------------------------------------------------------------- sampan models
def _archs():
    """{name: (Layer class, input shape)}. Built on first use, so that this module collects (and skips
    cleanly without Paddle) whatever state sampan.nn is in. Same structured names (and so, built in a
    fresh unique-name scope, the same parameter names linear_0.w_0 ...) as the Paddle classes
    paddle_reader.py imports: the shared fixtures' models, from their generator's source."""
    from tests.model_source import classes_from
    ns = classes_from(os.path.join("fixtures", "paddle", "make_fixtures.py"), "class LinearNet(nn.Layer):",
                      "class TinyTransformer(nn.Layer):")
    return {"LinearNet": (ns["LinearNet"], [6]), "MLP": (ns["MLP"], [8]), "CNN": (ns["SmallCNN"], [3, 8, 8])}


JIT_APIS = ["jit_load", "load_inference_model", "inference", "inference_ir_optim", "load_prefix"]

# case name -> (builder name, arch, Paddle APIs run on it)
CASES = {
    "jit_linear": ("jit", "LinearNet", JIT_APIS),
    "jit_mlp": ("jit", "MLP", JIT_APIS),
    "jit_cnn": ("jit", "CNN", JIT_APIS),
    "static_fc": ("static", None, ["load_inference_model", "jit_load", "inference", "inference_ir_optim"]),
    "static_fc_separate": ("static_separate", None, ["load_inference_model"]),
    "state_dict_mlp": ("state_dict", "MLP", ["set_state_dict"]),
    "state_dict_cnn": ("state_dict", "CNN", ["set_state_dict"]),
    "adam_mlp": ("adam", "MLP", ["adam_resume"]),
    "program_fc": ("program", None, ["load_program"]),
}
PAIRS = [(c, a) for c, (_, _, apis) in CASES.items() for a in apis]


def _make(arch):
    """A fresh Layer in its own unique-name scope, with seeded non-trivial weights and BN stats."""
    cls, in_shape = _archs()[arch]
    with sampan.utils.unique_name.guard():
        layer = cls()
    rng = np.random.default_rng(SEED + len(arch))
    new = {}
    for k, v in layer.state_dict().items():
        shape = list(v.shape)
        if k.endswith("_variance"):
            new[k] = rng.uniform(0.5, 1.5, shape).astype("float32")
        elif k.endswith("_mean"):
            new[k] = rng.uniform(-0.2, 0.2, shape).astype("float32")
        else:
            new[k] = rng.uniform(-0.5, 0.5, shape).astype("float32")
    layer.set_state_dict(new)
    layer.eval()
    x = rng.uniform(-1, 1, [4] + in_shape).astype("float32")
    return layer, x, in_shape


def _save_expected(d, outs):
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    for i, o in enumerate(outs):
        np.save(os.path.join(d, f"expected_{i}.npy"), np.asarray(o.numpy() if hasattr(o, "numpy") else o))


# ----------------------------------------------------------------------------- sampan exports
def build_jit(d, arch):
    layer, x, in_shape = _make(arch)
    np.save(os.path.join(d, "input.npy"), x)
    sampan.jit.save(layer, os.path.join(d, "model"),
                    input_spec=[sampan.static.InputSpec([None] + in_shape, "float32", "x")])
    _save_expected(d, layer(sampan.to_tensor(x)))
    np.savez(os.path.join(d, "expected_state.npz"), **{k: v.numpy() for k, v in layer.state_dict().items()})
    return {"prefix": "model", "inputs": ["input.npy"]}


def _static_fc_program():
    main, startup = sampan.static.Program(), sampan.static.Program()
    with sampan.static.program_guard(main, startup), sampan.utils.unique_name.guard():
        x = sampan.static.data("x", [None, 6], "float32")
        h = sampan.static.nn.fc(x, 8, activation="relu")
        y = sampan.static.nn.fc(h, 3)
    return main, startup, x, y


def build_static(d, _arch):
    x_np = np.random.default_rng(SEED).uniform(-1, 1, [4, 6]).astype("float32")
    np.save(os.path.join(d, "input.npy"), x_np)
    sampan.enable_static()
    try:
        main, startup, x, y = _static_fc_program()
        with sampan.static.scope_guard(sampan.static.Scope()):
            exe = sampan.static.Executor(sampan.CPUPlace())
            exe.run(startup)
            sampan.static.save_inference_model(os.path.join(d, "model"), [x], [y], exe, program=main)
            _save_expected(d, exe.run(main, feed={"x": x_np}, fetch_list=[y]))
    finally:
        sampan.disable_static()
    return {"prefix": "model", "inputs": ["input.npy"]}


def build_static_separate(d, _arch):
    """save_inference_model(separate_parameters=True): ``__model__`` + one file per variable, which Paddle
    reads in its directory mode (``load_inference_model(dir, exe, model_filename='__model__')``)."""
    x_np = np.random.default_rng(SEED + 2).uniform(-1, 1, [4, 6]).astype("float32")
    np.save(os.path.join(d, "input.npy"), x_np)
    sampan.enable_static()
    try:
        main, startup, x, y = _static_fc_program()
        with sampan.static.scope_guard(sampan.static.Scope()):
            exe = sampan.static.Executor(sampan.CPUPlace())
            exe.run(startup)
            sampan.static.save_inference_model(os.path.join(d, "sep", "model"), [x], [y], exe, program=main,
                                               separate_parameters=True)
            _save_expected(d, exe.run(main, feed={"x": x_np}, fetch_list=[y]))
    finally:
        sampan.disable_static()
    return {"prefix": "sep", "model_filename": "__model__", "inputs": ["input.npy"]}


def build_state_dict(d, arch):
    layer, x, _ = _make(arch)
    np.save(os.path.join(d, "input.npy"), x)
    sampan.save(layer.state_dict(), os.path.join(d, "model.pdparams"))
    _save_expected(d, layer(sampan.to_tensor(x)))
    return {"arch": arch, "pdparams": "model.pdparams", "inputs": ["input.npy"]}


def _adam_step(layer, opt, x, label):
    loss = sampan.nn.functional.cross_entropy(layer(sampan.to_tensor(x)), sampan.to_tensor(label))
    loss.backward()
    opt.step()
    opt.clear_grad()


def build_adam(d, arch):
    """One Adam step, save .pdparams + .pdopt, then a second step: Paddle resumes from the files and
    must land on the same parameters as sampan's second step."""
    layer, x, _ = _make(arch)
    label = (np.arange(x.shape[0]) % 4).reshape(-1, 1).astype("int64")
    np.save(os.path.join(d, "input.npy"), x)
    np.save(os.path.join(d, "label.npy"), label)
    with sampan.utils.unique_name.guard():
        opt = sampan.optimizer.Adam(learning_rate=0.01, parameters=layer.parameters())
    layer.train()
    _adam_step(layer, opt, x, label)
    sampan.save(layer.state_dict(), os.path.join(d, "model.pdparams"))
    sampan.save(opt.state_dict(), os.path.join(d, "model.pdopt"))
    _adam_step(layer, opt, x, label)
    np.savez(os.path.join(d, "expected_state.npz"), **{k: v.numpy() for k, v in layer.state_dict().items()})
    return {"arch": arch, "pdparams": "model.pdparams", "pdopt": "model.pdopt", "lr": 0.01,
            "inputs": ["input.npy", "label.npy"]}


def build_program(d, _arch):
    x_np = np.random.default_rng(SEED + 1).uniform(-1, 1, [4, 6]).astype("float32")
    np.save(os.path.join(d, "input.npy"), x_np)
    sampan.enable_static()
    try:
        main, startup, x, y = _static_fc_program()
        with sampan.static.scope_guard(sampan.static.Scope()):
            exe = sampan.static.Executor(sampan.CPUPlace())
            exe.run(startup)
            sampan.save(main, os.path.join(d, "model.pdmodel"))
            sampan.save(main.state_dict(), os.path.join(d, "model.pdparams"))
            _save_expected(d, exe.run(main, feed={"x": x_np}, fetch_list=[y]))
        fetch = y.name
    finally:
        sampan.disable_static()
    return {"program": "model.pdmodel", "state": "model.pdparams", "inputs": ["input.npy"],
            "feed_names": ["x"], "fetch_names": [fetch]}


BUILDERS = {"jit": build_jit, "static": build_static, "static_separate": build_static_separate,
            "state_dict": build_state_dict, "adam": build_adam, "program": build_program}


# ----------------------------------------------------------------------------- the Paddle side
def _probe_paddle():
    """(python path, None) or (None, reason to skip)."""
    py = os.environ.get("SAMPAN_PADDLE_PYTHON")
    if not py:
        return None, ("SAMPAN_PADDLE_PYTHON is not set (a Python with paddlepaddle==2.6.2; "
                      "`.ci/paddle_env.sh` creates one and prints its path)")
    try:
        r = subprocess.run([py, "-c", "import paddle, numpy; print(paddle.__version__)"], capture_output=True,
                           text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"SAMPAN_PADDLE_PYTHON={py!r} cannot run: {e}"
    if r.returncode != 0:
        return None, f"SAMPAN_PADDLE_PYTHON={py!r} cannot import paddle: {r.stderr.strip().splitlines()[-1:]}"
    version = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "?"
    if version != PADDLE_VERSION:
        return None, f"SAMPAN_PADDLE_PYTHON={py!r} has paddlepaddle {version}, these checks need {PADDLE_VERSION}"
    return py, None


def paddle_python():
    """The Paddle 2.6.2 Python for a test module's fixture; skips with the reason without one (fails
    instead under ``SAMPAN_REQUIRE_PADDLE=1``)."""
    py, reason = _probe_paddle()
    if py is None:
        if os.environ.get("SAMPAN_REQUIRE_PADDLE") == "1":
            pytest.fail("SAMPAN_REQUIRE_PADDLE=1 but " + reason)
        pytest.skip(reason)
    return py


def paddle_env():
    """Environment for a Paddle subprocess: not sampan's PYTHONPATH, Paddle's logging quiet."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["GLOG_minloglevel"] = "2"
    return env


def _run_reader(py, work, cases):
    """Run paddle_reader.py until it has finished every case; a Paddle crash (segfault) is recorded
    against the API that was running and the reader resumes after it."""
    env = paddle_env()
    env.setdefault("OMP_NUM_THREADS", "1")
    logs = []
    for _ in range(1 + sum(len(c["apis"]) for c in cases.values())):
        r = subprocess.run([py, READER, work], capture_output=True, text=True, timeout=900, env=env, cwd=work)
        logs.append(f"exit {r.returncode}\n{r.stderr[-3000:]}")
        if r.returncode == 0:
            break
        if not os.path.exists(os.path.join(work, "results.json")):
            break
    results = {}
    if os.path.exists(os.path.join(work, "results.json")):
        with open(os.path.join(work, "results.json"), encoding="utf-8") as f:
            results = json.load(f)
    return results, logs


@pytest.fixture(scope="module")
def crosscheck(tmp_path_factory):
    py = paddle_python()
    work = str(tmp_path_factory.mktemp("paddle_reads_ours"))
    cases, export_errors = {}, {}
    for name, (builder, arch, apis) in CASES.items():
        d = os.path.join(work, name)
        os.makedirs(d)
        sampan.disable_static()
        try:
            spec = BUILDERS[builder](d, arch)
        except Exception as e:  # noqa: BLE001  (one missing sampan piece must not hide the other cases)
            export_errors[name] = f"{type(e).__name__}: {e}"
            continue
        finally:
            sampan.disable_static()
        cases[name] = {**spec, "apis": apis}
    with open(os.path.join(work, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, indent=1)
    results, logs = _run_reader(py, work, cases) if cases else ({}, [])
    return {"work": work, "errors": export_errors, "results": results.get("cases", {}), "logs": logs}


def _paddle_outputs(d, api):
    outs, i = [], 0
    while os.path.exists(os.path.join(d, f"paddle_{api}_{i}.npy")):
        outs.append(np.load(os.path.join(d, f"paddle_{api}_{i}.npy")))
        i += 1
    return outs


def _expected_outputs(d):
    outs, i = [], 0
    while os.path.exists(os.path.join(d, f"expected_{i}.npy")):
        outs.append(np.load(os.path.join(d, f"expected_{i}.npy")))
        i += 1
    return outs


def _assert_npz_equal(got_path, want_path, what, atol=ATOL):
    got, want = dict(np.load(got_path)), dict(np.load(want_path))
    assert sorted(got) == sorted(want), f"{what}: keys {sorted(got)} != {sorted(want)}"
    for k in want:
        assert got[k].shape == want[k].shape, f"{what} {k}: shape {got[k].shape} != {want[k].shape}"
        np.testing.assert_allclose(got[k], want[k], rtol=RTOL, atol=atol, err_msg=f"{what} {k}")


@pytest.mark.parametrize("case,api", PAIRS, ids=[f"{c}-{a}" for c, a in PAIRS])
def test_paddle_reads_ours(crosscheck, case, api):
    if case in crosscheck["errors"]:
        pytest.fail(f"sampan could not export {case}: {crosscheck['errors'][case]}")
    res = crosscheck["results"].get(case, {}).get(api)
    if res is None:
        pytest.fail(f"paddle_reader.py gave no result for {case}/{api}. Its runs:\n" + "\n".join(crosscheck["logs"]))
    assert res["status"] == "ok", f"Paddle {api} on sampan's {case}: {res['status']}\n{res.get('trace', '')}"
    d = os.path.join(crosscheck["work"], case)
    if api == "load_prefix":
        # keys are the structured names taken from sampan's .pdiparams.info
        _assert_npz_equal(os.path.join(d, "paddle_load_prefix.npz"), os.path.join(d, "expected_state.npz"),
                          "paddle.load(prefix)")
        return
    if api == "adam_resume":
        _assert_npz_equal(os.path.join(d, "paddle_adam_resume.npz"), os.path.join(d, "expected_state.npz"),
                          "parameters after Paddle's Adam step resumed from sampan's .pdparams/.pdopt")
        return
    got, want = _paddle_outputs(d, api), _expected_outputs(d)
    assert want, f"{case}: sampan saved no expected output"
    assert len(got) == len(want), f"{case}/{api}: Paddle gave {len(got)} outputs, sampan {len(want)}"
    atol = ATOL_IR_OPTIM if api == "inference_ir_optim" else ATOL
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape and g.dtype == w.dtype, f"{case}/{api} output {i}: {g.shape} {g.dtype} vs " \
                                                          f"{w.shape} {w.dtype}"
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=atol, err_msg=f"{case}/{api} output {i}")


def test_reader_script_never_imports_sampan():
    """paddle_reader.py runs under Paddle's Python, which has no sampan (and must not need one)."""
    with open(READER, encoding="utf-8") as f:
        src = f.read()
    assert "import sampan" not in src and "from sampan" not in src


if __name__ == "__main__":      # python tests/crosscheck/test_paddle_reads_ours.py  -> runs pytest on this file
    sys.exit(pytest.main([__file__, "-q"]))
