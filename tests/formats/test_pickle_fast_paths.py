"""The pickle fast paths: the writer's direct ndarray opcodes and the reader's pattern matching.

Writer (``pickle_writer._fast_array``, ``frame_sink``): the bytes must stay exactly ``pickle.dumps``'s,
including where FRAME opcodes fall. Reader (``unpickle_fast``): it must accept exactly what the opcode
table accepts and build the same objects, so every test compares it with the table alone (the fast
path switched off), also on randomly corrupted files: same result or same error, message and offset.
"""
import io
import os
import pickle

import numpy as np
import pytest

from sampan.formats import byte_source, frame_sink, pickle_writer as pw, safe_unpickle as su, unpickle_fast
from sampan.formats.errors import CorruptFileError, UnsafeFileError

_DTYPES = [np.float32, np.float64, np.float16, np.int8, np.int64, np.uint16, np.bool_, np.complex64]


def _array(rng):
    dt = _DTYPES[int(rng.integers(len(_DTYPES)))]
    k = rng.random()
    if k < 0.1:
        shape = ()
    elif k < 0.2:
        shape = tuple(int(x) for x in rng.integers(1, 4, 5))            # > 3 dims: MARK ... TUPLE
    elif k < 0.3:
        shape = (int(rng.integers(1, 40000)),)                            # around the 64 KiB frame size
    elif k < 0.35:
        shape = (300, 300)                                                # BININT2 dims, data streamed
    elif k < 0.4:
        shape = (int(rng.integers(0, 3)),)                                # 0-2 elements: tiny payloads
    else:
        shape = tuple(int(x) for x in rng.integers(1, 30, int(rng.integers(1, 4))))
    a = (rng.standard_normal(shape) * 100).astype(dt)
    if a.ndim >= 2 and rng.random() < 0.2:
        a = np.asfortranarray(a)
    if a.ndim >= 1 and rng.random() < 0.05:
        a = a[::2]                                                        # not contiguous: generic path
    return a


def _state(rng, n):
    values = {f"layer{i}." + "w" * int(rng.integers(1, 40)): _array(rng) for i in range(n)}
    return pw.legacy_state_dict(values, {k: f"t_{i}" for i, k in enumerate(values)})


def _same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and (a.size == 0 or a.strides == b.strides) and \
            a.tobytes() == b.tobytes()                    # (bytes: corrupted data may hold NaNs)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if type(a).__eq__ is object.__eq__:                  # e.g. an array left pending by a corrupt file
        return repr(a) == repr(b)
    return a == b


@pytest.fixture
def table_only(monkeypatch):
    """Run ``fn`` with the reader's fast paths switched off (the opcode table alone)."""
    def run(fn):
        with monkeypatch.context() as m:
            m.setattr(su, "read_array", lambda vm: False)
            m.setattr(su, "str_pairs", lambda vm, key: vm.stack.append(key))
            return fn()
    return run


def _outcome(data):
    try:
        return "ok", su.loads(data)
    except (CorruptFileError, UnsafeFileError) as e:
        return type(e).__name__, str(e)                   # (the message names the byte offset)


def _assert_same_outcome(data, table_only):
    fast, slow = _outcome(data), table_only(lambda: _outcome(data))
    assert fast[0] == slow[0], (fast, slow)
    assert fast[1] == slow[1] if fast[0] != "ok" else _same(fast[1], slow[1]), (fast, slow)


# ---------------------------------------------------------------------- writer
@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_state_dicts_are_pickle_dumps_bytes(protocol):
    rng = np.random.default_rng(protocol)
    for _ in range(6):
        d = _state(rng, 80)
        d["shared"] = [d["StructuredToParameterName@@"], next(iter(d.values()))] * 2   # memo references
        assert pw.dumps(d, protocol) == pickle.dumps(d, protocol=protocol)


@pytest.mark.parametrize("protocol", [3, 4])
def test_frames_cut_inside_an_arrays_opcodes(protocol, monkeypatch):
    # thousands of tiny arrays: frames of 64 KiB end at every possible point of an array's opcodes
    calls = []
    real = pw._write_checked

    def spy(pk, pieces, after):
        frame = pk.framer.current_frame
        calls.append(frame is not None and frame.size + len(b"".join(pieces)) >= pw._FRAME_TARGET)
        return real(pk, pieces, after)

    monkeypatch.setattr(pw, "_write_checked", spy)
    objs = [np.arange(k % 7 + 2, dtype=np.float32).reshape((1,) * (k % 6) + (-1,)) for k in range(9000)]
    assert pw.dumps(objs, protocol) == pickle.dumps(objs, protocol=protocol)
    assert len(calls) > 8000 and (any(calls) or protocol == 3)      # the replayed checks were exercised


