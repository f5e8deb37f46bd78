"""The op test harness: one table of specs, each checked the same way.

A spec names a public function, a NumPy float64 reference and input samplers. ``check_spec``:

1. forward: the function on float32 inputs matches the reference computed in float64;
2. backward: with float64 inputs, the gradient of ``sum(out * w)`` (random ``w``) w.r.t. every
   differentiable input matches central differences of the same function;
3. static: the function built under ``program_guard`` and run by the Executor matches eager
   (skipped with a reason until ``sampan.static.Executor`` exists).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import sampan as paddle


@dataclass
class OpSpec:
    name: str
    fn: Callable                 # fn(*tensors, **kwargs) -> Tensor (or tuple; `pick` selects)
    ref: Callable                # ref(*float64 arrays, **kwargs) -> ndarray
    inputs: list                 # per input: callable(rng) -> ndarray, or a shape (uniform(-1, 1))
    kwargs: dict = field(default_factory=dict)
    grad: tuple | None = None    # indices of inputs to differentiate (default: every float input)
    rtol: float = 1e-5
    atol: float = 1e-6
    grad_rtol: float = 1e-4
    grad_atol: float = 1e-6
    eps: float = 1e-6
    pick: int | None = None      # when fn returns a tuple, which output to check
    static: bool = True          # also compare with the static Executor
    nondiff: bool = False        # op has no gradient

    def __repr__(self):
        return self.name


def sample(spec: OpSpec, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for s in spec.inputs:
        a = s(rng) if callable(s) else rng.uniform(-1, 1, size=s)
        out.append(np.asarray(a))
    return out


def _pick(spec, r):
    if isinstance(r, (tuple, list)):
        return r[spec.pick or 0]
    return r


def _tensors(arrays, float_dtype, stop_gradient=True):
    ts = []
    for a in arrays:
        if a.dtype.kind == "f":
            ts.append(paddle.to_tensor(a.astype(float_dtype), stop_gradient=stop_gradient))
        else:
            ts.append(paddle.to_tensor(a))
    return ts


def check_forward(spec: OpSpec):
    arrays = sample(spec)
    ref = np.asarray(spec.ref(*[a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays], **spec.kwargs))
    out = _pick(spec, spec.fn(*_tensors(arrays, np.float32), **spec.kwargs))
    got = out.numpy()
    assert list(got.shape) == list(ref.shape), f"{spec.name}: shape {got.shape} != reference {ref.shape}"
    np.testing.assert_allclose(got.astype(np.float64) if got.dtype.kind in "fc" else got, ref,
                               rtol=spec.rtol, atol=spec.atol, err_msg=f"{spec.name} forward")


def check_backward(spec: OpSpec):
    if spec.nondiff:
        return
    arrays = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in sample(spec)]
    idx = spec.grad if spec.grad is not None else tuple(i for i, a in enumerate(arrays) if a.dtype.kind == "f")
    ts = _tensors(arrays, np.float64)
    for i in idx:
        ts[i].stop_gradient = False
    out = _pick(spec, spec.fn(*ts, **spec.kwargs))
    w = np.random.default_rng(1).uniform(0.5, 1.5, size=out.shape)
    loss = (out * paddle.to_tensor(w)).sum()
    loss.backward()

    def f(vals):
        with paddle.no_grad():
            o = _pick(spec, spec.fn(*_tensors(vals, np.float64), **spec.kwargs))
        return float((o.numpy() * w).sum())

    for i in idx:
        analytic = ts[i].grad
        assert analytic is not None, f"{spec.name}: no gradient reached input {i}"
        num = np.zeros_like(arrays[i])
        flat = arrays[i].reshape(-1)
        for k in range(flat.size):
            orig = flat[k]
            flat[k] = orig + spec.eps
            fp = f(arrays)
            flat[k] = orig - spec.eps
            fm = f(arrays)
            flat[k] = orig
            num.reshape(-1)[k] = (fp - fm) / (2 * spec.eps)
        np.testing.assert_allclose(analytic.numpy(), num, rtol=spec.grad_rtol, atol=spec.grad_atol,
                                   err_msg=f"{spec.name} backward, input {i}")


def check_static(spec: OpSpec):
    """Eager vs the static Executor on the same inputs."""
    import pytest
    static = paddle.static
    if not spec.static:
        pytest.skip(f"{spec.name}: marked static=False (a shape or index given as a Tensor value, or an "
                    "output whose size depends on the data, cannot be built from fixed InputSpecs)")
    arrays = sample(spec)
    eager = _pick(spec, spec.fn(*_tensors(arrays, np.float32), **spec.kwargs)).numpy()
    feeds = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in arrays]
    main, startup = static.Program(), static.Program()
    paddle.enable_static()
    try:
        with static.program_guard(main, startup):
            vs = [static.data(f"in{i}", list(a.shape), str(a.dtype)) for i, a in enumerate(feeds)]
            out = _pick(spec, spec.fn(*vs, **spec.kwargs))
        exe = static.Executor(paddle.CPUPlace())
        exe.run(startup)
        got, = exe.run(main, feed={f"in{i}": a for i, a in enumerate(feeds)}, fetch_list=[out])
    finally:
        paddle.disable_static()
    np.testing.assert_allclose(got, eager, rtol=1e-6, atol=1e-7, err_msg=f"{spec.name} static vs eager")


def spec_tests(specs):
    """The table's three checks as parametrised pytest functions, for a module's ``SPECS``::

        test_forward, test_backward, test_static = spec_tests(SPECS)
    """
    import pytest

    @pytest.mark.parametrize("spec", specs, ids=repr)
    def test_forward(spec):
        check_forward(spec)

    @pytest.mark.parametrize("spec", [s for s in specs if not s.nondiff], ids=repr)
    def test_backward(spec):
        check_backward(spec)

    @pytest.mark.parametrize("spec", specs, ids=repr)
    def test_static(spec):
        check_static(spec)

    return test_forward, test_backward, test_static
