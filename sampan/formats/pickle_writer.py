"""Writer of Paddle's pickles (``.pdparams``, ``.pdopt``, any ``paddle.save`` object), byte for byte.

``paddle.save`` is ``pickle.dump`` of NumPy arrays (FORMATS.md section 1). This module produces the
exact bytes ``pickle.dump`` produces for the same objects, but streams every array buffer straight
into the file instead of building ``arr.tobytes()`` copies: saving a 2 GB state dict needs no extra
2 GB. It subclasses the pure-Python ``pickle._Pickler`` (whose output CPython keeps identical to the
C pickler's, framing included) and changes one thing: an ndarray reduces the way NumPy's own
``__reduce__`` does, except that its raw data is a :class:`Payload` written in place of the
``bytes`` object, with the same opcodes (``SHORT_BINBYTES``/``BINBYTES``/``BINBYTES8`` for
protocols 3-4, ``_codecs.encode(<latin-1 str>, 'latin1')`` for protocol 2) and the same memo.

Speed: once an array's reconstructor, class and dtype are memoized (every array after the first of
its dtype), ``_fast_array`` writes its ~25 opcodes directly instead of through ~15 generic ``save``
calls, replaying the pickler's frame-commit checks so FRAME opcodes fall where ``pickle.dump`` puts
them. Output goes through ``frame_sink``: frames are kept as lists of buffers (array data is not
copied into them) and written in batches, with ``os.writev`` for the raw file of ``sampan.save``.

NumPy module spelling: NumPy 2 names the array reconstructor ``numpy._core.multiarray._reconstruct``
(files of Paddle 3.x), NumPy 1 ``numpy.core.multiarray._reconstruct`` (Paddle 2.6 files). Both load
under either NumPy; ``numpy_module`` picks the one written, independently of the installed NumPy.

Example:
    >>> import io, pickle, numpy as np
    >>> obj = {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}
    >>> dumps(obj) == pickle.dumps(obj, protocol=4)
    True
"""
from __future__ import annotations

import codecs
import io
import math
import pickle
import types
from struct import pack

import numpy as np

from .frame_sink import PieceFramer, Sink
from .safe_unpickle import is_allowed_global

__all__ = ["dump", "dumps", "StreamingPickler", "Payload", "NUMPY2_MODULE", "NUMPY1_MODULE", "NAME_TABLE_KEY",
           "BIG_PARAM_KEY", "legacy_state_dict", "split_big_arrays", "tensor_reduce", "dense_tensor_reduce",
           "fresh_str"]

NUMPY2_MODULE = "numpy._core"
NUMPY1_MODULE = "numpy.core"
NAME_TABLE_KEY = "StructuredToParameterName@@"
BIG_PARAM_KEY = "UnpackBigParamInfor@@"   # sic, Paddle's spelling

_reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]
_CHUNK = 64 << 20          # bytes handed to file.write per call when streaming a payload
_FRAME_TARGET = pickle._Framer._FRAME_SIZE_TARGET
_NUMPY_SPELLINGS = (NUMPY2_MODULE, NUMPY1_MODULE)
_BIG_LIMIT_BYTES = 2**30 - 1    # protocols 2/3: arrays over this many bytes are split (Paddle's rule)


class Payload:
    """The raw bytes of a contiguous array, pickled as ``bytes`` without being copied into one."""

    __slots__ = ("flat",)

    def __init__(self, array: np.ndarray):
        # a flat uint8 view of the memory, in the array's own (C or F) order
        self.flat = array.reshape(-1, order="A").view(np.uint8) if array.size else np.empty(0, np.uint8)

    @property
    def nbytes(self) -> int:
        return int(self.flat.size)

    def chunks(self, size: int = _CHUNK):
        for start in range(0, self.nbytes, size):
            yield memoryview(self.flat[start:start + size])

    def tobytes(self) -> bytes:
        return self.flat.tobytes()


def fresh_str(s: str) -> str:
    """An equal string that is a distinct object (pickle must not memo-reference the original).

    Paddle's name table holds ``tensor.name`` values created by C++, never the key objects, so
    they are written in full; single characters and ``''`` stay shared singletons, as in CPython.
    """
    return s.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")


def _canonical_dtype(dt: np.dtype) -> np.dtype:
    # every float32 array of a Paddle state dict shares NumPy's one float32 descriptor, so the
    # dtype is pickled once and memo-referenced afterwards; equal but distinct descriptors would not be
    if dt.isbuiltin == 1 and dt.isnative and dt.kind in "biufc":
        return np.dtype(dt.type)
    return dt


