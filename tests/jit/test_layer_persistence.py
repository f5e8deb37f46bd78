"""Every layer is a persistence test: state_dict round trip, jit.save -> jit.load gives the eager
output, and one fine-tune step on the loaded layer equals one step on the original."""
import numpy as np
import pytest

import sampan as paddle
import sampan.nn as nn
from sampan.static import InputSpec

R = np.random.default_rng(7)


def f32(*shape):
    return lambda: R.uniform(-1, 1, shape).astype(np.float32)


def ids(*shape, high=10):
    return lambda: R.integers(0, high, shape).astype(np.int64)


# name -> (layer factory, input sampler, dynamic batch dim?)
CASES = {
    "Linear": (lambda: nn.Linear(8, 4), f32(3, 8)),
    "Conv2D": (lambda: nn.Conv2D(3, 4, 3, padding=1), f32(2, 3, 6, 6)),
    "Conv2D_groups_stride": (lambda: nn.Conv2D(4, 4, 3, stride=2, groups=4), f32(2, 4, 7, 7)),
    "Conv2DTranspose": (lambda: nn.Conv2DTranspose(3, 2, 3, stride=2), f32(2, 3, 4, 4)),
    "Conv1D": (lambda: nn.Conv1D(3, 4, 3), f32(2, 3, 10)),
    "BatchNorm2D": (lambda: nn.BatchNorm2D(3), f32(4, 3, 5, 5)),
    "BatchNorm1D": (lambda: nn.BatchNorm1D(4), f32(6, 4)),
    "BatchNorm": (lambda: nn.BatchNorm(3), f32(4, 3, 5, 5)),
    "LayerNorm": (lambda: nn.LayerNorm(8), f32(3, 5, 8)),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4), f32(2, 4, 5, 5)),
    "InstanceNorm2D": (lambda: nn.InstanceNorm2D(3), f32(2, 3, 5, 5)),
    "Embedding": (lambda: nn.Embedding(10, 4, padding_idx=0), ids(2, 5)),
    "Dropout": (lambda: nn.Dropout(0.5), f32(4, 8)),
    "ReLU": (lambda: nn.ReLU(), f32(3, 8)),
    "ReLU6": (lambda: nn.ReLU6(), f32(3, 8)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.1), f32(3, 8)),
    "GELU": (lambda: nn.GELU(), f32(3, 8)),
    "Sigmoid": (lambda: nn.Sigmoid(), f32(3, 8)),
    "Tanh": (lambda: nn.Tanh(), f32(3, 8)),
    "Softmax": (lambda: nn.Softmax(-1), f32(3, 8)),
    "LogSoftmax": (lambda: nn.LogSoftmax(-1), f32(3, 8)),
    "Hardswish": (lambda: nn.Hardswish(), f32(3, 8)),
    "Hardsigmoid": (lambda: nn.Hardsigmoid(), f32(3, 8)),
    "Swish": (lambda: nn.Swish(), f32(3, 8)),
    "SiLU": (lambda: nn.SiLU(), f32(3, 8)),
    "PReLU": (lambda: nn.PReLU(), f32(3, 8)),
    "MaxPool2D": (lambda: nn.MaxPool2D(2, 2), f32(2, 3, 6, 6)),
    "AvgPool2D": (lambda: nn.AvgPool2D(2, 2), f32(2, 3, 6, 6)),
    "AdaptiveAvgPool2D": (lambda: nn.AdaptiveAvgPool2D(1), f32(2, 3, 6, 6)),
    "AdaptiveMaxPool2D": (lambda: nn.AdaptiveMaxPool2D(2), f32(2, 3, 6, 6)),
    "Flatten": (lambda: nn.Flatten(), f32(2, 3, 4, 4)),
    "Identity": (lambda: nn.Identity(), f32(3, 8)),
    "Pad2D": (lambda: nn.Pad2D(1, mode="reflect"), f32(2, 3, 4, 4)),
    "Upsample": (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), f32(2, 3, 4, 4)),
    "Sequential": (lambda: nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 2)), f32(3, 8)),
    "MultiHeadAttention": (lambda: nn.MultiHeadAttention(8, 2), f32(2, 5, 8)),
    "TransformerEncoderLayer": (lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), f32(2, 5, 8)),
    "TransformerEncoder": (lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), 2),
                           f32(2, 5, 8)),
    "LSTM": (lambda: nn.LSTM(3, 4), f32(2, 5, 3)),
    "GRU": (lambda: nn.GRU(3, 4, direction="bidirect"), f32(2, 5, 3)),
    "SimpleRNN": (lambda: nn.SimpleRNN(3, 4, num_layers=2), f32(2, 5, 3)),
}


