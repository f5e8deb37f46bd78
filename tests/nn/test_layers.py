"""Layers: Paddle 2.6.2's parameter names, shapes, trainable flags and default initialisers
(``formats-appendix/param_names_2.6.2.txt``), and forward results against NumPy."""
import numpy as np
import pytest

import sampan as paddle
import sampan.nn as nn
from sampan.core import unique_name

# (constructor, [(state_dict key, tensor name, shape, trainable)]) from param_names_2.6.2.txt,
# each layer built first in a fresh unique-name scope
PADDLE_NAMES = [
    (lambda: nn.Linear(4, 3), [("weight", "linear_0.w_0", [4, 3], True), ("bias", "linear_0.b_0", [3], True)]),
    (lambda: nn.Conv2D(3, 4, 3), [("weight", "conv2d_0.w_0", [4, 3, 3, 3], True),
                                  ("bias", "conv2d_0.b_0", [4], True)]),
    (lambda: nn.Conv2D(4, 4, 3, groups=4), [("weight", "conv2d_0.w_0", [4, 1, 3, 3], True),
                                            ("bias", "conv2d_0.b_0", [4], True)]),
    (lambda: nn.Conv2DTranspose(4, 2, 3), [("weight", "conv2d_transpose_0.w_0", [4, 2, 3, 3], True),
                                           ("bias", "conv2d_transpose_0.b_0", [2], True)]),
    (lambda: nn.Conv1D(3, 4, 3), [("weight", "conv1d_0.w_0", [4, 3, 3], True), ("bias", "conv1d_0.b_0", [4], True)]),
    (lambda: nn.BatchNorm(4), [("weight", "batch_norm_0.w_0", [4], True), ("bias", "batch_norm_0.b_0", [4], True),
                               ("_mean", "batch_norm_0.w_1", [4], False),
                               ("_variance", "batch_norm_0.w_2", [4], False)]),
    (lambda: nn.BatchNorm1D(4), [("weight", "batch_norm1d_0.w_0", [4], True),
                                 ("bias", "batch_norm1d_0.b_0", [4], True),
                                 ("_mean", "batch_norm1d_0.w_1", [4], False),
                                 ("_variance", "batch_norm1d_0.w_2", [4], False)]),
    (lambda: nn.BatchNorm2D(4), [("weight", "batch_norm2d_0.w_0", [4], True),
                                 ("bias", "batch_norm2d_0.b_0", [4], True),
                                 ("_mean", "batch_norm2d_0.w_1", [4], False),
                                 ("_variance", "batch_norm2d_0.w_2", [4], False)]),
    (lambda: nn.LayerNorm(4), [("weight", "layer_norm_0.w_0", [4], True), ("bias", "layer_norm_0.b_0", [4], True)]),
    (lambda: nn.GroupNorm(2, 4), [("weight", "group_norm_0.w_0", [4], True), ("bias", "group_norm_0.b_0", [4], True)]),
    (lambda: nn.InstanceNorm2D(4), [("scale", "instance_norm2d_0.w_0", [4], True),
                                    ("bias", "instance_norm2d_0.b_0", [4], True)]),
    (lambda: nn.Embedding(10, 4), [("weight", "embedding_0.w_0", [10, 4], True)]),
    (lambda: nn.PReLU(), [("_weight", "p_re_lu_0.w_0", [1], True)]),
    (lambda: nn.MultiHeadAttention(8, 2), [
        (f"{p}.{w}", f"linear_{i}.{'w' if w == 'weight' else 'b'}_0", [8, 8] if w == "weight" else [8], True)
        for i, p in enumerate(["q_proj", "k_proj", "v_proj", "out_proj"]) for w in ("weight", "bias")]),
]


def _tel_names():
    rows = []
    for i, p in enumerate(["q_proj", "k_proj", "v_proj", "out_proj"]):
        rows += [(f"self_attn.{p}.weight", f"linear_{i}.w_0", [8, 8], True),
                 (f"self_attn.{p}.bias", f"linear_{i}.b_0", [8], True)]
    rows += [("linear1.weight", "linear_4.w_0", [8, 16], True), ("linear1.bias", "linear_4.b_0", [16], True),
             ("linear2.weight", "linear_5.w_0", [16, 8], True), ("linear2.bias", "linear_5.b_0", [8], True),
             ("norm1.weight", "layer_norm_0.w_0", [8], True), ("norm1.bias", "layer_norm_0.b_0", [8], True),
             ("norm2.weight", "layer_norm_1.w_0", [8], True), ("norm2.bias", "layer_norm_1.b_0", [8], True)]
    return rows


