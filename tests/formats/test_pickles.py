"""Pickle writer and safe reader against real Paddle files (FORMATS.md section 1).

NumPy spelling: the 3.3.1 fixtures were written under NumPy 2 (``numpy._core.multiarray``), the 2.6.2
ones under NumPy 1 (``numpy.core.multiarray``). sampan writes the NumPy 2 spelling by default and
reproduces the 2.6.2 bytes with ``numpy_module='numpy.core'``, whatever NumPy is installed.
"""
import collections
import io
import json
import os
import pickle

import numpy as np
import pytest

from sampan.formats import pickle_writer as pw
from sampan.formats import safe_unpickle as su
from sampan.formats.errors import CorruptFileError

PADDLE_FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "paddle")

FLAVOURS = ["2.6.2", "3.3.1-legacy", "3.3.1-pir"]
MODELS = ["linear", "mlp", "cnn", "transformer"]


def _manifest(flavour):
    with open(os.path.join(PADDLE_FIXTURES, flavour, "MANIFEST.json")) as f:
        return json.load(f)


def _spelling(flavour):
    return pw.NUMPY1_MODULE if flavour == "2.6.2" else pw.NUMPY2_MODULE


def _read(*parts):
    with open(os.path.join(PADDLE_FIXTURES, *parts), "rb") as f:
        return f.read()


def _model_state(flavour, model):
    info = _manifest(flavour)["models"][model]
    z = np.load(os.path.join(PADDLE_FIXTURES, flavour, model, "reference_params.npz"))
    values = {k: z[k] for k in info["state_dict"]}
    names = {k: v["tensor_name"] for k, v in info["state_dict"].items()}
    return values, names


def _opt_state(flavour, model):
    info = _manifest(flavour)["models"][model]
    z = np.load(os.path.join(PADDLE_FIXTURES, flavour, model, "reference_opt.npz"))
    values, names = {}, {}
    for k in info["optimizer_state_keys"]:
        if k == "LR_Scheduler":
            values[k] = dict(info["LR_Scheduler"])
        else:
            values[k], names[k] = z[k], k
    return values, names


# ---------------------------------------------------------------------- byte identity
@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("model", MODELS)
def test_pdparams_and_pdopt_bytes_equal_paddle(flavour, model):
    values, names = _model_state(flavour, model)
    got = pw.dumps(pw.legacy_state_dict(values, names, 4), 4, numpy_module=_spelling(flavour))
    assert got == _read(flavour, model, "model.pdparams")
    values, names = _opt_state(flavour, model)
    got = pw.dumps(pw.legacy_state_dict(values, names, 4), 4, numpy_module=_spelling(flavour))
    assert got == _read(flavour, model, "model.pdopt")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_protocol2_bytes_equal_paddle(flavour):
    info = _manifest(flavour)["models"]["mlp"]
    z = np.load(os.path.join(PADDLE_FIXTURES, flavour, "misc", "reference_misc.npz"))
    values = {k: z["mlp." + k] for k in info["state_dict"]}
    names = {k: v["tensor_name"] for k, v in info["state_dict"].items()}
    got = pw.dumps(pw.legacy_state_dict(values, names, 2), 2, numpy_module=_spelling(flavour))
    assert got == _read(flavour, "misc", "mlp_protocol2.pdparams")


def test_numpy_spellings_differ_only_in_module_name():
    values, names = _model_state("3.3.1-pir", "linear")
    new = pw.dumps(pw.legacy_state_dict(values, names), 4, numpy_module=pw.NUMPY2_MODULE)
    old = pw.dumps(pw.legacy_state_dict(values, names), 4, numpy_module=pw.NUMPY1_MODULE)
    assert b"numpy._core.multiarray" in new and b"numpy.core.multiarray" not in new
    assert b"numpy.core.multiarray" in old
    assert pickle.loads(new)["fc.weight"].tobytes() == pickle.loads(old)["fc.weight"].tobytes()
    with pytest.raises(ValueError, match="numpy_module"):
        pw.dumps({}, numpy_module="numpy.foo")


def test_name_table_values_are_written_in_full():
    # Paddle's table values are tensor.name strings, never the key objects: no memo reference
    key = "linear_0.w_0_moment1_0"
    data = pw.dumps(pw.legacy_state_dict({key: np.zeros(2, np.float32)}, {key: key}))
    assert data.count(key.encode()) == 2


# ---------------------------------------------------------------------- equal to pickle.dumps
_DTYPES = [np.float32, np.float64, np.float16, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
           np.bool_, np.complex64, np.complex128]


def _random_array(rng):
    dt = rng.choice(_DTYPES)
    k = rng.random()
    if k < 0.1:
        return np.array(rng.standard_normal()).astype(dt)
    if k < 0.2:
        return np.zeros((0, 3), dt)
    if k < 0.3:
        return np.asfortranarray(rng.standard_normal((30, 40)).astype(dt))
    if k < 0.4:
        return rng.standard_normal((50, 60)).astype(dt)[::2, 1::3]
    if k < 0.5:
        return rng.standard_normal(int(rng.choice([17000, 70000, 100]))).astype(dt)
    return rng.standard_normal(tuple(rng.integers(1, 9, rng.integers(1, 4)))).astype(dt)