def test_raw_file_output_equals_bytesio_output(tmp_path):
    rng = np.random.default_rng(1)
    d = _state(rng, 700)                                  # more pieces than one writev call takes
    path = tmp_path / "x.pkl"
    with open(path, "wb", buffering=0) as f:             # io.FileIO: written with os.writev
        assert frame_sink.Sink(f).fd is not None
        pw.dump(d, f, 4)
    assert path.read_bytes() == pickle.dumps(d, protocol=4)


# ---------------------------------------------------------------------- reader
def _loaders(data, tmp_path):
    path = str(tmp_path / "f.pkl")
    with open(path, "wb") as f:
        f.write(data)
    return {
        "bytes": lambda: su.loads(data),
        "file": lambda: su.load_file(path),
        "mmap": lambda: su.load_file(path, mmap=True),
        "buffered": lambda: su.load_stream(open(path, "rb")),      # a BufferedReader: no descriptor reads
    }


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_reader_equals_pickle_and_table(protocol, tmp_path, table_only, monkeypatch):
    rng = np.random.default_rng(10 + protocol)
    data = pw.dumps(_state(rng, 150), protocol)
    expected = pickle.loads(data)
    taken = []
    real = unpickle_fast._one_array
    monkeypatch.setattr(unpickle_fast, "_one_array", lambda vm: taken.append(1) or real(vm))
    for name, load in _loaders(data, tmp_path).items():
        got = load()
        assert _same(got, expected), name
        assert _same(table_only(load), expected), name
    assert len(taken) > 100 or protocol == 2              # the fast path did the work (2: the table)


def test_loaded_arrays_are_aligned_writable_and_independent(tmp_path):
    rng = np.random.default_rng(3)
    values = {f"w{i}": rng.standard_normal(int(rng.integers(1, 3000))).astype(np.float32) for i in range(50)}
    values["big"] = np.ones(1 << 19, np.float32)          # 2 MiB: a buffer of its own
    path = tmp_path / "a.pdparams"
    path.write_bytes(pw.dumps(pw.legacy_state_dict(values, {k: k for k in values})))
    got = su.load_file(str(path))
    for k, v in values.items():
        a = got[k]
        assert np.array_equal(a, v) and a.flags.writeable and a.flags.aligned
        if su.BLOB_MIN <= a.nbytes < byte_source.ARENA_PIECE_MAX:     # (else: NumPy's own buffers)
            assert a.ctypes.data % byte_source.ALIGN == 0
    got["w0"][:] = 7                                      # slots do not overlap
    assert np.array_equal(got["w1"], values["w1"]) and su.load_file(str(path))["w0"][0] == values["w0"][0]
    assert got["big"].base is None or got["big"].base.size == got["big"].nbytes


def test_stream_from_an_offset_ends_after_the_pickle(tmp_path):
    data = pw.dumps({"a": np.arange(5000.0), "b": np.arange(7.0)})
    path = tmp_path / "s.bin"
    path.write_bytes(b"HEADER" + data + b"TRAILER")
    with open(path, "rb", buffering=0) as f:              # FileIO: read with pread at offsets
        f.seek(6)
        got = su.load_stream(f)
        assert f.tell() == 6 + len(data) and f.read() == b"TRAILER"
    assert np.array_equal(got["a"], np.arange(5000.0)) and np.array_equal(got["b"], np.arange(7.0))


@pytest.mark.parametrize("protocol,count", [(3, 6), (4, 6), (3, 50), (4, 50)])
def test_corrupted_files_fail_the_same_way_with_and_without_fast_path(protocol, count, table_only):
    # flip bytes inside the opcodes of a small state dict: whatever the table makes of the file
    # (an object, or an error with its message and offset), the fast path must make the same
    # (50 entries: memo keys past 255, LONG_BINGET / LONG_BINPUT)
    rng = np.random.default_rng(20 + protocol + count)
    values = {f"p{i}": rng.standard_normal((3, 4)).astype(np.float32) for i in range(count)}
    values["q"] = np.arange(6, dtype=np.int64)
    values["r"], values["s"] = np.arange(1100, dtype=np.float32), np.arange(17000, dtype=np.float32)
    data = pw.dumps(pw.legacy_state_dict(values, {k: k for k in values}), protocol)
    opcodes = [i for i in range(len(data)) if data[i] in b"hjKMJ\x94qrRtb(\x85\x86\x87\x89\x88CB\x8c\x95"]
    for _ in range(400):
        bad = bytearray(data)
        for _flip in range(int(rng.integers(1, 3))):
            pos = opcodes[int(rng.integers(len(opcodes)))] + int(rng.integers(0, 3))
            if pos < len(bad):
                bad[pos] = int(rng.integers(256)) if rng.random() < 0.5 else bad[pos] ^ 1
        _assert_same_outcome(bytes(bad), table_only)