PADDLE_NAMES.append((lambda: nn.TransformerEncoderLayer(8, 2, 16), _tel_names()))
PADDLE_NAMES.append((lambda: nn.Sequential(nn.Linear(2, 2), nn.Conv2D(2, 2, 1), nn.Linear(2, 2), nn.BatchNorm2D(2),
                                           nn.LayerNorm(2), nn.Linear(2, 2)),
                     [(k, n, None, None) for k, n in [
                         ("0.weight", "linear_0.w_0"), ("0.bias", "linear_0.b_0"), ("1.weight", "conv2d_0.w_0"),
                         ("1.bias", "conv2d_0.b_0"), ("2.weight", "linear_1.w_0"), ("2.bias", "linear_1.b_0"),
                         ("3.weight", "batch_norm2d_0.w_0"), ("3.bias", "batch_norm2d_0.b_0"),
                         ("3._mean", "batch_norm2d_0.w_1"), ("3._variance", "batch_norm2d_0.w_2"),
                         ("4.weight", "layer_norm_0.w_0"), ("4.bias", "layer_norm_0.b_0"),
                         ("5.weight", "linear_2.w_0"), ("5.bias", "linear_2.b_0")]]))


@pytest.mark.parametrize("i", range(len(PADDLE_NAMES)))
def test_state_dict_keys_names_shapes_trainable_match_paddle(i):
    make, rows = PADDLE_NAMES[i]
    with unique_name.guard():
        layer = make()
    sd = layer.state_dict()
    assert [(k, v.name) for k, v in sd.items()] == [(k, n) for k, n, _, _ in rows]
    for k, _, shape, trainable in rows:
        if shape is not None:
            assert sd[k].shape == shape, k
            assert (not sd[k].stop_gradient) == trainable, k


def test_default_initialisers():
    paddle.seed(1)
    lin = nn.Linear(300, 200)
    lim = np.sqrt(6 / 500)
    w = lin.weight.numpy()
    assert w.max() <= lim and w.min() >= -lim and abs(w.std() - lim / np.sqrt(3)) < 0.01 * lim
    assert np.all(lin.bias.numpy() == 0)
    conv = nn.Conv2D(16, 32, 3)
    std = np.sqrt(2.0 / (9 * 16))           # Normal(0, sqrt(2 / (k*k*in_channels)))
    assert abs(conv.weight.numpy().std() - std) < 0.05 * std and np.all(conv.bias.numpy() == 0)
    bn = nn.BatchNorm2D(3)
    assert np.all(bn.weight.numpy() == 1) and np.all(bn.bias.numpy() == 0)
    assert np.all(bn._mean.numpy() == 0) and np.all(bn._variance.numpy() == 1)
    ln = nn.LayerNorm([2, 3])
    assert ln.weight.shape == [6] and np.all(ln.weight.numpy() == 1)
    assert np.all(nn.PReLU(3, init=0.1)._weight.numpy() == np.float32(0.1))
    emb = nn.Embedding(50, 40, padding_idx=-1)
    assert np.all(emb.weight.numpy()[49] == 0) and np.abs(emb.weight.numpy()[:49]).max() <= np.sqrt(6 / 90)


def test_attr_false_and_frozen_norm_params():
    assert nn.Linear(2, 3, bias_attr=False).bias is None
    assert list(nn.Linear(2, 3, bias_attr=False).state_dict()) == ["weight"]
    bn = nn.BatchNorm2D(2, weight_attr=False, bias_attr=False)
    assert bn.weight.stop_gradient and bn.bias.stop_gradient
    ln = nn.LayerNorm(4, weight_attr=False, bias_attr=False)
    assert ln.weight is None and ln.bias is None and ln.state_dict() == {}
    with pytest.raises(ValueError, match="weight_attr should not be False"):
        nn.Conv2D(2, 2, 3, weight_attr=False)
    frozen = nn.Linear(2, 2, weight_attr=paddle.ParamAttr(trainable=False))
    assert frozen.weight.stop_gradient and not frozen.bias.stop_gradient


