"""nn.Layer: naming, attribute routing, traversal order, state_dict / set_state_dict, hooks, modes, casting."""
import warnings

import numpy as np
import pytest

import sampan as paddle
from sampan.nn import Layer
from sampan.core import unique_name


class Affine(Layer):
    """A layer built only on the Layer API (no nn.functional), for the base-class tests."""

    def __init__(self, i, o, bias=True):
        super().__init__()
        self.weight = self.create_parameter([i, o])
        self.bias = self.create_parameter([o], is_bias=True) if bias else None

    def forward(self, x):
        y = paddle.matmul(x, self.weight)
        return y if self.bias is None else paddle.add(y, self.bias)


class Net(Layer):
    def __init__(self):
        super().__init__()
        self.a = Affine(3, 4)
        self.b = Affine(4, 2)
        self.register_buffer("steps", paddle.to_tensor(np.zeros([1], "int64")))
        self.register_buffer("scratch", paddle.to_tensor(np.zeros([2], "float32")), persistable=False)

    def forward(self, x):
        return self.b(self.a(x))


def test_full_name_and_parameter_names_follow_unique_name_counters():
    net = Net()
    assert net.full_name() == "net_0"
    assert net.a.full_name() == "affine_0" and net.b.full_name() == "affine_1"
    assert [p.name for p in net.parameters()] == ["affine_0.w_0", "affine_0.b_0", "affine_1.w_0", "affine_1.b_0"]
    # a second net continues the counters, as in Paddle
    net2 = Net()
    assert net2.full_name() == "net_1" and net2.a.weight.name == "affine_2.w_0"


def test_name_scope_argument_and_default_snake_case():
    class BatchNormLike2D(Layer):
        pass
    assert BatchNormLike2D().full_name() == "batch_norm_like2d_0"
    assert Layer(name_scope="custom").full_name() == "custom_0"


def test_create_parameter_defaults_and_param_attr():
    lay = Layer()
    w = lay.create_parameter([4, 6])
    b = lay.create_parameter([6], is_bias=True)
    assert w.name == "layer_0.w_0" and b.name == "layer_0.b_0"
    lim = np.sqrt(6.0 / (4 + 6))          # XavierUniform bound
    assert np.abs(w.numpy()).max() <= lim and np.abs(w.numpy()).std() > 0
    assert np.all(b.numpy() == 0) and w.dtype == paddle.float32 and not w.stop_gradient
    attr = paddle.ParamAttr(name="my_w", initializer=paddle.nn.initializer.Constant(0.5), learning_rate=0.1,
                            trainable=False, need_clip=False)
    p = lay.create_parameter([2, 2], attr=attr)
    assert p.name == "my_w" and np.all(p.numpy() == 0.5) and p.stop_gradient
    assert p.optimize_attr["learning_rate"] == 0.1 and p.need_clip is False
    assert lay.create_parameter([2], attr=False) is None
    with pytest.raises(ValueError, match="positive"):
        lay.create_parameter([0, 3])


def test_setattr_routes_parameters_layers_and_buffers():
    net = Net()
    assert list(net._sub_layers) == ["a", "b"]
    assert list(net._buffers) == ["steps", "scratch"]
    assert "scratch" in net._non_persistable_buffer_names_set
    t = paddle.to_tensor([1.0])
    net.extra = t                           # plain Tensor assignment: a non-persistable buffer
    assert net._buffers["extra"] is t and "extra" in net._non_persistable_buffer_names_set
    with pytest.raises(TypeError, match="should be of type Parameter"):
        net.a.weight = paddle.to_tensor(np.zeros([3, 4], "float32"))
    net.a.weight = None
    assert net.a._parameters["weight"] is None and net.a.weight is None
    with pytest.raises(TypeError, match="sublayer"):
        net.a = 3
    del net.b
    assert "b" not in net._sub_layers and not hasattr(net, "b")
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = net.nope


def test_state_dict_order_and_persistable_buffers():
    net = Net()
    sd = net.state_dict()
    assert list(sd) == ["steps", "a.weight", "a.bias", "b.weight", "b.bias"]
    assert sd["a.weight"] is net.a.weight
    assert "scratch" in net.to_static_state_dict()
    assert [n for n, _ in net.named_buffers()] == ["steps", "scratch"]
    assert [n for n, _ in net.named_sublayers()] == ["a", "b"]
    assert [n for n, _ in net.named_sublayers(include_self=True)] == ["", "a", "b"]
    assert [n for n, _ in net.named_children()] == ["a", "b"]


def test_shared_parameter_listed_once_in_parameters_but_under_each_key_in_state_dict():
    net = Net()
    net.c = net.a          # the same layer under two names
    assert len(net.parameters()) == 4
    assert "c.weight" in net.state_dict() and net.state_dict()["c.weight"] is net.a.weight


