"""Loading never runs code from a file: anything outside Paddle's allow-list raises UnsafeFileError."""
import collections
import importlib
import io
import os
import pickle
import struct
import subprocess

import numpy as np
import pytest

import sampan as paddle
from sampan.formats import safe_unpickle as su
from sampan.formats.errors import CorruptFileError


class _Call:
    """Pickles as ``func(*args)``: what an attacker puts in a checkpoint."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


class Evil:   # an arbitrary class: pickled as a reference to this module's global
    pass


def _write(tmp_path, obj, name="evil.pdparams", protocol=4):
    p = tmp_path / name
    p.write_bytes(obj if isinstance(obj, bytes) else pickle.dumps(obj, protocol=protocol))
    return str(p)


def _marker(tmp_path):
    return str(tmp_path / "PWNED")


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_os_system_payload_does_not_run(tmp_path, protocol):
    marker = _marker(tmp_path)
    payload = {"fc.weight": np.ones(2, np.float32), "x": _Call(os.system, f"touch {marker}")}
    path = _write(tmp_path, payload, protocol=protocol)
    with pytest.raises(paddle.UnsafeFileError) as e:
        paddle.load(path)
    assert not os.path.exists(marker)
    assert e.value.global_name == f"{os.name == 'posix' and 'posix' or 'nt'}.system"
    msg = str(e.value)
    assert "'posix.system'" in msg and path in msg and "allow_unsafe=True" in msg and "byte offset" in msg


def test_hand_written_protocol0_payload_names_os_system(tmp_path):
    marker = _marker(tmp_path)
    path = _write(tmp_path, f"cos\nsystem\n(S'touch {marker}'\ntR.".encode())
    with pytest.raises(paddle.UnsafeFileError, match=r"'os\.system'"):
        paddle.load(path)
    assert not os.path.exists(marker)


@pytest.mark.parametrize("make,name,protocol", [
    (lambda m: _Call(subprocess.call, ["touch", m]), "subprocess.call", 4),
    (lambda m: _Call(subprocess.Popen, ["touch", m]), "subprocess.Popen", 3),
    (lambda m: _Call(subprocess.call, ["touch", m]), "commands.call", 2),     # protocol 2 spells it the Py2 way
    (lambda m: _Call(importlib.import_module, "os"), "importlib.import_module", 4),
    (lambda m: _Call(getattr, (), "__class__"), "builtins.getattr", 4),
    (lambda m: _Call(open, m, "w"), "io.open", 4),
    (lambda m: Evil(), "copy_reg._reconstructor", 0),
    (lambda m: Evil(), "test_safe_loading.Evil", 2),
    (lambda m: _Call(Evil), "test_safe_loading.Evil", 4),
    (lambda m: collections.Counter("ab"), "collections.Counter", 4),
])
def test_other_globals_are_refused_by_name(tmp_path, make, name, protocol):
    marker = _marker(tmp_path)
    path = _write(tmp_path, [np.zeros(3), make(marker)], protocol=protocol)
    with pytest.raises(paddle.UnsafeFileError) as e:
        paddle.load(path)
    assert e.value.global_name.endswith(name) and name in str(e.value)
    assert not os.path.exists(marker)


def test_eval_only_accepts_paddles_densetensor_pattern(tmp_path):
    marker = _marker(tmp_path)
    bad = _write(tmp_path, _Call(eval, f"open({marker!r}, 'w')"))
    with pytest.raises(paddle.UnsafeFileError, match=r"builtins\.eval called with .*not Paddle's DenseTensor"):
        paddle.load(bad)
    bad2 = _write(tmp_path, _Call(eval, "data", {"data": np.ones(2), "__builtins__": {}}), "b2")
    with pytest.raises(paddle.UnsafeFileError, match="builtins.eval"):
        paddle.load(bad2)
    assert not os.path.exists(marker)
    good = _write(tmp_path, _Call(eval, "data", {"data": np.arange(3.0)}), "good")
    assert paddle.load(good, return_numpy=True).tolist() == [0.0, 1.0, 2.0]


def test_numpy_tricks_are_refused(tmp_path):
    obj_array = np.array([Evil()], dtype=object)
    with pytest.raises(paddle.UnsafeFileError):
        su.loads(pickle.dumps(obj_array))
    with pytest.raises(paddle.UnsafeFileError, match="numpy.dtype called with 'O8'"):
        su.loads(pickle.dumps(np.dtype(object)))
    # a float dtype given a state with field names and flags 63: NumPy's own __setstate__ accepts such
    # states (even object fields), the reader accepts only the state NumPy writes for 'f4'
    evil_state = b"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00f4\x89\x88\x87R" \
        b"(K\x03X\x01\x00\x00\x00|NX\x01\x00\x00\x00a\x85NK\x08K\x01K?tb."
    with pytest.raises(paddle.UnsafeFileError, match="numpy.dtype state"):
        su.loads(evil_state)
    assert np.dtype("f4").names is None and not np.dtype("f4").hasobject
    with pytest.raises(paddle.UnsafeFileError, match="REDUCE of type"):
        su.loads(b"\x80\x02cnumpy\nndarray\nK\x03\x85R.")          # calling ndarray() is not allowed
    with pytest.raises(paddle.UnsafeFileError, match="_reconstruct called with"):
        su.loads(b"\x80\x02cnumpy._core.multiarray\n_reconstruct\ncnumpy\ndtype\nK\x00\x85C\x01b\x87R.")


@pytest.mark.parametrize("data,what", [
    (b"\x80\x02c__main__\nEvil\n)\x81.", "__main__.Evil"),              # NEWOBJ on a refused class
    (b"(c__main__\nEvil\no.", "__main__.Evil"),                         # OBJ
    (b"(i__main__\nEvil\n.", "__main__.Evil"),                          # INST
    (b"\x80\x02cbuiltins\nlist\n)\x81.", "class instantiation (NEWOBJ)"),
    (b"\x80\x02U\x03abcQ.", "persistent ids"),
    (b"\x80\x02\x82\x01.", "extension registry"),
])
def test_instantiation_opcodes_are_refused(data, what):
    with pytest.raises(paddle.UnsafeFileError, match=what.replace("(", r"\(").replace(")", r"\)")):
        su.loads(data)


def test_lengths_are_checked_before_allocating():
    huge = b"\x80\x04\x8e" + struct.pack("<Q", 1 << 62) + b"abc"
    with pytest.raises(CorruptFileError, match=r"truncated: 14 of at least 461168601842738\d+ bytes"):
        su.loads(huge)
    with pytest.raises(CorruptFileError, match="truncated"):
        su.loads(b"\x80\x02\x8b" + struct.pack("<i", 1 << 30) + b"\x01")      # LONG4 of 1 GiB
    state = b"(K\x01J\xff\xff\xff\x7f\x85cnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87R\x89C\x08" + b"\0" * 8 + b"tb."
    head = b"\x80\x03cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01b\x87R"
    with pytest.raises(CorruptFileError, match=r"array data has 8 bytes, shape \[2147483647\] of float64"):
        su.loads(head + state)


def test_memo_amplification_is_bounded():
    # a 1000-element list copied 100000 times through builtins.list: 10**8 elements from a ~0.6 MB file
    body = b"\x80\x02cbuiltins\nlist\nq\x00]q\x01(" + b"K\x01" * 1000 + b"e"
    body += b"(" + b"h\x00h\x01\x85R" * 100000 + b"l."
    with pytest.raises(CorruptFileError, match="far more data than its size"):
        su.loads(body)


def test_refusal_happens_before_any_call(tmp_path, monkeypatch):
    called = []
    data = pickle.dumps([np.ones(2), _Call(os.system, "true")])
    monkeypatch.setattr(os, "system", lambda *a: called.append(a))
    with pytest.raises(paddle.UnsafeFileError):
        paddle.load(io.BytesIO(data))
    assert not called


def test_allow_unsafe_is_an_explicit_opt_in(tmp_path):
    marker = _marker(tmp_path)
    path = _write(tmp_path, {"w": np.ones(1), "side": _Call(open, marker, "w")})
    with pytest.raises(paddle.UnsafeFileError):
        paddle.load(path)
    assert not os.path.exists(marker)
    got = paddle.load(path, allow_unsafe=True)
    assert os.path.exists(marker) and float(got["w"].numpy()[0]) == 1.0


def test_error_types():
    assert issubclass(paddle.UnsafeFileError, ValueError)
    assert issubclass(paddle.UnsafeFileError, pickle.UnpicklingError)
    assert su.is_allowed_global("__builtin__", "tuple") and not su.is_allowed_global("builtins", "getattr")


def test_array_without_build_is_refused_not_returned(tmp_path):
    """_reconstruct REDUCE with no BUILD: a placeholder must never reach the caller."""
    import sampan
    from sampan.formats.errors import CorruptFileError
    payload = (b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01cnumpy.core.multiarray\n_reconstruct\nq\x02cnumpy\nndarray\n"
               b"q\x03K\x00\x85q\x04c_codecs\nencode\nq\x05X\x01\x00\x00\x00bq\x06X\x06\x00\x00\x00latin1q\x07"
               b"\x86q\x08Rq\x09\x87q\x0aRq\x0bs.")
    p = tmp_path / "pending.pdparams"
    p.write_bytes(payload)
    with pytest.raises(CorruptFileError, match="never given its data"):
        sampan.load(str(p))
