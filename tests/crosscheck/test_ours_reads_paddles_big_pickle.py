"""sampan reads a large state dict that real Paddle 2.6.2 wrote: the path a file of 4 MiB and more
takes (``safe_unpickle._load_split``: parse in a helper thread, array data read by the caller).

The committed fixtures are all small, so here Paddle (``SAMPAN_PADDLE_PYTHON``, as for
``test_paddle_reads_ours.py``) saves ~7 MB of tensors -- 160 small ones of varied shapes and dtypes,
one of 3.6 MB, an int64 step counter, nested lists -- with ``paddle.save``, and its NumPy values go
to an ``.npz`` beside it. Skipped with the reason when no Paddle is at hand.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import sampan
from sampan.formats import safe_unpickle

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_paddle_reads_ours import paddle_env, paddle_python  # noqa: E402

WRITER = r'''
import sys
import numpy as np
import paddle
out = sys.argv[1]
rng = np.random.default_rng(11)
sd = {}
for i in range(160):
    dt = ["float32", "float64", "int64", "float16"][i % 4]
    sd[f"block{i}.w"] = paddle.to_tensor((rng.standard_normal((int(rng.integers(5, 120)), 48)) * 10).astype(dt))
sd["embedding.weight"] = paddle.to_tensor(rng.standard_normal((3000, 300)).astype("float32"))
sd["step"] = paddle.to_tensor(np.arange(7, dtype="int64"))
paddle.save(sd, out + "/big.pdparams")
paddle.save({"layers": [sd["block0.w"], sd["embedding.weight"]], "epoch": 3}, out + "/nested.pdparams")
np.savez(out + "/ref.npz", **{k: v.numpy() for k, v in sd.items()})
'''


@pytest.fixture(scope="module")
def paddle_files(tmp_path_factory):
    py = paddle_python()
    out = str(tmp_path_factory.mktemp("paddle_big_pickle"))
    r = subprocess.run([py, "-c", WRITER, out], capture_output=True, text=True, timeout=600, env=paddle_env())
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def test_big_state_dict_from_paddle_loads_through_the_split_path(paddle_files, monkeypatch):
    path = os.path.join(paddle_files, "big.pdparams")
    assert os.path.getsize(path) >= safe_unpickle.SPLIT_MIN
    used = []
    real = safe_unpickle._load_split
    monkeypatch.setattr(safe_unpickle, "_load_split", lambda vm: used.append(vm.path) or real(vm))
    got = sampan.load(path)
    ref = np.load(os.path.join(paddle_files, "ref.npz"))
    assert used == [path]
    assert list(got) == list(ref.files)
    for k in ref.files:
        assert isinstance(got[k], sampan.Tensor)
        a = got[k].numpy()
        assert a.dtype == ref[k].dtype and a.shape == ref[k].shape and np.array_equal(a, ref[k]), k
    raw = sampan.load(path, return_numpy=True)
    assert all(np.array_equal(raw[k], ref[k]) for k in ref.files)


def test_nested_pickle_from_paddle(paddle_files):
    got = sampan.load(os.path.join(paddle_files, "nested.pdparams"))
    ref = np.load(os.path.join(paddle_files, "ref.npz"))
    assert got["epoch"] == 3
    assert np.array_equal(got["layers"][0].numpy(), ref["block0.w"])
    assert np.array_equal(got["layers"][1].numpy(), ref["embedding.weight"])