def test_linear_conv_embedding_forward():
    lin = nn.Linear(3, 2)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    np.testing.assert_allclose(lin(paddle.to_tensor(x)).numpy(), x @ lin.weight.numpy() + lin.bias.numpy(),
                               rtol=1e-6, atol=1e-6)
    conv = nn.Conv2D(2, 3, 1, bias_attr=paddle.ParamAttr(initializer=nn.initializer.Constant(0.5)))
    xi = np.random.default_rng(1).standard_normal((1, 2, 4, 4)).astype("float32")
    want = np.einsum("oi,nihw->nohw", conv.weight.numpy()[:, :, 0, 0], xi) + 0.5
    np.testing.assert_allclose(conv(paddle.to_tensor(xi)).numpy(), want, rtol=1e-5, atol=1e-6)
    emb = nn.Embedding(5, 3, padding_idx=0)
    ids = np.array([[0, 4, 2]])
    np.testing.assert_array_equal(emb(paddle.to_tensor(ids)).numpy(), emb.weight.numpy()[ids])


def _np_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _np_mha(layer, q, k, v, mask=None):
    def proj(lin, x):
        return x @ lin.weight.numpy().astype(np.float64) + lin.bias.numpy()
    h, d = layer.num_heads, layer.head_dim

    def split(x):
        return x.reshape(x.shape[0], x.shape[1], h, d).transpose(0, 2, 1, 3)
    qh, kh, vh = split(proj(layer.q_proj, q)), split(proj(layer.k_proj, k)), split(proj(layer.v_proj, v))
    s = (qh * d ** -0.5) @ kh.transpose(0, 1, 3, 2)
    if mask is not None:
        s = s + mask
    e = np.exp(s - s.max(-1, keepdims=True))
    a = e / e.sum(-1, keepdims=True)
    o = (a @ vh).transpose(0, 2, 1, 3).reshape(q.shape[0], q.shape[1], h * d)
    return proj(layer.out_proj, o)


def test_multi_head_attention_matches_numpy_with_and_without_mask():
    mha = nn.MultiHeadAttention(8, 2)
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 5, 8)).astype("float32")
    kv = rng.standard_normal((2, 3, 8)).astype("float32")
    np.testing.assert_allclose(mha(paddle.to_tensor(q)).numpy(), _np_mha(mha, q, q, q), rtol=1e-4, atol=1e-5)
    out = mha(paddle.to_tensor(q), paddle.to_tensor(kv), paddle.to_tensor(kv))
    np.testing.assert_allclose(out.numpy(), _np_mha(mha, q, kv, kv), rtol=1e-4, atol=1e-5)
    keep = np.array([[True, True, False]] * 5)                 # bool mask: True = attend
    out = mha(paddle.to_tensor(q), paddle.to_tensor(kv), paddle.to_tensor(kv), attn_mask=paddle.to_tensor(keep))
    np.testing.assert_allclose(out.numpy(), _np_mha(mha, q, kv, kv, np.where(keep, 0.0, -1e9)), rtol=1e-4, atol=1e-5)
    mha.need_weights = True
    o, w = mha(paddle.to_tensor(q))
    assert w.shape == [2, 2, 5, 5]
    np.testing.assert_allclose(w.numpy().sum(-1), np.ones([2, 2, 5]), rtol=1e-5)


@pytest.mark.parametrize("normalize_before", [False, True])
def test_transformer_encoder_layer_matches_numpy(normalize_before):
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, normalize_before=normalize_before)
    layer.eval()
    x = np.random.default_rng(2).standard_normal((2, 4, 8)).astype("float32")

    def ln(norm, v):
        return _np_layer_norm(v, norm.weight.numpy(), norm.bias.numpy())
    h = ln(layer.norm1, x) if normalize_before else x
    s = x + _np_mha(layer.self_attn, h, h, h)
    if not normalize_before:
        s = ln(layer.norm1, s)
    h = ln(layer.norm2, s) if normalize_before else s
    ff = np.maximum(h @ layer.linear1.weight.numpy() + layer.linear1.bias.numpy(), 0)
    s = s + ff @ layer.linear2.weight.numpy() + layer.linear2.bias.numpy()
    if not normalize_before:
        s = ln(layer.norm2, s)
    np.testing.assert_allclose(layer(paddle.to_tensor(x)).numpy(), s, rtol=1e-4, atol=1e-5)


