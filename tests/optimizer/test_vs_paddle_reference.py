"""Three optimizer trajectories against real Paddle 2.6.2 (reference data from
``tests/fixtures/generated/make_reference.py``): a small MLP ``Linear(4, 6) - ReLU - Linear(6, 3)``
from fixed weights, ``loss = mean((mlp(x) - y) ** 2)``, 3 steps of
``backward(); step(); clear_grad(); scheduler.step()``. After each step the parameters equal
Paddle's; after the 3 steps the optimizer state_dict has Paddle's keys (accumulator names with
their counters), values, and ``LR_Scheduler`` dict (nested for LinearWarmup)."""
import json
import os

import numpy as np
import pytest

import sampan as paddle
from sampan.core import unique_name

REF = os.path.join(os.path.dirname(__file__), "..", "fixtures", "generated", "optimizer_reference.npz")
DATA = np.load(REF)


def _require(path):
    """The class at ``paddle.<path>``, or skip naming what is missing."""
    obj = paddle
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            pytest.skip(f"sampan.{path} is not available yet (needed to replay Paddle's trajectory)")
    return obj


def _momentum_cosine(params):
    sched = _require("optimizer.lr.CosineAnnealingDecay")(learning_rate=0.1, T_max=4)
    return sched, _require("optimizer.Momentum")(learning_rate=sched, momentum=0.9, parameters=params)


def _adamw_warmup(params):
    inner = _require("optimizer.lr.MultiStepDecay")(learning_rate=0.05, milestones=[2], gamma=0.5)
    sched = _require("optimizer.lr.LinearWarmup")(learning_rate=inner, warmup_steps=2, start_lr=0.01, end_lr=0.05)
    return sched, _require("optimizer.AdamW")(learning_rate=sched, weight_decay=0.1, parameters=params)


def _adam_clip(params):
    clip = _require("nn.ClipGradByGlobalNorm")(clip_norm=0.1)
    return None, _require("optimizer.Adam")(learning_rate=0.01, parameters=params, grad_clip=clip)


CASES = {"momentum_cosine": _momentum_cosine, "adamw_warmup_multistep": _adamw_warmup,
         "adam_clip_global_norm": _adam_clip}


def _replay(case):
    nn = _require("nn")
    for cls in ("Sequential", "Linear", "ReLU"):
        _require(f"nn.{cls}")
    meta = json.loads(str(DATA[f"{case}/meta"]))
    with unique_name.guard():
        model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
        assert {k: v.name for k, v in model.state_dict().items()} == meta["param_names"]
        model.set_state_dict({k: DATA[f"{case}/init/{k}"] for k in model.state_dict()})
        sched, opt = CASES[case](model.parameters())
        x, y = paddle.to_tensor(DATA[f"{case}/x"]), paddle.to_tensor(DATA[f"{case}/y"])
        trace = []
        for _ in range(3):
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            lr = opt.get_lr()
            opt.step()
            opt.clear_grad()
            if sched is not None:
                sched.step()
            trace.append((float(loss), lr, {k: v.numpy().copy() for k, v in model.state_dict().items()}))
    return meta, opt, trace


@pytest.mark.parametrize("case", list(CASES))
def test_parameters_follow_paddle_for_three_steps(case):
    meta, opt, trace = _replay(case)
    np.testing.assert_allclose([t[0] for t in trace], DATA[f"{case}/loss"], rtol=1e-5, err_msg="losses")
    np.testing.assert_allclose([t[1] for t in trace], DATA[f"{case}/lr"], rtol=1e-6, err_msg="learning rates")
    for step, (_, _, params) in enumerate(trace, 1):
        for k, v in params.items():
            np.testing.assert_allclose(v, DATA[f"{case}/step{step}/{k}"], rtol=1e-5, atol=1e-6,
                                       err_msg=f"{case} step {step} {k}")


@pytest.mark.parametrize("case", list(CASES))
def test_optimizer_state_dict_matches_paddle(case):
    meta, opt, _ = _replay(case)
    state = opt.state_dict()
    want_keys = [k for k, _, _ in meta["state_keys"]]
    got_keys = [k for k in state if k != "LR_Scheduler"]
    assert sorted(got_keys) == sorted(want_keys)
    assert got_keys == want_keys, "accumulators are listed in Paddle's order"
    for key, name, shape in meta["state_keys"]:
        v = state[key]
        arr = v.numpy() if hasattr(v, "numpy") else np.asarray(v)
        assert list(arr.shape) == shape, key
        if name is not None:
            assert v.name == name
        np.testing.assert_allclose(arr, DATA[f"{case}/opt/{key}"], rtol=1e-5, atol=1e-7, err_msg=key)
    if "LR_Scheduler" in meta:
        got = state["LR_Scheduler"]
        assert _types(got) == meta["LR_Scheduler_types"]
        _assert_close_tree(got, meta["LR_Scheduler"])
    else:
        assert "LR_Scheduler" not in state


def test_clipping_was_active_in_the_reference():
    # guards the fixture: with the norm below clip_norm the Adam case would not test clipping
    meta = json.loads(str(DATA["adam_clip_global_norm/meta"]))
    assert min(meta["global_norms_before_clip"]) > 0.1 * 5


def _types(v):
    if isinstance(v, dict):
        return {k: _types(x) for k, x in v.items()}
    return type(v).__name__


def _assert_close_tree(got, want, path="LR_Scheduler"):
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), f"{path}: keys {list(got)} != {list(want)}"
        for k in want:
            _assert_close_tree(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-9), path
    else:
        assert got == want, path