class Wrap(nn.Layer):
    """Gives every layer one Tensor output (the first of a tuple)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        out = self.inner(x)
        while isinstance(out, (tuple, list)):
            out = out[0]
        return out


def _step(layer, x, w, seed):
    opt = paddle.optimizer.SGD(learning_rate=0.1, parameters=layer.parameters()) if layer.parameters() else None
    paddle.seed(seed)
    xt = paddle.to_tensor(x, stop_gradient=x.dtype.kind != "f")
    out = layer(xt)
    loss = (out * paddle.to_tensor(w)).sum()
    loss.backward()
    if opt is not None:
        opt.step()
        opt.clear_grad()
    return out.numpy(), (xt.grad.numpy() if xt.grad is not None else None)


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_persists(name, tmp_path):
    make, sample = CASES[name]
    x = sample()
    net = Wrap(make())
    # state_dict round trip through a file
    paddle.save(net.state_dict(), str(tmp_path / "p.pdparams"))
    with paddle.utils.unique_name.guard():
        twin = Wrap(make())
    twin.set_state_dict(paddle.load(str(tmp_path / "p.pdparams")))
    for (k, a), (k2, b) in zip(net.state_dict().items(), twin.state_dict().items()):
        assert k == k2
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # jit.save / jit.load in eval mode
    net.eval()
    spec = [InputSpec([None] + list(x.shape[1:]), str(x.dtype), "x")]
    paddle.jit.save(net, str(tmp_path / "m"), input_spec=spec)
    loaded = paddle.jit.load(str(tmp_path / "m"))
    loaded.eval()
    expect = net(paddle.to_tensor(x)).numpy()
    np.testing.assert_allclose(loaded(paddle.to_tensor(x)).numpy(), expect, rtol=1e-5, atol=1e-6)
    # other batch sizes run through the same program
    x2 = np.concatenate([x, x], axis=0)
    np.testing.assert_allclose(loaded(paddle.to_tensor(x2)).numpy(), net(paddle.to_tensor(x2)).numpy(),
                               rtol=1e-5, atol=1e-6)
    # one fine-tune step (train mode) on each gives the same parameters
    net.train()
    loaded.train()
    w = np.random.default_rng(3).uniform(0.5, 1.5, expect.shape).astype(np.float32)
    out_net, gx_net = _step(net, x, w, seed=11)
    out_loaded, gx_loaded = _step(loaded, x, w, seed=11)
    np.testing.assert_allclose(out_loaded, out_net, rtol=1e-5, atol=1e-6)
    if gx_net is not None:   # the gradient reaches the input through the loaded program too
        np.testing.assert_allclose(gx_loaded, gx_net, rtol=1e-4, atol=1e-6)
    by_structured = loaded.state_dict()
    covered = set()
    for k, v in net.state_dict().items():
        if k in by_structured:   # RNNs list each parameter under two keys; the file records one
            covered.add(v.name)
            np.testing.assert_allclose(by_structured[k].numpy(), v.numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{name}: {k} after one step")
    assert covered == {v.name for v in net.state_dict().values()}, f"{name}: parameters not compared"