def test_transformer_encoder_stacks_fresh_copies_of_the_config():
    enc_layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    enc = nn.TransformerEncoder(enc_layer, 3, norm=nn.LayerNorm(8))
    assert len(enc.layers) == 3 and enc.layers[0] is enc_layer
    assert enc.layers[1].linear1.weight.name != enc_layer.linear1.weight.name
    assert enc.layers[2].linear1.weight.shape == [8, 16]
    x = paddle.rand([2, 3, 8])
    h = x
    for lay in enc.layers:
        h = lay(h)
    np.testing.assert_allclose(enc(x).numpy(), enc.norm(h).numpy(), rtol=1e-6)
    assert list(enc.state_dict())[0] == "layers.0.self_attn.q_proj.weight"


def test_transformer_full_model_runs_and_masks():
    t = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16,
                       dropout=0.0)
    src, tgt = paddle.rand([2, 5, 8]), paddle.rand([2, 3, 8])
    mask = t.generate_square_subsequent_mask(3)
    assert mask.numpy()[0, 1] == -np.inf and mask.numpy()[1, 0] == 0
    assert t(src, tgt, tgt_mask=mask).shape == [2, 3, 8]


def test_dropout_modes_and_eval():
    drop = nn.Dropout(0.5)
    x = paddle.ones([1000])
    y = drop(x).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 300 < (y == 0).sum() < 700
    drop.eval()
    np.testing.assert_array_equal(drop(x).numpy(), np.ones(1000))
    down = nn.Dropout(0.25, mode="downscale_in_infer")
    down.eval()
    np.testing.assert_allclose(down(x).numpy(), np.full(1000, 0.75))
    with pytest.raises(ValueError, match="mode"):
        nn.Dropout(0.5, mode="other")


def test_activation_layers_against_numpy():
    x = np.linspace(-4, 4, 17).astype("float32")
    t = paddle.to_tensor(x)
    sig = 1 / (1 + np.exp(-x))
    cases = {
        nn.ReLU(): np.maximum(x, 0), nn.ReLU6(): np.clip(x, 0, 6), nn.LeakyReLU(0.2): np.where(x >= 0, x, 0.2 * x),
        nn.Sigmoid(): sig, nn.Tanh(): np.tanh(x), nn.Swish(): x * sig, nn.SiLU(): x * sig,
        nn.Hardswish(): x * np.clip(x + 3, 0, 6) / 6, nn.Hardsigmoid(): np.clip(x / 6 + 0.5, 0, 1),
        nn.Softmax(): np.exp(x) / np.exp(x).sum(), nn.LogSoftmax(): x - np.log(np.exp(x).sum()),
        nn.ELU(): np.where(x > 0, x, np.exp(x) - 1), nn.Softplus(): np.log1p(np.exp(x)),
    }
    for layer, want in cases.items():
        np.testing.assert_allclose(layer(t).numpy(), want, rtol=1e-5, atol=1e-6, err_msg=type(layer).__name__)
    import math
    gelu = 0.5 * x * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x.astype(np.float64)]))
    np.testing.assert_allclose(nn.GELU()(t).numpy(), gelu, rtol=1e-5, atol=1e-6)
    pr = nn.PReLU(init=0.3)
    np.testing.assert_allclose(pr(t).numpy(), np.where(x >= 0, x, 0.3 * x), rtol=1e-6)


def test_pooling_flatten_pad_upsample_shapes_and_values():
    x = np.arange(32, dtype="float32").reshape(1, 2, 4, 4)
    t = paddle.to_tensor(x)
    np.testing.assert_array_equal(nn.MaxPool2D(2, 2)(t).numpy(), x.reshape(1, 2, 2, 2, 2, 2).max((3, 5)))
    np.testing.assert_allclose(nn.AvgPool2D(2, 2)(t).numpy(), x.reshape(1, 2, 2, 2, 2, 2).mean((3, 5)))
    np.testing.assert_allclose(nn.AdaptiveAvgPool2D(1)(t).numpy(), x.mean((2, 3), keepdims=True))
    assert nn.Flatten()(t).shape == [1, 32] and nn.Flatten(0, 1)(t).shape == [2, 4, 4]
    np.testing.assert_array_equal(nn.Pad2D([1, 0, 0, 2])(t).numpy(), np.pad(x, [(0, 0), (0, 0), (0, 2), (1, 0)]))
    up = nn.Upsample(scale_factor=2, mode="nearest")(t).numpy()
    np.testing.assert_array_equal(up, x.repeat(2, 2).repeat(2, 3))