def test_memo_tricks_aimed_at_the_fast_path(table_only):
    """References to entries the array pattern itself stores, and stores over used keys."""
    base = pw.dumps({k: np.ones(2, np.float32) for k in "abc"}, 3)
    # entry 'b': h2 h3 K0 TUPLE1 q18 h5 TUPLE3 q19 R q20 ( K1 K2 TUPLE1 q21 h12 NEWFALSE C.. q22 t q23 b
    cases = [base.replace(b"h\x02h\x03K\x00\x85q\x12", b"h\x02h\x14K\x00\x85q\x12"),   # ndarray -> the pending array
             base.replace(b"\x85q\x12h\x05", b"\x85q\x03h\x05"),    # a store over ndarray's key
             base.replace(b"q\x15h\x0c\x89", b"q\x15h\x15\x89"),    # dtype -> this array's shape tuple
             base.replace(b"q\x16t", b"q\x03t")]                   # the data stored over ndarray's key
    for bad in cases:
        assert bad != base
        _assert_same_outcome(bad, table_only)


def test_file_that_shrinks_is_reported_truncated(tmp_path, monkeypatch):
    data = pw.dumps({f"w{i}": np.arange(3000, dtype=np.float32) for i in range(4)})
    path = tmp_path / "t.pdparams"
    path.write_bytes(data)
    real = os.preadv

    def short(fd, bufs, offset):                          # the file ends 1000 bytes early
        limit = len(data) - 1000 - offset
        if limit <= 0:
            return 0
        views = [memoryview(b).cast("B") for b in bufs]
        total = sum(v.nbytes for v in views)
        return real(fd, views, offset) if total <= limit else real(fd, _cut(views, limit), offset)

    monkeypatch.setattr(os, "preadv", short)
    with pytest.raises(CorruptFileError, match="truncated"):
        su.load_file(str(path))


def _cut(views, limit):
    out = []
    for v in views:
        if limit <= 0:
            break
        out.append(v[:limit])
        limit -= v.nbytes
    return out


def test_tensor_stream_from_a_raw_file_at_an_offset(tmp_path):
    # a FileIO is read at explicit offsets: data that ends the file must come from where it is
    from sampan.formats import tensor_stream
    arr = np.arange(3000, dtype=np.float32).reshape(30, 100)
    buf = io.BytesIO()
    tensor_stream.write_dense_tensor(buf, arr)
    path = tmp_path / "t.bin"
    path.write_bytes(b"PREFIX" + buf.getvalue())
    with open(path, "rb", buffering=0) as f:
        f.seek(6)
        got, _, _ = tensor_stream.read_dense_tensor(f)
    assert np.array_equal(got, arr)


# ------------------------------------------------------------------ split loads (safe_unpickle._load_split)
def _tasks():
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def _no_helper_left(before):
    """No more threads than before the load (fewer: another test's thread may end meanwhile)."""
    import time
    for _ in range(200):                                    # (the helper may still be exiting)
        if _tasks() <= before:
            return True
        time.sleep(0.005)
    return False


def _big_mixed_state():
    """Several batches of array data: arena-sized and own-buffer arrays, a gap of opcodes over
    GAP_MAX (a long string) between two arrays, scalars and a nested list."""
    rng = np.random.default_rng(7)
    sd = {f"small{i}": rng.standard_normal(int(rng.integers(1000, 30000))).astype(np.float32) for i in range(300)}
    sd["big"] = rng.standard_normal((700, 1000)).astype(np.float32)             # 2.8 MB, a buffer of its own
    sd["note"] = "x" * (byte_source.DeferredReads.GAP_MAX + 123)
    sd["after_note"] = rng.standard_normal(5000).astype(np.float64)
    sd["nested"] = [rng.integers(0, 9, (40, 40)).astype(np.int64), 3, "s"]
    sd["f_order"] = np.asfortranarray(rng.standard_normal((300, 200)).astype(np.float32))
    return sd


def _big_file(tmp_path, data=None, name="big.pdparams"):
    """(pickle bytes, path): ``_big_mixed_state`` written as a file (or ``data``)."""
    data = pw.dumps(_big_mixed_state()) if data is None else data
    path = tmp_path / name
    path.write_bytes(data)
    return data, path