def test_set_state_dict_applies_matches_and_warns_once_with_every_reason():
    net = Net()
    good = np.arange(12, dtype="float32").reshape(3, 4)
    sd = {"a.weight": good,                                    # applied
          "a.bias": paddle.to_tensor(np.ones([4], "float32")),  # applied (Tensor)
          "b.weight": np.zeros([5, 2], "float32"),             # shape mismatch
          "b.bias": np.zeros([2], "float64"),                  # dtype mismatch
          "unused": np.zeros([1], "float32")}                  # unexpected
    old_bw = net.b.weight.numpy().copy()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        missing, unexpected = net.set_state_dict(sd)
    assert len(w) == 1
    msg = str(w[0].message)
    assert "Skip" in msg
    assert "b.weight: shape mismatch: the layer expects [4, 2], the dict has [5, 2]" in msg
    assert "b.bias: dtype mismatch: the layer expects float32, the dict has float64" in msg
    assert "steps: not found" in msg
    assert missing == ["steps", "b.weight", "b.bias"]
    assert unexpected == ["b.weight", "b.bias", "unused"]
    np.testing.assert_array_equal(net.a.weight.numpy(), good)
    np.testing.assert_array_equal(net.a.bias.numpy(), np.ones(4))
    np.testing.assert_array_equal(net.b.weight.numpy(), old_bw)
    good[0, 0] = 99.0                      # values are copied, not aliased
    assert net.a.weight.numpy()[0, 0] == 0.0


def test_set_state_dict_clean_load_returns_empty_lists_and_no_warning():
    src, dst = Net(), Net()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dst.set_state_dict(src.state_dict()) == ([], [])
    for (k, a), (_, b) in zip(src.state_dict().items(), dst.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    assert dst.set_dict is not None and dst.load_dict is not None


def test_set_state_dict_by_tensor_name():
    src = Net()
    by_name = {v.name: v.numpy() + 1 for v in src.state_dict().values()}
    with unique_name.guard():
        dst = Net()          # same construction order in a fresh scope: the same tensor names
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        missing, unexpected = dst.set_state_dict(by_name, use_structured_name=False)
    assert missing == [] and unexpected == []
    np.testing.assert_array_equal(dst.b.bias.numpy(), src.b.bias.numpy() + 1)


def test_set_state_dict_takes_plain_lists_in_the_parameter_dtype():
    lay = Affine(2, 2)
    lay.set_state_dict({"weight": [[1, 2], [3, 4]], "bias": [0.5, 0.5]})
    assert lay.weight.dtype == paddle.float32
    np.testing.assert_array_equal(lay.weight.numpy(), [[1, 2], [3, 4]])


def test_train_eval_propagate():
    net = Net()
    net.eval()
    assert not net.training and not net.a.training
    assert net.train() is net and net.b.training


def test_forward_hooks_and_removal():
    lay = Affine(2, 2, bias=False)
    calls = []
    pre = lay.register_forward_pre_hook(lambda layer, inputs: (inputs[0] * 2,))
    post = lay.register_forward_post_hook(lambda layer, inputs, out: calls.append(out.shape) or out + 1)
    x = paddle.ones([1, 2])
    w = lay.weight.numpy()
    np.testing.assert_allclose(lay(x).numpy(), 2 * np.ones([1, 2]) @ w + 1, rtol=1e-6)
    assert calls == [[1, 2]]
    pre.remove()
    post.remove()
    np.testing.assert_allclose(lay(x).numpy(), np.ones([1, 2]) @ w, rtol=1e-6)


def test_apply_visits_children_first_then_self():
    net = Net()
    seen = []
    assert net.apply(lambda l: seen.append(l.full_name())) is net
    assert seen == ["affine_0", "affine_1", "net_0"]


def test_astype_casts_floating_parameters_and_buffers_keeping_identity():
    net = Net()
    w = net.a.weight
    before = w.numpy().copy()
    net.astype("float64")
    assert net.a.weight is w and w.dtype == paddle.float64
    np.testing.assert_array_equal(w.numpy(), before.astype("float64"))
    assert net.steps.dtype == paddle.int64            # integer buffers are left alone
    assert net._buffers["scratch"].dtype == paddle.float64
    net.to(dtype="bfloat16")
    assert w.dtype == paddle.bfloat16
    with pytest.raises(ValueError, match="CPU only"):
        net.to("gpu:0")


def test_register_buffer_validation():
    lay = Layer()
    with pytest.raises(KeyError, match="can not contain"):
        lay.register_buffer("a.b", paddle.to_tensor([1.0]))
    with pytest.raises(TypeError, match="expected a Tensor"):
        lay.register_buffer("x", np.zeros(2))
    lay.register_buffer("none_buf", None)
    assert "none_buf" not in lay.state_dict()


def test_forward_not_implemented_message():
    with pytest.raises(NotImplementedError, match="must define forward"):
        Layer()(1)


def test_uninitialised_layer_assignment_errors():
    class Bad(Layer):
        def __init__(self):
            self.w = paddle.Parameter(np.zeros(2, "float32"))
    with pytest.raises(ValueError, match="super\\(\\).__init__\\(\\) should be called first"):
        Bad()
