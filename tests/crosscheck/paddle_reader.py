"""Run by ``test_paddle_reads_ours.py`` under a Python with REAL paddlepaddle (2.6.2): load the files
sampan wrote with Paddle's own APIs and save what Paddle computed, for the test to compare.

    <paddle python> paddle_reader.py <work dir>

``<work dir>/cases.json`` lists the cases (written by the test); for each case and each Paddle API
this writes ``<case dir>/paddle_<api>_<i>.npy`` (output i) and records in ``<work dir>/results.json``
``{case: {api: "ok" | "<error type>: <message>"}}`` plus what Paddle reported on the way
(missing/unexpected keys, returned names). Never imports sampan. Only paddle + numpy.
"""
from __future__ import annotations

import json
import os
import sys
import traceback
import warnings

import numpy as np
import paddle
import paddle.nn as nn


# ----------------------------------------------------------------------------- the architectures
# the shared fixtures' models, from their generator (test_paddle_reads_ours.py runs that same source
# with sampan as `paddle`): one copy of each model
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "paddle"))
from make_fixtures import MLP, LinearNet, SmallCNN  # noqa: E402

ARCHS = {"LinearNet": LinearNet, "MLP": MLP, "CNN": SmallCNN}


# ----------------------------------------------------------------------------- helpers
def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _save_outputs(case_dir, api, outs):
    for i, o in enumerate(outs):
        a = o.numpy() if hasattr(o, "numpy") else np.asarray(o)
        np.save(os.path.join(case_dir, f"paddle_{api}_{i}.npy"), a)


def _inputs(case_dir, case):
    return [np.load(os.path.join(case_dir, f)) for f in case["inputs"]]


def _err(e):
    lines = [x for x in str(e).strip().splitlines() if x.strip()]
    return f"{type(e).__name__}: {' | '.join(lines[-3:])[:600]}"


# ----------------------------------------------------------------------------- the APIs
def api_jit_load(case_dir, case, note):
    layer = paddle.jit.load(os.path.join(case_dir, case["prefix"]))
    layer.eval()
    _save_outputs(case_dir, "jit_load", _as_list(layer(*[paddle.to_tensor(x) for x in _inputs(case_dir, case)])))


def api_load_inference_model(case_dir, case, note):
    paddle.enable_static()
    try:
        scope = paddle.static.Scope()
        with paddle.static.scope_guard(scope):
            exe = paddle.static.Executor(paddle.CPUPlace())
            kw = {"model_filename": case["model_filename"]} if case.get("model_filename") else {}
            prog, feeds, fetches = paddle.static.load_inference_model(os.path.join(case_dir, case["prefix"]), exe,
                                                                      **kw)
            note["feed_target_names"] = list(feeds)
            note["fetch_target_names"] = [f.name for f in fetches]
            res = exe.run(prog, feed=dict(zip(feeds, _inputs(case_dir, case))), fetch_list=fetches)
        _save_outputs(case_dir, "load_inference_model", res)
    finally:
        paddle.disable_static()


def api_inference(case_dir, case, note):
    from paddle import inference
    prefix = os.path.join(case_dir, case["prefix"])
    config = inference.Config(prefix + ".pdmodel", prefix + ".pdiparams")
    config.disable_gpu()
    config.switch_ir_optim(False)      # run the program as written, not Paddle's fused rewrite of it
    predictor = inference.create_predictor(config)
    note["input_names"] = predictor.get_input_names()
    note["output_names"] = predictor.get_output_names()
    for name, x in zip(predictor.get_input_names(), _inputs(case_dir, case)):
        h = predictor.get_input_handle(name)
        h.reshape(x.shape)
        h.copy_from_cpu(x)
    predictor.run()
    _save_outputs(case_dir, "inference", [predictor.get_output_handle(n).copy_to_cpu()
                                          for n in predictor.get_output_names()])


def api_inference_ir_optim(case_dir, case, note):
    """The predictor with its default graph optimisations on (what deployments use)."""
    from paddle import inference
    prefix = os.path.join(case_dir, case["prefix"])
    config = inference.Config(prefix + ".pdmodel", prefix + ".pdiparams")
    config.disable_gpu()
    predictor = inference.create_predictor(config)
    for name, x in zip(predictor.get_input_names(), _inputs(case_dir, case)):
        h = predictor.get_input_handle(name)
        h.reshape(x.shape)
        h.copy_from_cpu(x)
    predictor.run()
    _save_outputs(case_dir, "inference_ir_optim", [predictor.get_output_handle(n).copy_to_cpu()
                                                   for n in predictor.get_output_names()])


def api_load_prefix(case_dir, case, note):
    """paddle.load(jit.save prefix): {structured name: ndarray} from .pdiparams + .pdiparams.info."""
    sd = paddle.load(os.path.join(case_dir, case["prefix"]))
    note["keys"] = sorted(sd)
    np.savez(os.path.join(case_dir, "paddle_load_prefix.npz"), **{k: np.asarray(v) for k, v in sd.items()})


