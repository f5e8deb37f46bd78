"""Tensor behaviour: dtypes, stop_gradient, autograd accumulation, detach/clone, item, astype, methods,
operators with Python scalars, indexing with gradient."""
import numpy as np
import pytest

import sampan as paddle


def test_dtype_names_and_comparisons():
    x = paddle.to_tensor([1.0, 2.0])
    assert x.dtype == paddle.float32 and x.dtype == "float32" and str(x.dtype) == "paddle.float32"
    assert paddle.to_tensor([1, 2]).dtype == paddle.int64
    assert paddle.to_tensor([True]).dtype == paddle.bool
    assert paddle.to_tensor(np.zeros(2, np.float64)).dtype == paddle.float64
    assert paddle.to_tensor([1.0], dtype="float16").dtype == paddle.float16
    b = paddle.to_tensor([1.0, 2.5], dtype="bfloat16")
    assert b.dtype == paddle.bfloat16 and b.numpy().dtype == np.float32
    np.testing.assert_array_equal(b.numpy(), [1.0, 2.5])


def test_cast_to_bfloat16_and_back():
    x = paddle.to_tensor([1.0, -2.5, 3.140625])
    b = x.astype("bfloat16")
    assert b.dtype == paddle.bfloat16
    np.testing.assert_array_equal(b.numpy(), [1.0, -2.5, 3.140625])
    back = b.astype("float32")
    assert back.dtype == paddle.float32
    np.testing.assert_array_equal(back.numpy(), [1.0, -2.5, 3.140625])


def test_stop_gradient_defaults():
    assert paddle.to_tensor([1.0]).stop_gradient
    assert paddle.ones([2]).stop_gradient
    p = paddle.Parameter(np.zeros(2, np.float32))
    assert not p.stop_gradient and p.trainable
    x = paddle.to_tensor([1.0], stop_gradient=False)
    assert not (x * 2).stop_gradient
    assert (paddle.to_tensor([1.0]) * 2).stop_gradient


def test_grad_accumulates_and_clear_gradient():
    x = paddle.to_tensor([1.0, 2.0], stop_gradient=False)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 7.0])
    x.clear_gradient()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    x.clear_gradient(set_to_zero=False)
    assert x.grad is None


def test_grad_dtype_and_shape_follow_the_tensor():
    x = paddle.to_tensor(np.ones([2, 3], np.float32), stop_gradient=False)
    (x.sum(axis=0) * paddle.to_tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.dtype == paddle.float32 and x.grad.shape == [2, 3]
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 2, 3], [1, 2, 3]])


def test_detach_cuts_the_graph_and_shares_values():
    x = paddle.to_tensor([1.0, 2.0], stop_gradient=False)
    d = x.detach()
    assert d.stop_gradient
    np.testing.assert_array_equal(d.numpy(), x.numpy())
    y = (x * d).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0])


