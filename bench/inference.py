"""Loaded-model inference speed: ``sampan.inference`` predictor vs a hand-written NumPy forward.

Models (built with sampan, ``eval()``, exported with ``sampan.jit.save``, loaded with
``sampan.inference.create_predictor``):

* ``mlp``: Linear(784, 512)-ReLU-Linear(512, 512)-ReLU-Linear(512, 10);
* ``cnn``: on 3x32x32, Conv2D(3,32,3,1,1)-BN-ReLU, Conv2D(32,64,3,2,1)-BN-ReLU,
  Conv2D(64,128,3,2,1)-BN-ReLU, Flatten, Linear(8192, 10).

At batch 1 and 64 it times one predictor call (``copy_from_cpu`` + ``run`` + ``copy_to_cpu``)
against the same math hand-written in NumPy on the same weights: ``x @ W + b`` and ReLU for the
MLP; for the CNN, im2col through ``sliding_window_view`` and one matmul per conv, with batch
norm folded into the filter and bias (in float64), bias and ReLU applied in place. (The
columns are batch-major, ``(N, C*9, OH*OW)``, so the stacked matmul lands in NCHW: in NumPy
that is 1.1-4x faster per layer than one ``(M, C*9) @ (C*9, N*OH*OW)`` product plus the
transpose back to NCHW, at batch 64 and 1 thread.) Also shown:
the predictor with ``switch_ir_optim(False)`` (no folding/fusion) and ``static.Executor.run`` on
``load_inference_model`` of the same files.

Both sides run with the same BLAS thread setting: the script re-runs itself in a subprocess per
setting with ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` set (``all``
leaves them unset). Times are the best of ``--repeat`` rounds (each the mean of enough calls to
last ``--min-time`` seconds), sampan and NumPy rounds interleaved: the machine is shared, so the
best round is the least disturbed one.

Targets (issue 7): predictor within 1.3x of the NumPy forward everywhere; MLP at batch 1 below
Paddle 3.3.1's predictor (154 us measured on the project's 2-core machine, 1 thread).

Usage::

    python bench/inference.py                 # 1 thread and all threads
    python bench/inference.py --threads 1 --repeat 9
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PADDLE_MLP_B1_US = 154.0      # Paddle 3.3.1 predictor, MLP batch 1, 1 thread (issue 7)
PROJECT_NUMPY_MLP_B1_US = 100.0   # the NumPy forward on that machine (issue 7)
TARGET_RATIO = 1.3
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


# ---------------------------------------------------------------------- models and NumPy forwards
def _build(tmp):
    import numpy as np
    import sampan
    from sampan import nn
    sampan.seed(0)
    mlp = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    cnn = nn.Sequential(
        nn.Conv2D(3, 32, 3, 1, 1), nn.BatchNorm2D(32), nn.ReLU(),
        nn.Conv2D(32, 64, 3, 2, 1), nn.BatchNorm2D(64), nn.ReLU(),
        nn.Conv2D(64, 128, 3, 2, 1), nn.BatchNorm2D(128), nn.ReLU(),
        nn.Flatten(), nn.Linear(8192, 10))
    rng = np.random.default_rng(0)
    for layer in cnn:     # non-trivial running statistics, so folding them is really exercised
        if isinstance(layer, nn.BatchNorm2D):
            c = layer.weight.shape[0]
            layer._mean.set_value(rng.standard_normal(c).astype("float32") * 0.1)
            layer._variance.set_value(rng.uniform(0.5, 1.5, c).astype("float32"))
            layer.weight.set_value(rng.uniform(0.5, 1.5, c).astype("float32"))
            layer.bias.set_value(rng.standard_normal(c).astype("float32") * 0.1)
    out = {}
    for name, model, shape in (("mlp", mlp, [None, 784]), ("cnn", cnn, [None, 3, 32, 32])):
        model.eval()
        prefix = os.path.join(tmp, name)
        sampan.jit.save(model, prefix, input_spec=[sampan.static.InputSpec(shape, "float32", "x")])
        out[name] = (model, prefix)
    return out


def _mlp_numpy(model):
    import numpy as np
    (w1, b1), (w2, b2), (w3, b3) = [(m.weight.numpy(), m.bias.numpy()) for m in (model[0], model[2], model[4])]

    def forward(x):
        h = x @ w1
        h += b1
        np.maximum(h, 0, out=h)
        h2 = h @ w2
        h2 += b2
        np.maximum(h2, 0, out=h2)
        y = h2 @ w3
        y += b3
        return y
    return forward


def _cnn_numpy(model):
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view
    layers = []
    for i in (0, 3, 6):
        conv, bn = model[i], model[i + 1]
        w = conv.weight.numpy().astype(np.float64)
        s = bn.weight.numpy().astype(np.float64) / np.sqrt(bn._variance.numpy().astype(np.float64) + bn._epsilon)
        b = (conv.bias.numpy() - bn._mean.numpy()) * s + bn.bias.numpy()
        m = w.shape[0]
        wm = (w * s[:, None, None, None]).reshape(m, -1).astype(np.float32)                       # (M, C*9)
        layers.append((wm, b.astype(np.float32), conv._stride[0]))
    wl, bl = model[10].weight.numpy(), model[10].bias.numpy()

    def forward(x):
        n = x.shape[0]
        for wm, b, stride in layers:
            xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
            win = sliding_window_view(xp, (3, 3), axis=(2, 3))[:, :, ::stride, ::stride]   # N C OH OW 3 3
            c, oh, ow = win.shape[1:4]
            cols = win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * 9, oh * ow)              # one copy
            y = np.matmul(wm, cols)                                                         # N M OH*OW: NCHW
            y += b[:, None]
            np.maximum(y, 0, out=y)
            x = y.reshape(n, -1, oh, ow)
        y = x.reshape(n, -1) @ wl
        y += bl
        return y
    return forward


# ---------------------------------------------------------------------- timing
def _per_call(fn, min_time):
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time:
            return dt / n
        n = max(n * 2, int(n * min_time / max(dt, 1e-9)) + 1)


def _bench_rounds(fns, repeat, min_time):
    best = {k: float("inf") for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():     # interleaved: a disturbed stretch hurts every contender alike
            best[k] = min(best[k], _per_call(fn, min_time))
    return best


def _worker(repeat, min_time):
    import numpy as np
    import sampan
    from sampan import inference
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        models = _build(tmp)
        rng = np.random.default_rng(1)
        for name, (model, prefix) in models.items():
            ref = _mlp_numpy(model) if name == "mlp" else _cnn_numpy(model)
            for batch in (1, 64):
                shape = (batch, 784) if name == "mlp" else (batch, 3, 32, 32)
                x = rng.standard_normal(shape).astype(np.float32)
                fns = {"numpy": lambda x=x, ref=ref: ref(x)}
                for opt in (True, False):
                    cfg = inference.Config(prefix + ".pdmodel", prefix + ".pdiparams")
                    cfg.disable_gpu()
                    cfg.switch_ir_optim(opt)
                    pred = inference.create_predictor(cfg)
                    ih = pred.get_input_handle(pred.get_input_names()[0])
                    oh = pred.get_output_handle(pred.get_output_names()[0])

                    def call(ih=ih, oh=oh, pred=pred, x=x):
                        ih.copy_from_cpu(x)
                        pred.run()
                        return oh.copy_to_cpu()
                    got = call()
                    np.testing.assert_allclose(got, ref(x), rtol=1e-4, atol=1e-4,
                                               err_msg=f"{name} batch {batch}: predictor != NumPy forward")
                    fns["predictor" if opt else "predictor_noopt"] = call
                sampan.enable_static()
                try:
                    exe = sampan.static.Executor(sampan.CPUPlace())
                    scope = sampan.static.Scope()
                    with sampan.static.scope_guard(scope):
                        prog, feeds, fetches = sampan.static.load_inference_model(prefix, exe)

                    def ex(exe=exe, prog=prog, feeds=feeds, fetches=fetches, scope=scope, x=x):
                        return exe.run(prog, feed={feeds[0]: x}, fetch_list=fetches, scope=scope)
                    best = _bench_rounds({**fns, "executor": ex}, repeat, min_time)
                finally:
                    sampan.disable_static()
                rows.append({"model": name, "batch": batch, **{k: v * 1e6 for k, v in best.items()}})
    return rows


# ---------------------------------------------------------------------- driver
def _run_setting(threads, repeat, min_time):
    env = dict(os.environ)
    for v in _THREAD_VARS:
        env.pop(v, None)
        if threads != "all":
            env[v] = str(threads)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--repeat", str(repeat), "--min-time", str(min_time)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if res.returncode:
        sys.stderr.write(res.stdout + res.stderr)
        raise SystemExit(f"worker failed (threads={threads})")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _fmt(us):
    return f"{us / 1000:8.2f} ms" if us >= 10000 else f"{us:8.1f} us"


def _report(threads, rows):
    print(f"\nBLAS threads: {threads} (same for NumPy and sampan)")
    print(f"{'model':5} {'batch':>5} | {'numpy':>11} | {'predictor':>11} {'ratio':>6} | "
          f"{'no ir_optim':>11} {'ratio':>6} | {'Executor':>11} {'ratio':>6}")
    ok = True
    for r in rows:
        ratio = r["predictor"] / r["numpy"]
        ok &= ratio <= TARGET_RATIO
        print(f"{r['model']:5} {r['batch']:>5} | {_fmt(r['numpy'])} | {_fmt(r['predictor'])} {ratio:6.2f} | "
              f"{_fmt(r['predictor_noopt'])} {r['predictor_noopt'] / r['numpy']:6.2f} | "
              f"{_fmt(r['executor'])} {r['executor'] / r['numpy']:6.2f}")
    b1 = next(r for r in rows if r["model"] == "mlp" and r["batch"] == 1)
    print(f"target: predictor <= {TARGET_RATIO}x NumPy everywhere: {'met' if ok else 'NOT met'}")
    if threads == "1":
        met = b1["predictor"] < PADDLE_MLP_B1_US
        print(f"target: MLP batch 1 below Paddle 3.3.1's predictor ({PADDLE_MLP_B1_US:.0f} us): "
              f"{b1['predictor']:.1f} us, {'met' if met else 'NOT met'}")
        # Paddle's figure was taken on the project's machine, where this NumPy forward takes ~100 us:
        # the ratio carries over between machines better than the absolute time
        est = b1["predictor"] / b1["numpy"] * PROJECT_NUMPY_MLP_B1_US
        print(f"        scaled to the project machine (NumPy forward {PROJECT_NUMPY_MLP_B1_US:.0f} us there): "
              f"~{est:.0f} us vs Paddle {PADDLE_MLP_B1_US:.0f} us")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,all", help="comma-separated BLAS thread settings ('all' = unset)")
    ap.add_argument("--repeat", type=int, default=15, help="rounds per measurement (best is reported)")
    ap.add_argument("--min-time", type=float, default=0.05, help="seconds per round")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        sys.path.insert(0, ROOT)
        print(json.dumps(_worker(a.repeat, a.min_time)))
        return
    for t in a.threads.split(","):
        _report(t.strip(), _run_setting(t.strip(), a.repeat, a.min_time))


if __name__ == "__main__":
    main()