def test_batchnorm_training_updates_running_stats_with_paddle_momentum():
    bn = nn.BatchNorm2D(2, momentum=0.9)
    x = np.random.default_rng(3).standard_normal((4, 2, 3, 3)).astype("float32")
    y = bn(paddle.to_tensor(x)).numpy()
    mu, var = x.mean((0, 2, 3)), x.var((0, 2, 3))
    np.testing.assert_allclose(y, (x - mu[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn._mean.numpy(), 0.1 * mu, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(bn._variance.numpy(), 0.9 + 0.1 * var, rtol=1e-5)   # biased batch variance
    bn.eval()
    ye = bn(paddle.to_tensor(x)).numpy()
    m, v = bn._mean.numpy(), bn._variance.numpy()
    np.testing.assert_allclose(ye, (x - m[None, :, None, None]) / np.sqrt(v[None, :, None, None] + 1e-5),
                               rtol=1e-4, atol=1e-5)


def test_losses_against_numpy():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((5, 3)).astype("float32")
    label = np.array([[0], [2], [1], [1], [0]])
    lsm = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    ce = -lsm[np.arange(5), label[:, 0]].mean()
    np.testing.assert_allclose(nn.CrossEntropyLoss()(paddle.to_tensor(logits), paddle.to_tensor(label)).numpy(),
                               ce, rtol=1e-5)
    np.testing.assert_allclose(nn.NLLLoss()(paddle.to_tensor(lsm), paddle.to_tensor(label[:, 0])).numpy(), ce,
                               rtol=1e-5)
    a, b = rng.standard_normal((4, 3)).astype("float32"), rng.standard_normal((4, 3)).astype("float32")
    ta, tb = paddle.to_tensor(a), paddle.to_tensor(b)
    np.testing.assert_allclose(nn.MSELoss()(ta, tb).numpy(), ((a - b) ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(nn.L1Loss(reduction="sum")(ta, tb).numpy(), np.abs(a - b).sum(), rtol=1e-5)
    d = np.abs(a - b)
    np.testing.assert_allclose(nn.SmoothL1Loss()(ta, tb).numpy(), np.where(d < 1, 0.5 * d * d, d - 0.5).mean(),
                               rtol=1e-5)
    p = 1 / (1 + np.exp(-a))
    y = (b > 0).astype("float32")
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
    np.testing.assert_allclose(nn.BCELoss()(paddle.to_tensor(p), paddle.to_tensor(y)).numpy(), bce, rtol=1e-5)
    np.testing.assert_allclose(nn.BCEWithLogitsLoss()(ta, paddle.to_tensor(y)).numpy(), bce, rtol=1e-5)
    q = np.exp(lsm)
    kl = (q * (np.log(q) - lsm[::-1])).mean()
    np.testing.assert_allclose(nn.KLDivLoss()(paddle.to_tensor(lsm[::-1].copy()), paddle.to_tensor(q)).numpy(), kl,
                               rtol=1e-5)
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


def test_containers():
    seq = nn.Sequential(("a", nn.Linear(2, 3)), ("b", nn.ReLU()))
    assert list(seq.state_dict()) == ["a.weight", "a.bias"] and isinstance(seq["b"], nn.ReLU)
    assert isinstance(seq[0], nn.Linear) and len(seq[:1]) == 1 and len(seq) == 2
    ll = nn.LayerList([nn.Linear(2, 2)])
    ll.append(nn.Linear(2, 3))
    ll.insert(0, nn.ReLU())
    assert [type(x).__name__ for x in ll] == ["ReLU", "Linear", "Linear"]
    assert list(ll.state_dict()) == ["1.weight", "1.bias", "2.weight", "2.bias"]
    del ll[0]
    assert list(ll.state_dict())[0] == "0.weight" and ll[-1].weight.shape == [2, 3]
    ld = nn.LayerDict({"x": nn.Linear(1, 1)})
    ld["y"] = nn.Linear(1, 2)
    assert list(ld.keys()) == ["x", "y"] and "y" in ld and len(ld) == 2
    ld.pop("x")
    assert list(ld.state_dict()) == ["y.weight", "y.bias"]
    lin = nn.Linear(2, 2)
    pl = nn.ParameterList([lin.weight])
    pl.append(lin.bias)
    assert list(pl.state_dict()) == ["0", "1"] and pl[1] is lin.bias and len(pl.parameters()) == 2
    with pytest.raises(IndexError):
        ll[5]


def test_repr_lists_sublayers():
    r = repr(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))
    assert "(0): Linear(in_features=2, out_features=3" in r and "(1): ReLU()" in r