def _raises_and_no_helper_left(path, err, match):
    before = _tasks()
    with pytest.raises(err, match=match) as info:
        su.load_file(str(path))
    assert str(path) in str(info.value) or err is OSError
    assert before is None or _no_helper_left(before)


def _assert_equal_objects(a, b):
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_equal_objects(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_equal_objects(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and a.flags.f_contiguous == b.flags.f_contiguous
        assert np.array_equal(a, b)
    else:
        assert a == b


@pytest.mark.parametrize("protocol", [2, 4])
def test_split_load_parses_in_a_helper_and_reads_here(tmp_path, protocol, monkeypatch):
    import threading
    seen = {"read": [], "parse": []}
    real_read, real_load = byte_source.DeferredReads.read, su.SafeUnpickler.load

    def read(self, jobs):
        seen["read"].append((threading.get_ident(), len(jobs)))
        return real_read(self, jobs)

    def load(self):
        seen["parse"].append(threading.get_ident())
        return real_load(self)

    monkeypatch.setattr(byte_source.DeferredReads, "read", read)
    monkeypatch.setattr(su.SafeUnpickler, "load", load)
    data, path = _big_file(tmp_path, pw.dumps(_big_mixed_state(), protocol))
    assert len(data) > su.SPLIT_MIN
    before = _tasks()
    _assert_equal_objects(su.load_file(str(path)), pickle.loads(data))
    assert seen["parse"] and seen["parse"][0] != threading.get_ident()
    readers = {t for t, _ in seen["read"]}
    if protocol >= 3:       # (protocol 2 array data is a latin-1 string: decoded by the parse as it is read)
        assert readers == {threading.get_ident()} and len(seen["read"]) >= 4, seen["read"]
    assert before is None or _no_helper_left(before)


def test_split_load_survives_short_reads(tmp_path, monkeypatch):
    """``preadv`` may return less than asked (over 2 GiB in one call, signals): the rest is read."""
    data, path = _big_file(tmp_path)
    real = os.preadv

    def capped(fd, bufs, offset):
        return real(fd, _cut([memoryview(b).cast("B") for b in bufs], 100_003), offset)

    monkeypatch.setattr(os, "preadv", capped)
    _assert_equal_objects(su.load_file(str(path)), pickle.loads(data))


def test_split_load_past_the_end_is_truncated(tmp_path, monkeypatch):
    data, path = _big_file(tmp_path)
    real = os.preadv

    def ends_halfway(fd, bufs, offset):                     # array data past the middle is gone
        limit = len(data) // 2 - offset
        return 0 if limit <= 0 else real(fd, _cut([memoryview(b).cast("B") for b in bufs], limit), offset)

    monkeypatch.setattr(os, "preadv", ends_halfway)
    _raises_and_no_helper_left(path, CorruptFileError, r"truncated: \d+ of at least \d+ bytes")


@pytest.mark.parametrize("bad", ["opcode", "global"])
def test_split_load_errors_of_the_parse_reach_the_caller(tmp_path, bad):
    data = pw.dumps(_big_mixed_state())
    if bad == "opcode":
        data, err, match = data[:-1] + b"\xff", CorruptFileError, "unknown opcode 0xff"   # STOP -> unknown
    else:                                                   # a global nobody may load, after the arrays
        data, err, match = data[:-1] + b"\x80\x02cos\nsystem\n.", UnsafeFileError, "os.system"
    _, path = _big_file(tmp_path, data, "bad.pdparams")
    _raises_and_no_helper_left(path, err, match)


def test_split_load_without_threads_falls_back_to_one(tmp_path, monkeypatch):
    import _thread

    def refuse(*a):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(_thread, "start_new_thread", refuse)
    data, path = _big_file(tmp_path)
    _assert_equal_objects(su.load_file(str(path)), pickle.loads(data))


def test_split_loads_from_several_threads_at_once(tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    data, path = _big_file(tmp_path)
    want = pickle.loads(data)
    with ThreadPoolExecutor(4) as pool:
        for got in pool.map(lambda _: su.load_file(str(path)), range(4)):
            _assert_equal_objects(got, want)


def test_split_load_io_error_while_reading_reaches_the_caller(tmp_path, monkeypatch):
    data, path = _big_file(tmp_path)
    real = os.preadv

    def failing(fd, bufs, offset):                          # the disk fails under the array data
        if offset > len(data) // 2:
            raise OSError(5, "Input/output error")
        return real(fd, bufs, offset)

    monkeypatch.setattr(os, "preadv", failing)
    _raises_and_no_helper_left(path, OSError, "Input/output error")