def _random_obj(rng, depth=0):
    k = rng.random()
    if depth > 3 or k < 0.3:
        leaves = [lambda: _random_array(rng), lambda: int(rng.integers(-10**12, 10**12)), lambda: float(rng.random()),
                  lambda: "x" * int(rng.integers(0, 300)), lambda: None, lambda: True,
                  lambda: b"ab" * int(rng.integers(0, 200)), lambda: np.float32(1.5)]
        return leaves[int(rng.integers(len(leaves)))]()
    n = int(rng.integers(0, 5))
    if k < 0.5:
        return [_random_obj(rng, depth + 1) for _ in range(n)]
    if k < 0.6:
        return tuple(_random_obj(rng, depth + 1) for _ in range(n))
    if k < 0.7:
        return collections.OrderedDict((f"k{i}", _random_obj(rng, depth + 1)) for i in range(n))
    return {f"k{i}": _random_obj(rng, depth + 1) for i in range(n)}


def _same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return a == b


def test_random_objects_match_pickle_dumps_and_load_back(tmp_path):
    rng = np.random.default_rng(7)
    path = str(tmp_path / "obj.pkl")
    for i in range(120):
        obj = _random_obj(rng)
        if rng.random() < 0.3:
            shared = _random_array(rng)
            obj = [obj, obj, shared, shared]      # memo references
        for protocol in (2, 3, 4):
            data = pw.dumps(obj, protocol)
            assert data == pickle.dumps(obj, protocol=protocol)
            expected = pickle.loads(data)
            assert _same(su.loads(data), expected)
            if i % 4 == 0:                        # the file reader and the mmap reader too
                with open(path, "wb") as f:
                    f.write(data)
                assert _same(su.load_file(path), expected)
                assert _same(su.load_file(path, mmap=True), expected)


def test_big_array_is_streamed_not_copied():
    arr = np.arange(3 << 20, dtype=np.float32)       # 12 MB

    class Recorder(io.RawIOBase):
        def __init__(self):
            self.sizes, self.types = [], set()

        def writable(self):
            return True

        def write(self, b):
            self.sizes.append(memoryview(b).nbytes)
            self.types.add(type(b).__name__)
            return memoryview(b).nbytes

    rec = Recorder()
    pw.dump({"w": arr}, rec, 4)
    assert max(rec.sizes) <= 64 << 20
    assert sum(s for s in rec.sizes if s >= 1 << 20) == arr.nbytes
    assert "memoryview" in rec.types                 # handed over as views of the array's memory


def test_big_param_split_layout(monkeypatch):
    # Paddle splits arrays over (2**30 - 1) / itemsize elements for protocols 2 and 3; the limit is
    # shrunk here so the layout (verified in FORMATS 1.2 with a 2**30 + 5 element tensor) is cheap to check
    monkeypatch.setattr(pw, "_BIG_LIMIT_BYTES", 1023)
    big = np.arange(1029, dtype=np.uint8)
    small = np.ones(3, np.float32)
    d = pw.legacy_state_dict({"small": small, "big": big}, {"small": "t_0", "big": "t_1"}, protocol=2)
    assert list(d) == ["small", pw.NAME_TABLE_KEY, "big@@.0", "big@@.1", pw.BIG_PARAM_KEY]
    assert d["big@@.0"].size == 1023 and d["big@@.1"].size == 6
    assert d[pw.BIG_PARAM_KEY] == {"big": {"OriginShape": (1029,), "slices": ["big@@.0", "big@@.1"]}}
    assert d[pw.NAME_TABLE_KEY] == {"small": "t_0", "big": "t_1"}
    data = pw.dumps(d, 2)
    assert data == pickle.dumps(d, protocol=2)
    four = pw.legacy_state_dict({"big": big}, {"big": "t_1"}, protocol=4)
    assert list(four) == ["big", pw.NAME_TABLE_KEY]


# ---------------------------------------------------------------------- reading every fixture pickle
def _fixture_pickles():
    out = []
    for flavour in FLAVOURS:
        base = os.path.join(PADDLE_FIXTURES, flavour)
        for root, _, files in os.walk(base):
            for f in files:
                if f.endswith((".pdparams", ".pdopt", ".pdtensor", ".pdobj", ".info")):
                    p = os.path.join(root, f)
                    with open(p, "rb") as fh:
                        if fh.read(1) == b"\x80":
                            out.append(os.path.relpath(p, PADDLE_FIXTURES))
    return sorted(out)


@pytest.mark.parametrize("rel", _fixture_pickles())
def test_safe_reader_equals_pickle_on_every_fixture(rel):
    path = os.path.join(PADDLE_FIXTURES, rel)
    with open(path, "rb") as f:
        expected = pickle.load(f, encoding="latin1")
    assert _same(su.load_file(path), expected)
    mapped = su.load_file(path, mmap=True)
    assert _same(mapped, expected)


def test_mmap_arrays_are_views_of_the_file(tmp_path):
    arr = np.arange(10000, dtype=np.float32)
    p = tmp_path / "a.pkl"
    p.write_bytes(pw.dumps({"a": arr, "s": np.ones(3)}))
    got = su.load_file(str(p), mmap=True)
    assert np.array_equal(got["a"], arr)
    assert got["a"].base is not None and not got["a"].flags.owndata
    got["a"][0] = 42                                  # copy-on-write: the file keeps its bytes
    assert su.load_file(str(p))["a"][0] == 0
    assert got["s"].flags.writeable


def test_truncated_pickle_says_truncated_with_sizes(tmp_path):
    data = pw.dumps({"w": np.arange(5000, dtype=np.float32)})
    p = tmp_path / "t.pdparams"
    p.write_bytes(data[:len(data) // 2])
    with pytest.raises(CorruptFileError, match=r"truncated: \d+ of at least \d+ bytes") as e:
        su.load_file(str(p))
    assert str(p) in str(e.value) and e.value.offset is not None