def _array_reduce(arr: np.ndarray):
    """NumPy's ``ndarray.__reduce__`` with a streamed :class:`Payload` in place of ``tobytes()``."""
    if arr.dtype.hasobject:
        return NotImplemented
    fortran = bool(arr.flags.f_contiguous and not arr.flags.c_contiguous)
    data = arr
    if not (arr.flags.c_contiguous or fortran):
        data = np.array(arr, order="C", copy=True)
    cls = np.ndarray if isinstance(arr, np.memmap) else type(arr)
    # 0- and 1-byte ``bytes`` are CPython singletons, which pickle memo-references: keep them real
    raw = Payload(data) if data.nbytes > 1 else data.tobytes(order="A")
    # tuple([0]) and not (0,): NumPy builds a new (0,) per array, and a constant would be memoized
    return (_reconstruct, (cls, tuple([0]), b"b"), (1, arr.shape, _canonical_dtype(arr.dtype), fortran, raw))


def tensor_reduce(name: str, array: np.ndarray):
    """How Paddle pickles an eager Tensor outside state dicts: ``tuple(((name, ndarray),))``."""
    return (tuple, ((fresh_str(name), array),))


def dense_tensor_reduce(array: np.ndarray):
    """How Paddle pickles a static-mode DenseTensor: ``eval('data', {'data': ndarray})``."""
    return (eval, ("data", {"data": array}))