def test_clone_keeps_gradient_flow_and_copies():
    x = paddle.to_tensor([1.0, 2.0], stop_gradient=False)
    c = x.clone()
    assert not c.stop_gradient and c._data is not x._data
    (c * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_item_float_int_bool():
    assert paddle.to_tensor(2.5).item() == 2.5
    assert isinstance(paddle.to_tensor([7]).item(), int)
    assert float(paddle.to_tensor([1.5])) == 1.5
    assert int(paddle.to_tensor(3)) == 3
    assert bool(paddle.to_tensor(True))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(paddle.to_tensor([1.0, 2.0]))
    assert paddle.to_tensor([[1, 2], [3, 4]]).item(1, 0) == 3


def test_astype_and_cast():
    x = paddle.to_tensor([1.7, -2.2])
    assert x.astype("int32").dtype == paddle.int32
    np.testing.assert_array_equal(x.astype(paddle.int64).numpy(), [1, -2])
    assert x.astype(np.float64).dtype == paddle.float64
    assert paddle.cast(x, "bool").numpy().tolist() == [True, True]
    y = paddle.to_tensor([1.5, 2.5], stop_gradient=False)
    (y.astype("float64") * 2).sum().backward()
    assert y.grad.dtype == paddle.float32
    np.testing.assert_array_equal(y.grad.numpy(), [2.0, 2.0])


def test_operators_with_scalars_keep_float32():
    x = paddle.to_tensor([1.0, 2.0, 4.0])
    for y in (x + 1, 1 + x, x - 0.5, 0.5 - x, x * 2, 2 * x, x / 2, 2 / x, x ** 2, 2 ** x, -x, abs(x),
              x // 1.5, x % 1.5):
        assert y.dtype == paddle.float32, y
    np.testing.assert_allclose((2 / x).numpy(), [2.0, 1.0, 0.5])
    np.testing.assert_allclose((x % 1.5).numpy(), [1.0, 0.5, 1.0])
    np.testing.assert_allclose((2 ** x).numpy(), [2.0, 4.0, 16.0])
    assert (x > 1).dtype == paddle.bool


def test_operators_with_numpy_arrays_and_float64():
    x = paddle.to_tensor([1.0, 2.0])
    y = x + np.array([0.5, 0.5])
    assert y.dtype == paddle.float32
    np.testing.assert_allclose(y.numpy(), [1.5, 2.5])
    d = paddle.to_tensor(np.array([1.0, 2.0]))
    assert (d * 0.1).dtype == paddle.float64
    np.testing.assert_array_equal((d * 0.1).numpy(), np.array([1.0, 2.0]) * 0.1)


def test_tensor_methods_resolve_to_public_functions():
    x = paddle.to_tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.sum().item() == 21.0
    assert x.mean().item() == 3.5
    assert x.max().item() == 6.0 and x.min(axis=0).numpy().tolist() == [1.0, 2.0, 3.0]
    assert x.reshape([3, 2]).shape == [3, 2]
    assert x.transpose([1, 0]).shape == [3, 2]
    assert x.unsqueeze(0).shape == [1, 2, 3]
    assert x.flatten().shape == [6]
    assert x.matmul(paddle.ones([3, 1])).numpy().tolist() == [[6.0], [15.0]]
    assert x.argmax().item() == 5
    assert x.t().shape == [3, 2]
    assert x.numel() == 6 and x.dim() == 2 and x.ndim == 2 and x.size == 6
    assert x.abs().exp().log().shape == [2, 3]
    assert x.clip(2, 5).numpy().tolist() == [[2, 2, 3], [4, 5, 5]]
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    with pytest.raises(AttributeError, match="no attribute 'not_a_method'"):
        x.not_a_method()


def test_indexing_with_gradient():
    x = paddle.to_tensor(np.arange(12, dtype=np.float32).reshape(3, 4), stop_gradient=False)
    y = x[1:, ::2] * 2 + x[0, -1] + x[[2, 2], 1].sum()
    y.sum().backward()
    expected = np.zeros([3, 4], np.float32)
    expected[1:, ::2] += 2
    expected[0, -1] += 4
    expected[2, 1] += 2 * 4
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_inplace_methods():
    x = paddle.to_tensor([1.0, 2.0])
    y = x.reshape_([2, 1])
    assert y is x and x.shape == [2, 1]
    x.unsqueeze_(0)
    assert x.shape == [1, 2, 1]
    x.squeeze_()
    assert x.shape == [2]


def test_inplace_math_keeps_identity_and_graph():
    x = paddle.to_tensor([1.0, 4.0])
    ref = x
    x.add_(paddle.to_tensor([1.0, 1.0])).scale_(2.0).sqrt_()
    assert ref is x
    np.testing.assert_allclose(x.numpy(), [2.0, np.sqrt(10.0)])
    x.zero_()
    np.testing.assert_array_equal(x.numpy(), [0.0, 0.0])
    x.fill_(3.0)
    np.testing.assert_array_equal(x.numpy(), [3.0, 3.0])
    w = paddle.to_tensor([2.0], stop_gradient=False)
    h = w * 3
    h.exp_()
    h.backward()
    np.testing.assert_allclose(w.grad.numpy(), [3 * np.exp(6.0)], rtol=1e-6)
    with pytest.raises(RuntimeError, match="inplace"):
        w.add_(paddle.to_tensor([1.0]))


def test_0d_tensors():
    s = paddle.to_tensor(3.0)
    assert s.shape == [] and s.ndim == 0
    assert (s * 2).shape == []
    assert paddle.to_tensor([1.0, 2.0]).sum().shape == []


def test_backward_through_shared_subgraph():
    x = paddle.to_tensor([2.0], stop_gradient=False)
    h = x * x
    y = h * h + h
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4 * 2.0 ** 3 + 2 * 2.0])


def test_no_grad_produces_stop_gradient_results():
    x = paddle.to_tensor([1.0], stop_gradient=False)
    with paddle.no_grad():
        y = x * 2
    assert y.stop_gradient and y.is_leaf


def test_paddle_grad_function():
    x = paddle.to_tensor([3.0], stop_gradient=False)
    y = paddle.tanh(x) * x
    g, = paddle.grad(y, x)
    t = np.tanh(3.0)
    np.testing.assert_allclose(g.numpy(), [t + 3.0 * (1 - t * t)], rtol=1e-6)
    assert x.grad is None


def test_public_functions_work_on_static_variables():
    paddle.enable_static()
    try:
        main = paddle.static.Program()
        with paddle.static.program_guard(main, paddle.static.Program()):
            x = paddle.static.data("x", [None, 3], "float32")
            y = paddle.tanh(x).sum(axis=1).astype("float64")
            z = paddle.mean(paddle.concat([x, x * 2], axis=1))
        assert y.dtype == paddle.float64 and y.shape == [-1]
        assert z.shape == []
        exe = paddle.static.Executor(paddle.CPUPlace())
        xv = np.array([[0.1, 0.2, 0.3]], np.float32)
        gy, gz = exe.run(main, feed={"x": xv}, fetch_list=[y, z])
        np.testing.assert_allclose(gy, np.tanh(xv).sum(1), rtol=1e-6)
        np.testing.assert_allclose(gz, 0.3, rtol=1e-6)
    finally:
        paddle.disable_static()


def test_numpy_returns_a_copy_that_training_never_changes():
    import sampan.nn as nn
    lin = nn.Linear(3, 2)
    opt = paddle.optimizer.Adam(learning_rate=0.1, parameters=lin.parameters())
    for _ in range(2):
        lin(paddle.ones([4, 3])).sum().backward()
        opt.step()
        opt.clear_grad()
    snap = {k: v.numpy() for k, v in opt.state_dict().items() if hasattr(v, "numpy")}
    w = lin.weight.numpy()
    w[...] = 123.0   # writing into the copy does not touch the parameter
    assert not np.any(lin.weight.numpy() == 123.0)
    lin(paddle.ones([4, 3])).sum().backward()
    opt.step()
    after = {k: v.numpy() for k, v in opt.state_dict().items() if hasattr(v, "numpy")}
    assert any(not np.array_equal(snap[k], after[k]) for k in snap)