def api_set_state_dict(case_dir, case, note):
    """paddle.load(.pdparams) + Layer.set_state_dict, then forward."""
    paddle.seed(0)
    with paddle.utils.unique_name.guard():
        layer = ARCHS[case["arch"]]()
    sd = paddle.load(os.path.join(case_dir, case["pdparams"]))
    note["loaded"] = {k: [type(v).__name__, getattr(v, "name", None)] for k, v in sd.items()}
    missing, unexpected = layer.set_state_dict(sd)
    note["missing"], note["unexpected"] = list(missing), list(unexpected)
    if missing or unexpected:
        raise AssertionError(f"set_state_dict: missing {missing}, unexpected {unexpected}")
    layer.eval()
    _save_outputs(case_dir, "set_state_dict", _as_list(layer(*[paddle.to_tensor(x) for x in _inputs(case_dir, case)])))


def api_adam_resume(case_dir, case, note):
    """Load .pdparams + .pdopt into a fresh Layer and Adam, take one step on the stored batch, save params."""
    with paddle.utils.unique_name.guard():
        layer = ARCHS[case["arch"]]()
    layer.set_state_dict(paddle.load(os.path.join(case_dir, case["pdparams"])))
    opt = paddle.optimizer.Adam(learning_rate=case["lr"], parameters=layer.parameters())
    osd = paddle.load(os.path.join(case_dir, case["pdopt"]))
    note["opt_keys"] = sorted(osd)
    opt.set_state_dict(osd)
    layer.train()
    x, label = _inputs(case_dir, case)
    loss = nn.functional.cross_entropy(layer(paddle.to_tensor(x)), paddle.to_tensor(label))
    loss.backward()
    opt.step()
    opt.clear_grad()
    np.savez(os.path.join(case_dir, "paddle_adam_resume.npz"), **{k: v.numpy() for k, v in layer.state_dict().items()})


def api_load_program(case_dir, case, note):
    """Static mode: paddle.load(Program) + paddle.load(program state) + set_state_dict, then run."""
    paddle.enable_static()
    try:
        scope = paddle.static.Scope()
        with paddle.static.scope_guard(scope):
            prog = paddle.load(os.path.join(case_dir, case["program"]))
            note["program_type"] = type(prog).__name__
            state = paddle.load(os.path.join(case_dir, case["state"]))
            note["state_keys"] = sorted(state)
            # A fresh process has not run the startup program, and Program.set_state_dict only fills
            # variables that exist in the scope: create them (zeros), then let set_state_dict fill them.
            for name in state:
                var = prog.global_block().var(name)
                scope.var(name).get_tensor().set(np.zeros(var.shape, "float32"), paddle.CPUPlace())
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                prog.set_state_dict(state)
            skipped = [str(w.message) for w in caught if "Skip loading" in str(w.message)]
            if skipped:
                raise AssertionError(f"Program.set_state_dict skipped: {skipped}")
            exe = paddle.static.Executor(paddle.CPUPlace())
            res = exe.run(prog, feed=dict(zip(case["feed_names"], _inputs(case_dir, case))),
                          fetch_list=case["fetch_names"])
        _save_outputs(case_dir, "load_program", res)
    finally:
        paddle.disable_static()


APIS = {"jit_load": api_jit_load, "load_inference_model": api_load_inference_model, "inference": api_inference,
        "inference_ir_optim": api_inference_ir_optim, "load_prefix": api_load_prefix,
        "set_state_dict": api_set_state_dict, "adam_resume": api_adam_resume, "load_program": api_load_program}


def _dump(work, results):
    tmp = os.path.join(work, "results.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, default=str)
    os.replace(tmp, os.path.join(work, "results.json"))


def main():
    """Resumable: APIs already in results.json are skipped, and the file is rewritten before each API
    runs (status "crashed ...") and after it, so if Paddle kills the process (it segfaults on some
    inputs) the caller reruns this script and the crash stays attributed to the API that caused it."""
    work = sys.argv[1]
    with open(os.path.join(work, "cases.json"), encoding="utf-8") as f:
        cases = json.load(f)
    rp = os.path.join(work, "results.json")
    results = {"cases": {}}
    if os.path.exists(rp):
        with open(rp, encoding="utf-8") as f:
            results = json.load(f)
    results.update(paddle_version=paddle.__version__, numpy_version=np.__version__)
    for name, case in cases.items():
        case_dir = os.path.join(work, name)
        res = results["cases"].setdefault(name, {})
        for api in case["apis"]:
            if api in res:
                continue
            res[api] = {"status": "crashed: the Paddle process died while running this API"}
            _dump(work, results)
            note = {}
            try:
                APIS[api](case_dir, case, note)
                res[api] = {"status": "ok", **note}
            except BaseException as e:  # noqa: BLE001  (report everything, incl. SystemExit from Paddle)
                res[api] = {"status": _err(e), "trace": traceback.format_exc()[-1500:], **note}
            _dump(work, results)
    print("paddle_reader done:", len(cases), "cases")


if __name__ == "__main__":
    main()