class StreamingPickler(pickle._Pickler):
    """``pickle.Pickler`` producing identical bytes, streaming ndarray buffers into the file.

    Args:
        file: binary file object (anything with ``write``).
        protocol: 2, 3 or 4 (what Paddle writes); 5 also works but is not a Paddle format.
        numpy_module: ``'numpy._core'`` (NumPy 2 spelling, default) or ``'numpy.core'`` (NumPy 1).
        reduce_hook: ``hook(obj) -> reduce tuple | NotImplemented`` consulted for non-array objects
            (sampan's Tensor and Layer handling lives in ``sampan.framework.io``).
    """

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file, protocol: int = 4, *, numpy_module: str = NUMPY2_MODULE, reduce_hook=None):
        if numpy_module not in _NUMPY_SPELLINGS:
            raise ValueError(f"numpy_module must be one of {_NUMPY_SPELLINGS}. Received: {numpy_module!r}.")
        super().__init__(file, protocol, fix_imports=True)
        self.framer = PieceFramer(Sink(file))
        self.write = self.framer.write
        self._write_large_bytes = self.framer.write_large_bytes
        self._placeholder = 0              # memo keys of objects the array fast path does not create
        self._array_refs = None            # its cached BINGETs (``_array_refs``, ``_dtype_ref``)
        self._dtype_refs: dict = {}
        self._numpy_module = numpy_module
        self._module_names: dict[str, str] = {}
        self._hook = reduce_hook
        self.foreign_globals: list[str] = []   # globals outside numpy/builtins written (for warnings)

    def dump(self, obj):
        super().dump(obj)
        self.framer.sink.flush()

    def clear_memo(self):
        super().clear_memo()
        self._array_refs, self._dtype_refs = None, {}     # they name memo entries

    def save(self, obj, save_persistent_id=True):
        """``pickle._Pickler.save`` with a shortcut for ``str`` and ``ndarray`` (most of a state dict).

        Same steps in the same order: frame-commit check, memo reference, else the type's saver;
        ``reduce_hook`` is not consulted for these two types.
        """
        t = type(obj)
        if t is not str and t is not np.ndarray:
            return super().save(obj, save_persistent_id)
        self.framer.commit_frame()
        x = self.memo.get(id(obj))
        if x is not None:
            self.write(self.get(x[0]))
        elif t is str:
            self.save_str(obj)
        else:
            self.save_ndarray(obj)

    def reducer_override(self, obj):
        t = type(obj)
        if t is np.memmap:
            return _array_reduce(obj)
        if t is np.ndarray or t is Payload or self._hook is None:
            return NotImplemented      # ndarray: ``save_ndarray`` through the dispatch table
        return self._hook(obj)

    # ------------------------------------------------------------------ arrays
    def save_ndarray(self, arr: np.ndarray):
        if _fast_array(self, arr):
            return
        rv = _array_reduce(arr)
        if rv is NotImplemented:       # object arrays: NumPy's own reduction (a safe loader refuses them)
            rv = arr.__reduce_ex__(self.proto)
        self.save_reduce(*rv, obj=arr)

    dispatch[np.ndarray] = save_ndarray

    # ------------------------------------------------------------------ payloads
    def save_payload(self, p: Payload):
        if self.proto >= 3:
            self._save_payload_binbytes(p)
        else:
            self._save_payload_latin1(p)

    dispatch[Payload] = save_payload

    def _save_payload_binbytes(self, p: Payload):
        n = p.nbytes
        if n <= 0xFF:
            self.write(pickle.SHORT_BINBYTES + pack("<B", n) + p.tobytes())
        elif n > 0xFFFFFFFF:
            if self.proto < 4:
                raise pickle.PicklingError(f"an array of {n} bytes does not fit pickle protocol {self.proto} "
                                           "(4 GiB limit); save with protocol=4.")
            self._stream(pickle.BINBYTES8 + pack("<Q", n), p.chunks())
        elif n >= _FRAME_TARGET:
            self._stream(pickle.BINBYTES + pack("<I", n), p.chunks())
        else:
            self.write(pickle.BINBYTES + pack("<I", n) + p.tobytes())
        self.memoize(p)

    def _stream(self, header: bytes, chunks):
        """``_Framer.write_large_bytes`` with the payload written chunk by chunk."""
        framer = self.framer
        if framer.current_frame:
            framer.commit_frame(force=True)
        framer.file_write(header)
        for c in chunks:
            framer.file_write(c)

    def _save_payload_latin1(self, p: Payload):
        """Protocol 2: ``save_reduce(codecs.encode, (str(data, 'latin1'), 'latin1'), obj=p)``."""
        self.save(codecs.encode)
        n = _utf8_length_of_latin1(p.flat)
        header = pickle.BINUNICODE + pack("<I", n)
        if n >= _FRAME_TARGET:
            self._stream(header, _latin1_as_utf8(p.flat))
        else:
            self.write(header + b"".join(_latin1_as_utf8(p.flat)))
        self.memoize(object())          # the latin-1 str
        self.save("latin1")
        self.write(pickle.TUPLE2)
        self.memoize(object())          # the args tuple
        self.write(pickle.REDUCE)
        self.memoize(p)

    # ------------------------------------------------------------------ globals
    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", None)
        if name is None:
            name = getattr(obj, "__qualname__", None) or obj.__name__
        if isinstance(module, str) and module.startswith(("numpy._core.", "numpy.core.")):
            return self._save_numpy_global(obj, module, name)
        super().save_global(obj, name)
        module = pickle.whichmodule(obj, name)
        if not is_allowed_global(module, name):
            self.foreign_globals.append(f"{module}.{name}")

    def _save_numpy_global(self, obj, module: str, name: str):
        tail = module.split(".", 2)[2]
        spelled = f"{self._numpy_module}.{tail}"
        # one string object per module name: the pickler memo-references it the second time
        spelled = self._module_names.setdefault(spelled, spelled)
        if not is_allowed_global(spelled, name):
            self.foreign_globals.append(f"{spelled}.{name}")
        if self.proto >= 4:
            self.save(spelled)
            self.save(name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + spelled.encode("utf-8") + b"\n" + name.encode("utf-8") + b"\n")
        self.memoize(obj)


StreamingPickler.dispatch[types.FunctionType] = StreamingPickler.save_global


# ---------------------------------------------------------------------- arrays without the generic machinery
_INT1 = [pickle.BININT1 + bytes([i]) for i in range(256)]
_ZERO_TUPLE1 = _INT1[0] + pickle.TUPLE1
_TUPLE_N = {1: pickle.TUPLE1, 2: pickle.TUPLE2, 3: pickle.TUPLE3}


