"""The fixture generator's model classes, unchanged but for the import, against real Paddle.

* parameter and accumulator names equal the manifests' (same construction order);
* linear, mlp, cnn: from ``initial_params.npz``, 3 Adam steps on ``train_input.npy`` reproduce
  ``reference_params.npz`` and ``reference_opt.npz`` (same keys, float32 tolerance) and the
  ``LR_Scheduler`` entry;
* every model (transformer included) with its reference parameters gives ``expected_output.npy``.
"""
import json
import os

import numpy as np
import pytest

import sampan as paddle
import sampan.nn as nn
from sampan.core import unique_name
from tests.model_source import classes_from

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "paddle")
FLAVOURS = ["2.6.2", "3.3.1-legacy", "3.3.1-pir"]


# The generator's own classes, executed from its source (a copy of ../shared/fixtures/paddle/make_fixtures.py)
# with sampan bound to `paddle`: they run unchanged.
_GEN = classes_from(os.path.join("fixtures", "paddle", "make_fixtures.py"), "class LinearNet(nn.Layer):",
                    "# name -> (class, input shape")
LinearNet, MLP, SmallCNN, TinyTransformer = (_GEN[k] for k in ("LinearNet", "MLP", "SmallCNN", "TinyTransformer"))


# The cnn's conv bias feeds a training-mode BatchNorm, which subtracts the batch mean per channel:
# its gradient is mathematically zero and Paddle's stored value is float rounding noise (~1e-9).
# Adam divides m1 by sqrt(m2) and turns that noise into steps of up to +-lr with the noise's sign,
# so no other implementation can reproduce those values. What is determined: each of the 3 steps
# moved the bias by at most lr (so ours and Paddle's differ by at most 6 lr), its moments are
# noise-sized, and the running mean, which sees the bias through the batch mean
# (``m = 0.9 m + 0.1 batch_mean``), differs by at most 0.1 * (0.9 * 2 lr + 4 lr).
# Everything else (conv weight, BN scale/shift/variance, fc) is bias-independent and must match.
LR = 0.01
NOISE = {"cnn": {"conv.bias": 6 * LR * 1.0001, "bn._mean": 0.1 * (0.9 * 2 + 4) * LR * 1.0001}}
NOISY_ACCUMULATORS = {"cnn": ("conv2d_0.b_0_moment",)}

MODELS = {"linear": (LinearNet, None, False), "mlp": (MLP, 4, True), "cnn": (SmallCNN, 5, False),
          "transformer": (TinyTransformer, 3, True)}


def _manifest(flavour):
    with open(os.path.join(FIX, flavour, "MANIFEST.json")) as f:
        return json.load(f)


def _dir(flavour, name):
    return os.path.join(FIX, flavour, name)


def _build(name):
    cls, _, use_sched = MODELS[name]
    layer = cls()
    sched = paddle.optimizer.lr.StepDecay(learning_rate=0.01, step_size=2, gamma=0.5) if use_sched else 0.01
    opt = paddle.optimizer.Adam(learning_rate=sched, parameters=layer.parameters())
    return layer, opt, sched


def _train(name, layer, opt, sched, d):
    """The fixture generator's 3 training steps."""
    _, ncls, use_sched = MODELS[name]
    layer.train()
    xb = np.load(os.path.join(d, "train_input.npy"))
    for _ in range(3):
        out = layer(paddle.to_tensor(xb))
        if ncls is None:
            target = paddle.to_tensor(np.linspace(-1, 1, out.size).reshape(out.shape).astype("float32"))
            loss = paddle.mean((out - target) ** 2)
        else:
            lab = paddle.to_tensor(np.load(os.path.join(d, "train_label.npy")))
            loss = nn.functional.cross_entropy(out, lab)
        loss.backward()
        opt.step()
        opt.clear_grad()
        if use_sched:
            sched.step()
    layer.eval()


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_parameter_and_accumulator_names_equal_the_manifest(flavour, name):
    info = _manifest(flavour)["models"].get(name, {})
    if "state_dict" not in info:
        pytest.skip(f"{flavour}/{name}: no state_dict in the manifest")
    with unique_name.guard():
        layer, opt, sched = _build(name)
        sd = layer.state_dict()
        assert {k: v.name for k, v in sd.items()} == {k: v["tensor_name"] for k, v in info["state_dict"].items()}
        assert list(sd) == list(info["state_dict"])
        assert {k: list(v.shape) for k, v in sd.items()} == {k: v["shape"] for k, v in info["state_dict"].items()}
        # one step creates every accumulator (all parameters get gradients)
        for p in layer.parameters():
            p.grad = np.zeros(p.shape, "float32")
        opt.step()
        assert list(opt.state_dict()) == info["optimizer_state_keys"]


