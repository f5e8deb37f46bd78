"""Eager training-step speed: sampan vs a hand-written NumPy forward+backward+Adam loop.

(a) the guide's LinearNet (784 -> 10), batch 16, CrossEntropyLoss, Adam;
(b) an MLP 784-512-512-10 (ReLU), batch 64, CrossEntropyLoss, Adam.

Both sides run in the same process with the same BLAS thread setting; the script re-runs itself
once per setting (``--threads 1`` and the default). Prints step times and the ratio sampan/NumPy.

    python bench/train_step.py            # both settings
    python bench/train_step.py --threads 1
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time


def _numpy_step_factory(np, sizes, batch, rng):
    """A hand-written loop of the same math: linear layers (+ReLU), softmax CE, Adam."""
    Ws = [rng.uniform(-0.05, 0.05, (a, b)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(b, np.float32) for b in sizes[1:]]
    params = [p for pair in zip(Ws, bs) for p in pair]
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    tmp = [np.empty_like(p) for p in params]
    state = {"b1p": 0.9, "b2p": 0.999}
    lr, b1, b2, eps = 0.001, 0.9, 0.999, 1e-8

    def step(x, y):
        acts = [x]
        h = x
        for i in range(len(Ws)):
            h = h @ Ws[i] + bs[i]
            if i < len(Ws) - 1:
                h = np.maximum(h, 0)
            acts.append(h)
        m = h.max(axis=1, keepdims=True)
        e = np.exp(h - m)
        p = e / e.sum(axis=1, keepdims=True)
        n = x.shape[0]
        loss = -np.log(p[np.arange(n), y]).mean()
        g = p
        g[np.arange(n), y] -= 1.0
        g /= n
        grads = [None] * len(params)
        for i in range(len(Ws) - 1, -1, -1):
            grads[2 * i] = acts[i].T @ g
            grads[2 * i + 1] = g.sum(axis=0)
            if i:
                g = (g @ Ws[i].T) * (acts[i] > 0)
        lr_t = float(lr * np.sqrt(1 - state["b2p"]) / (1 - state["b1p"]))
        eps_t = float(eps * np.sqrt(1 - state["b2p"]))
        for k, (pp, gg) in enumerate(zip(params, grads)):
            # in place, with one scratch buffer: no page faults from fresh temporaries
            t = tmp[k]
            m1[k] *= b1
            np.multiply(gg, 1 - b1, out=t)
            m1[k] += t
            m2[k] *= b2
            np.multiply(gg, gg, out=t)
            t *= 1 - b2
            m2[k] += t
            np.sqrt(m2[k], out=t)
            t += eps_t
            np.divide(m1[k], t, out=t)
            t *= lr_t
            pp -= t
        state["b1p"] *= b1
        state["b2p"] *= b2
        return loss
    return step


def _sampan_step_factory(sizes):
    import sampan as paddle
    import sampan.nn as nn

    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    net = nn.Sequential(*layers)
    loss_fn = nn.CrossEntropyLoss()
    opt = paddle.optimizer.Adam(learning_rate=0.001, parameters=net.parameters())

    def step(x, y):
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        opt.clear_grad()
        return loss
    return step, paddle


def _time(fn, args, reps, warm=20):
    for _ in range(warm):
        fn(*args)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn(*args)
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def run_case(name, sizes, batch, reps):
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.random((batch, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], batch)
    np_step = _numpy_step_factory(np, sizes, batch, rng)
    sp_step, paddle = _sampan_step_factory(sizes)
    xt, yt = paddle.to_tensor(x), paddle.to_tensor(y.reshape(-1, 1))
    t_np = _time(np_step, (x, y), reps)
    t_sp = _time(sp_step, (xt, yt), reps)
    print(f"  {name:<34} numpy {t_np * 1e6:9.1f} us/step   sampan {t_sp * 1e6:9.1f} us/step   "
          f"ratio {t_sp / t_np:5.2f}x", flush=True)
    return t_sp / t_np


def child():
    print(f"threads={os.environ.get('OPENBLAS_NUM_THREADS', 'default')}")
    ra = run_case("(a) LinearNet 784-10, batch 16", [784, 10], 16, 300)
    rb = run_case("(b) MLP 784-512-512-10, batch 64", [784, 512, 512, 10], 64, 30)
    print(f"  targets: (a) <= 1.5x -> {'met' if ra <= 1.5 else 'NOT met'}; (b) <= 1.2x -> "
          f"{'met' if rb <= 1.2 else 'NOT met'}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", choices=["1", "default", "both"], default="both")
    ap.add_argument("--child", action="store_true")
    a = ap.parse_args()
    if a.child:
        return child()
    settings = ["1", "default"] if a.threads == "both" else [a.threads]
    for s in settings:
        env = dict(os.environ)
        for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            if s == "1":
                env[k] = "1"
            else:
                env.pop(k, None)
        subprocess.run([sys.executable, os.path.abspath(__file__), "--child"], env=env, check=True)


if __name__ == "__main__":
    main()