def _fast_array(pk: StreamingPickler, arr: np.ndarray) -> bool:
    """Write ``arr`` as ``save_reduce(*_array_reduce(arr), obj=arr)`` would, without its ~15 ``save`` calls.

    Same bytes, same memo, and the frame-commit checks at the same points (``save`` commits a
    frame of 64 KiB or more when it starts; those checks are replayed one by one only when the
    array's opcodes would cross the frame limit). Taken when the reconstructor, ``ndarray``,
    ``b'b'`` and the dtype are already memoized (every array after the first of its dtype), the
    memory is contiguous and the protocol stores bytes natively (3 and 4); else returns False.
    """
    if pk.fast:                         # (pickle's deprecated no-memo mode)
        return False
    refs = pk._array_refs or _array_refs(pk)
    d = pk._dtype_refs.get(id(arr.dtype)) or _dtype_ref(pk, arr.dtype)
    flags = arr.flags
    fortran = flags.f_contiguous and not flags.c_contiguous
    n = arr.nbytes
    if refs is None or d is None or not (flags.c_contiguous or fortran) or n <= 1 or \
            (n > 0xFFFFFFFF and pk.proto < 4):
        return False
    memo, get, put = pk.memo, pk.get, pk.put
    base = len(memo)
    _reserve_memo(pk, 2)
    memo[id(arr)] = (base + 2, arr)
    head = [refs[0], refs[1], _ZERO_TUPLE1 + put(base), refs[2] + pickle.TUPLE3 + put(base + 1) + pickle.REDUCE +
            put(base + 2), pickle.MARK, _INT1[1]]
    head += _shape_pieces(pk, arr.shape)
    head += [get(d[1]), pickle.NEWTRUE if fortran else pickle.NEWFALSE]
    data = memoryview(arr.T if fortran else arr).cast("B")
    if n <= 0xFF:
        _write_checked(pk, head, pickle.SHORT_BINBYTES + pack("<B", n) + data.tobytes())
    elif n < _FRAME_TARGET:
        _write_checked(pk, head, pickle.BINBYTES + pack("<I", n))
        pk.write(data)
    else:
        _write_checked(pk, head, b"")
        op = pickle.BINBYTES + pack("<I", n) if n <= 0xFFFFFFFF else pickle.BINBYTES8 + pack("<Q", n)
        pk._stream(op, (data[i:i + _CHUNK] for i in range(0, n, _CHUNK)))
    k = len(memo)
    _reserve_memo(pk, 2)
    pk.write(put(k) + pickle.TUPLE + put(k + 1) + pickle.BUILD)
    return True


def _array_refs(pk: StreamingPickler):
    """``BINGET`` opcodes of ``_reconstruct``, ``ndarray`` and ``b'b'``, once all three are memoized."""
    if pk.proto < 3:
        return None
    idx = [pk.memo.get(id(x)) for x in (_reconstruct, np.ndarray, b"b")]
    if None in idx:
        return None
    pk._array_refs = [pk.get(i[0]) for i in idx]
    return pk._array_refs


def _dtype_ref(pk: StreamingPickler, dt: np.dtype):
    """``(dtype, memo index)`` of the memoized descriptor ``_array_reduce`` writes for ``dt``, if any."""
    if dt.hasobject:
        return None
    hit = pk.memo.get(id(_canonical_dtype(dt)))
    if hit is None:
        return None
    pk._dtype_refs[id(dt)] = (dt, hit[0])   # keeps ``dt`` alive, so its id is not reused
    return pk._dtype_refs[id(dt)]


def _reserve_memo(pk: StreamingPickler, count: int):
    """Memoize ``count`` objects no later ``save`` can meet (fresh tuples, payloads) without creating them."""
    memo = pk.memo
    for _ in range(count):
        pk._placeholder -= 1            # negative keys: never the ``id`` of a live object
        memo[pk._placeholder] = (len(memo), None)


def _int_bytes(x: int) -> bytes:
    """``save_long`` for protocols >= 2."""
    if 0 <= x <= 0xFF:
        return _INT1[x]
    if 0 <= x <= 0xFFFF:
        return pickle.BININT2 + pack("<H", x)
    if -0x80000000 <= x <= 0x7FFFFFFF:
        return pickle.BININT + pack("<i", x)
    encoded = pickle.encode_long(x)
    if len(encoded) < 256:
        return pickle.LONG1 + pack("<B", len(encoded)) + encoded
    return pickle.LONG4 + pack("<i", len(encoded)) + encoded


def _shape_pieces(pk: StreamingPickler, shape: tuple) -> list:
    """``save_tuple(shape)`` as pieces, one per ``save`` call (each preceded by a commit check)."""
    if not shape:
        return [pickle.EMPTY_TUPLE]
    pieces = [_int_bytes(x) for x in shape]
    k = len(pk.memo)
    _reserve_memo(pk, 1)
    if len(shape) <= 3:
        pieces[-1] += _TUPLE_N[len(shape)] + pk.put(k)
        return pieces
    pieces[-1] += pickle.TUPLE + pk.put(k)
    return [pickle.MARK] + pieces