@pytest.mark.parametrize("name", ["linear", "mlp", "cnn"])
def test_three_adam_steps_reproduce_paddle(name):
    d = _dir("3.3.1-pir", name)
    man = _manifest("3.3.1-pir")["models"][name]
    with unique_name.guard():
        layer, opt, sched = _build(name)
        assert layer.set_state_dict(dict(np.load(os.path.join(d, "initial_params.npz")))) == ([], [])
        _train(name, layer, opt, sched, d)
    ref_p = np.load(os.path.join(d, "reference_params.npz"))
    sd = layer.state_dict()
    assert sorted(sd) == sorted(ref_p.files)
    noise = NOISE.get(name, {})
    for k in ref_p.files:
        if k in noise:
            assert np.all(np.abs(sd[k].numpy() - ref_p[k]) <= noise[k]), k
            continue
        np.testing.assert_allclose(sd[k].numpy(), ref_p[k], rtol=1e-5, atol=1e-6, err_msg=k)
    ref_o = np.load(os.path.join(d, "reference_opt.npz"))
    osd = opt.state_dict()
    assert [k for k in osd if k != "LR_Scheduler"] == list(ref_o.files)
    noisy_acc = NOISY_ACCUMULATORS.get(name, ("<none>",))
    for k in ref_o.files:
        assert osd[k].numpy().dtype == ref_o[k].dtype
        if k.startswith(noisy_acc):
            for v in (osd[k].numpy(), ref_o[k]):
                assert np.all(np.abs(v) < 1e-6), k
            continue
        np.testing.assert_allclose(osd[k].numpy(), ref_o[k], rtol=1e-5, atol=1e-7, err_msg=k)
    if "LR_Scheduler" in man:
        assert osd["LR_Scheduler"] == man["LR_Scheduler"]
    else:
        assert "LR_Scheduler" not in osd


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_eval_output_with_reference_params_matches_paddle(flavour, name):
    d = _dir(flavour, name)
    if not os.path.exists(os.path.join(d, "expected_output.npy")):
        pytest.skip(f"{flavour}/{name}: no expected output")
    with unique_name.guard():
        layer = MODELS[name][0]()
    assert layer.set_state_dict(dict(np.load(os.path.join(d, "reference_params.npz")))) == ([], [])
    layer.eval()
    out = layer(paddle.to_tensor(np.load(os.path.join(d, "input.npy"))))
    np.testing.assert_allclose(out.numpy(), np.load(os.path.join(d, "expected_output.npy")), rtol=1e-5, atol=1e-6)


def test_batchnorm_running_stats_are_updated_in_training_and_used_in_eval():
    d = _dir("3.3.1-pir", "cnn")
    with unique_name.guard():
        layer, opt, sched = _build("cnn")
    layer.set_state_dict(dict(np.load(os.path.join(d, "initial_params.npz"))))
    mean_before = layer.bn._mean
    _train("cnn", layer, opt, sched, d)
    ref = np.load(os.path.join(d, "reference_params.npz"))
    assert layer.bn._mean is mean_before           # updated in place: the same tensor (and name)
    init = np.load(os.path.join(d, "initial_params.npz"))
    assert np.all(layer.bn._mean.numpy() != init["bn._mean"])
    assert np.all(np.abs(layer.bn._mean.numpy() - ref["bn._mean"]) <= NOISE["cnn"]["bn._mean"])
    np.testing.assert_allclose(layer.bn._variance.numpy(), ref["bn._variance"], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("name", ["linear", "mlp", "cnn", "transformer"])
def test_paddle_pdparams_and_pdopt_load_into_fresh_model_and_optimizer(flavour, name):
    d = _dir(flavour, name)
    if not os.path.exists(os.path.join(d, "model.pdopt")):
        pytest.skip(f"{flavour}/{name}: no model.pdopt")
    with unique_name.guard():
        layer, opt, sched = _build(name)
    assert layer.set_state_dict(paddle.load(os.path.join(d, "model.pdparams"))) == ([], [])
    opt.set_state_dict(paddle.load(os.path.join(d, "model.pdopt")))   # before any step: kept until created
    man = _manifest(flavour)["models"][name]
    if "LR_Scheduler" in man:
        assert sched.state_dict() == man["LR_Scheduler"]
        assert opt.get_lr() == man["LR_Scheduler"]["last_lr"]
    layer.train()
    out = layer(paddle.to_tensor(np.load(os.path.join(d, "input.npy"))))
    out.mean().backward()
    opt.step()
    ref_o = np.load(os.path.join(d, "reference_opt.npz"))
    osd = opt.state_dict()
    assert [k for k in osd if k != "LR_Scheduler"] == list(ref_o.files)
    for k in ref_o.files:
        if "beta1_pow" in k:      # restored from Paddle's file, then advanced by this step
            np.testing.assert_allclose(osd[k].numpy(), ref_o[k] * np.float32(0.9), rtol=1e-7, err_msg=k)