def _write_checked(pk: StreamingPickler, pieces: list, after: bytes):
    """Write ``pieces`` with a frame-commit check before each and one more before ``after``, as ``save`` does."""
    framer = pk.framer
    frame = framer.current_frame
    data = b"".join(pieces)
    if frame is None or frame.size + len(data) < _FRAME_TARGET:
        pk.write(data + after)          # no check can find a full frame
        return
    for piece in pieces:
        framer.commit_frame()
        pk.write(piece)
    framer.commit_frame()
    if after:
        pk.write(after)


def _latin1_as_utf8(flat: np.ndarray, chunk: int = 16 << 20):
    for start in range(0, flat.size, chunk):
        yield flat[start:start + chunk].tobytes().decode("latin-1").encode("utf-8")


def _utf8_length_of_latin1(flat: np.ndarray, chunk: int = 16 << 20) -> int:
    high = 0
    for start in range(0, flat.size, chunk):
        high += int(np.count_nonzero(flat[start:start + chunk] >= 0x80))
    return int(flat.size) + high


def dump(obj, file, protocol: int = 4, *, numpy_module: str = NUMPY2_MODULE, reduce_hook=None):
    """``pickle.dump(obj, file, protocol)`` with streamed array buffers; returns the pickler.

    Example:
        >>> import io, numpy as np
        >>> buf = io.BytesIO()
        >>> _ = dump({"b": np.zeros(3, np.float32)}, buf, protocol=2)
        >>> buf.getvalue()[:2]
        b'\\x80\\x02'
    """
    p = StreamingPickler(file, protocol, numpy_module=numpy_module, reduce_hook=reduce_hook)
    p.dump(obj)
    return p


def dumps(obj, protocol: int = 4, **kw) -> bytes:
    """Bytes of :func:`dump` (for tests and small objects)."""
    buf = io.BytesIO()
    dump(obj, buf, protocol, **kw)
    return buf.getvalue()


# ---------------------------------------------------------------------- Paddle's state-dict layout
def _fresh_array(a: np.ndarray) -> np.ndarray:
    # Paddle pickles np.array(tensor): a new C-contiguous array per entry, so two keys sharing one
    # tensor are written twice rather than memo-referenced
    if not a.flags.c_contiguous:
        return np.array(a, order="C", copy=True)
    return a.view(np.ndarray)


def legacy_state_dict(values: dict, names: dict, protocol: int = 4) -> dict:
    """The dict ``paddle.save`` pickles for a Layer/Optimizer state dict (FORMATS.md section 1.2).

    Args:
        values: ``{structured key: ndarray or non-tensor value}`` in state-dict order.
        names: ``{structured key: tensor.name}`` for the tensor entries.
        protocol: 2 and 3 split arrays over 1 GiB into ``key@@.N`` chunks.

    Example:
        >>> d = legacy_state_dict({"fc.weight": np.zeros(2, np.float32)}, {"fc.weight": "linear_0.w_0"})
        >>> list(d), d[NAME_TABLE_KEY]
        (['fc.weight', 'StructuredToParameterName@@'], {'fc.weight': 'linear_0.w_0'})
    """
    out = {k: (_fresh_array(v) if isinstance(v, np.ndarray) else v) for k, v in values.items()}
    out[NAME_TABLE_KEY] = {k: fresh_str(n) for k, n in names.items()}
    return split_big_arrays(out, protocol)


def split_big_arrays(d: dict, protocol: int) -> dict:
    """Paddle's ``_unpack_saved_dict``: with protocol 2/3, arrays over 1 GiB become chunks.

    Chunk ``i`` of ``key`` is stored under ``key@@.i`` after the other entries, and
    ``UnpackBigParamInfor@@`` maps ``key`` to ``{'OriginShape': shape, 'slices': [chunk keys]}``.
    """
    if not 1 < protocol < 4:
        return d
    info, parts = {}, {}
    for key, value in d.items():
        if not isinstance(value, np.ndarray):
            continue
        limit = int(_BIG_LIMIT_BYTES / value.dtype.itemsize)
        total = int(np.prod(value.shape))
        if total <= limit:
            continue
        entry = info[key] = {}
        entry["OriginShape"] = value.shape
        entry["slices"] = []
        flat = value.reshape(-1)
        for i in range(int(math.ceil(total * 1.0 / limit))):
            part = key + "@@." + str(i)
            entry["slices"].append(part)
            parts[part] = flat[i * limit:(i + 1) * limit]
    if info:
        for key, entry in info.items():
            d.pop(key)
            for part in entry["slices"]:
                d[part] = parts[part]
        d[BIG_PARAM_KEY] = info
    return d
