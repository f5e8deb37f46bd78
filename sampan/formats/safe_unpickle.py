"""Reading Paddle's pickles without executing anything from the file.

A ``.pdparams``/``.pdopt`` is a pickle, and a pickle can name any importable callable
(``os.system``) and call it. This module admits only the globals Paddle's writers emit
(FORMATS.md section 8):

* ``numpy.(_)core.multiarray._reconstruct`` / ``numpy.ndarray`` / ``numpy.dtype`` (both NumPy
  spellings) and ``numpy.(_)core.multiarray.scalar``, with validated arguments, no object dtypes;
* ``_codecs.encode`` with the ``'latin1'`` encoding only (protocol-2 byte strings);
* ``builtins.eval`` as a stub that accepts exactly Paddle's static DenseTensor pattern
  ``eval('data', {'data': ndarray})`` and returns the array without evaluating anything;
* harmless builtins (``tuple list set frozenset slice complex bytes bytearray``) and
  ``collections.OrderedDict``.

Anything else raises :class:`~sampan.formats.errors.UnsafeFileError` naming the global, before any
call happens.

The reader is :class:`SafeUnpickler`, a small pickle machine (``find_class`` + one method per
opcode) rather than a ``pickle.Unpickler`` subclass: ``find_class`` alone is not enough, because the
C unpickler's BUILD calls ``__setstate__`` unchecked and NumPy's ``dtype.__setstate__`` accepts a
state that turns a float dtype into an object dtype (verified with NumPy 2.4), i.e. raw file bytes
read as object pointers. The machine admits BUILD only on NumPy's own array and dtype states and
checks them. It also validates every length against the file size before allocating, reports
truncation as ``"truncated: N of M bytes"`` with the byte offset, reads array data straight into
the final arrays (no intermediate ``bytes``; arrays under 1 MiB share aligned arenas, see
``byte_source.Arena``), and with ``mmap=True`` returns arrays that are views of a copy-on-write
memory map of the file.

Speed: a Paddle state dict is ~30 opcodes per tensor, one table call each. The runs Paddle's
pickles are made of (a key and NumPy's opcodes for one array; a dict of names) are recognised and
run in one go by ``unpickle_fast``, which leaves the machine exactly as the table would and calls
the same checks (tests compare both on randomly corrupted files: same result or same error). From
4 MiB on, ``load_file`` parses in a helper thread while the caller reads the array data
(``_load_split``).

Example:
    >>> import io, pickle, numpy as np
    >>> data = pickle.dumps({"w": np.ones(3, np.float32)}, protocol=4)
    >>> loads(data)["w"]
    array([1., 1., 1.], dtype=float32)
    >>> import os
    >>> try:
    ...     loads(pickle.dumps(os.system))
    ... except UnsafeFileError as e:
    ...     print(e.global_name)
    posix.system
"""
from __future__ import annotations

import _thread
import codecs
import collections
import pickle
import queue
import re
from struct import unpack_from

import numpy as np

from .byte_source import Truncated, map_file, open_source
from .errors import CorruptFileError, UnsafeFileError, describe_file
from . import unpickle_fast
from .unpickle_fast import read_array, str_pairs

__all__ = ["loads", "load_file", "load_stream", "SafeUnpickler", "is_allowed_global", "OPT_IN_HINT"]

OPT_IN_HINT = ("If you trust the file's origin, load it with sampan.load(path, allow_unsafe=True), which uses "
               "Python's unrestricted unpickler and runs whatever code the file contains.")
BLOB_MIN = 4096          # byte strings from this size on are read into numpy buffers (array data)
_real_reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]
_DTYPE_STR = re.compile(r"^[<>|=]?(\?|b1|[iuf]\d{1,2}|c\d{1,2}|[SU]\d{1,9}|[bBhHiIlLqQefdgFDG])$")


# ---------------------------------------------------------------------- allow-listed callables
def _bad(msg):
    return UnsafeFileError(f"refusing to load: {msg}. {OPT_IN_HINT}")


def _check_dtype(dt) -> np.dtype:
    if not isinstance(dt, np.dtype) or dt.hasobject or dt.fields is not None or dt.subdtype is not None \
            or dt.kind not in "biufcSU":
        raise _bad(f"array dtype {dt!r} is not a plain numeric or string dtype")
    return dt


def _check_reconstruct_args(cls, shape, typecode):
    if cls is not np.ndarray or not isinstance(shape, tuple) or shape != (0,) or \
            not isinstance(typecode, (bytes, str)):
        raise _bad(f"_reconstruct called with ({cls!r}, {shape!r}, {typecode!r})")


def safe_reconstruct(cls, shape, typecode):
    """``numpy...multiarray._reconstruct`` for ``(ndarray, (0,), b'b')`` only (what NumPy writes).

    The machine never calls it: it checks the arguments the same way and waits for BUILD.
    """
    _check_reconstruct_args(cls, shape, typecode)
    return _real_reconstruct(np.ndarray, (0,), b"b")


def safe_dtype(obj, align=False, copy=True):
    """``numpy.dtype`` for dtype strings such as ``'f4'``; no object, structured or sub-array dtypes.

    Always a new dtype object (``copy=False`` would hand out NumPy's shared descriptor, which the
    BUILD that follows would then modify for the whole process).
    """
    if not isinstance(obj, str) or not _DTYPE_STR.match(obj):
        raise _bad(f"numpy.dtype called with {obj!r}")
    return _check_dtype(np.dtype(obj, bool(align), True))


def safe_scalar(dtype, data=None):
    """``numpy...multiarray.scalar``: a NumPy scalar from its dtype and raw bytes."""
    _check_dtype(dtype)
    if not isinstance(data, (bytes, bytearray)) or len(data) != dtype.itemsize:
        raise _bad(f"numpy scalar of {dtype} built from {type(data).__name__} of the wrong size")
    return np.frombuffer(bytes(data), dtype=dtype, count=1)[0]


def safe_codecs_encode(obj, encoding="utf-8", errors="strict"):
    """``_codecs.encode(str, 'latin1')`` (how protocol 2 stores bytes); nothing else."""
    if isinstance(obj, _Latin1Array) and encoding in ("latin1", "latin-1"):
        return obj.array
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1") or errors != "strict":
        raise _bad(f"_codecs.encode called with ({type(obj).__name__}, {encoding!r}, {errors!r})")
    return codecs.encode(obj, "latin1")


def safe_eval(source, globals_=None, locals_=None):
    """Paddle's static DenseTensor pickle: ``eval('data', {'data': ndarray})`` -> the ndarray."""
    if source == "data" and locals_ is None and isinstance(globals_, dict) and list(globals_) == ["data"] \
            and isinstance(globals_["data"], np.ndarray):
        return globals_["data"]
    raise _bad(f"builtins.eval called with {source!r:.80}, which is not Paddle's DenseTensor pattern "
               "eval('data', {'data': ndarray})")


def _iterable_ctor(kind):
    def ctor(*args):
        if len(args) > 1 or (args and not isinstance(args[0], (list, tuple, set, frozenset, dict))):
            raise _bad(f"builtins.{kind.__name__} called with {len(args)} argument(s) of unexpected type")
        return kind(*args)
    ctor.__name__ = kind.__name__
    return ctor


def _bytes_ctor(kind):
    def ctor(*args):
        if args and not (isinstance(args[0], (bytes, bytearray)) or
                         (isinstance(args[0], str) and args[1:] in (("latin-1",), ("latin1",)))):
            raise _bad(f"builtins.{kind.__name__} called with {args[:1]!r:.60}")
        return kind(*args)
    ctor.__name__ = kind.__name__
    return ctor


def _scalar_ctor(kind, types):
    def ctor(*args):
        if not all(isinstance(a, types) for a in args) or len(args) > 3:
            raise _bad(f"builtins.{kind.__name__} called with unexpected arguments")
        return kind(*args)
    ctor.__name__ = kind.__name__
    return ctor


def _ordered_dict(*args):
    if len(args) > 1 or (args and not isinstance(args[0], (list, tuple, dict))):
        raise _bad("collections.OrderedDict called with unexpected arguments")
    return collections.OrderedDict(*args)


_ALLOWED = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): safe_dtype,
    ("_codecs", "encode"): safe_codecs_encode,
    ("builtins", "eval"): safe_eval,
    ("builtins", "tuple"): _iterable_ctor(tuple),
    ("builtins", "list"): _iterable_ctor(list),
    ("builtins", "set"): _iterable_ctor(set),
    ("builtins", "frozenset"): _iterable_ctor(frozenset),
    ("builtins", "bytes"): _bytes_ctor(bytes),
    ("builtins", "bytearray"): _bytes_ctor(bytearray),
    ("builtins", "slice"): _scalar_ctor(slice, (int, type(None))),
    ("builtins", "complex"): _scalar_ctor(complex, (int, float)),
    ("collections", "OrderedDict"): _ordered_dict,
}
for _spelling in ("numpy._core.multiarray", "numpy.core.multiarray"):
    _ALLOWED[(_spelling, "_reconstruct")] = safe_reconstruct
    _ALLOWED[(_spelling, "scalar")] = safe_scalar
_CALLABLES = {id(v) for v in _ALLOWED.values() if v is not np.ndarray}   # ndarray: an argument only
# constructors that copy their argument: what they build is charged to a budget proportional to the file
# size, so memo references cannot make a small file expand into gigabytes (list(x) called 10**4 times)
_COPYING = {id(_ALLOWED[("builtins", n)]) for n in ("tuple", "list", "set", "frozenset", "bytes", "bytearray")}
_COPYING.add(id(_ordered_dict))
_MODULE_ALIASES = {"__builtin__": "builtins"}   # protocol 2 spells builtins the Python 2 way


def is_allowed_global(module: str, name: str) -> bool:
    """Whether ``module.name`` may appear in a pickle sampan loads (``sampan.save`` warns otherwise)."""
    return (_MODULE_ALIASES.get(module, module), name) in _ALLOWED


def _resolve_global(module: str, name: str, path=None, offset=None):
    obj = _ALLOWED.get((_MODULE_ALIASES.get(module, module), name))
    if obj is None:
        raise UnsafeFileError(
            f"refusing to load: the pickle references the global '{module}.{name}', which Paddle's writers never "
            "emit (sampan loads only NumPy arrays, dtypes, Python containers and scalars from pickles; nothing "
            f"from the file was executed). {OPT_IN_HINT}", path, offset, global_name=f"{module}.{name}")
    return obj


# ---------------------------------------------------------------------- the machine
class _PendingArray:
    """What ``_reconstruct`` returns until BUILD supplies shape, dtype and data."""

    __slots__ = ("memo_keys",)

    def __init__(self):
        self.memo_keys = []

    def __repr__(self):
        return "<array without data (malformed pickle)>"


_LEAVES = frozenset({str, np.ndarray, int, float, bool, bytes, type(None)})   # nothing pending inside


def _check_complete(obj, vm, depth=0):
    """A malformed pickle can leave an array that never got its BUILD: refuse it rather than return a
    placeholder inside the result."""
    t = type(obj)
    if t is _PendingArray:
        raise vm._corrupt("an array is never given its data (REDUCE of _reconstruct without BUILD)")
    if depth > 100:
        return
    if t is dict or isinstance(obj, dict):
        for k, v in obj.items():
            if type(v) not in _LEAVES or type(k) not in _LEAVES:
                _check_complete(k, vm, depth + 1)
                _check_complete(v, vm, depth + 1)
    elif t is list or t is tuple or t is set or t is frozenset:
        for v in obj:
            if type(v) not in _LEAVES:
                _check_complete(v, vm, depth + 1)


class _Latin1Array:
    """Protocol-2 array data: the latin-1 bytes, already decoded from the pickle's UTF-8 string."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array


_STOP = object()


class SafeUnpickler:
    """Runs the opcodes of a pickle (protocols 0-5) over the allow-list; see the module docstring.

    Same interface as ``pickle.Unpickler(file).load()``; ``find_class`` is the allow-list.

    Args:
        source: ``bytes``/``bytearray``/``memoryview``/``mmap`` or a binary file object.
        path: file name used in error messages.
        size: total size of ``source`` when it is a file object (for truncation checks).
        view: for buffer sources, return arrays that are views of the buffer (mmap loading).

    Example:
        >>> import pickle
        >>> SafeUnpickler(pickle.dumps([1, (2, 3)])).load()
        [1, (2, 3)]
    """

    def __init__(self, source, path=None, size=None, view=False):
        self.src = open_source(source, size, view)
        self.path = path
        self.stack = []
        self.metastack = []
        self.memo = {}
        self.proto = 0
        self.budget = 16 * self.src.size + (1 << 20)    # elements the copying constructors may build
        self.heads = {}          # array opcodes already decoded (``unpickle_fast``)

    # ------------------------------------------------------------ driver
    def load(self):
        """Run to the STOP opcode and return the object. Errors name the file and the byte offset
        where reading stopped."""
        src, table, memo = self.src, _TABLE, self.memo
        read_byte = src.read_byte
        try:
            while True:
                i, buf = src.i, src.buf      # the opcode byte, read inline (this loop is the hot path)
                if i < len(buf):
                    code = buf[i]
                    src.i = i + 1
                else:
                    code = read_byte()
                if code == 0x94:            # MEMOIZE and BINGET are half the opcodes of a state dict
                    self._memo_put(len(memo), self.stack[-1])
                elif code == 0x68 or code == 0x6A and src.i + 4 <= len(src.buf):   # BINGET, LONG_BINGET
                    if code == 0x68:
                        obj = memo[read_byte()]
                    else:
                        src.i += 4          # (first: a missing key is reported after the opcode)
                        obj = memo[unpack_from("<I", src.buf, src.i - 4)[0]]
                    # runs of opcodes Paddle's pickles are made of, in one go (unpickle_fast; same checks)
                    if type(obj) is str:
                        str_pairs(self, obj)
                    elif obj is not safe_reconstruct or not read_array(self):
                        self.stack.append(obj)
                elif code == 0x8C:          # SHORT_BINUNICODE (keys, names), when buffered
                    i, buf = src.i, src.buf
                    end = i + 1 + buf[i] if i < len(buf) else len(buf) + 1
                    if end <= len(buf):
                        src.i = end         # (first: a decoding error is reported after the string)
                        self.stack.append(str(buf[i + 1:end], "utf-8", "surrogatepass"))
                    else:
                        table[code](self)
                elif table[code](self) is _STOP:
                    result = self.stack.pop()
                    src.finish()    # (the last batch of array data to read, when another thread reads it)
                    _check_complete(result, self)
                    return result
        except Truncated as t:
            raise CorruptFileError(f"truncated: {t.have} of at least {t.need} bytes (the file ends inside the "
                                   "pickle data)", self.path, t.have) from None
        except (UnsafeFileError, CorruptFileError) as e:
            if e.path is None:
                raise type(e)(e.reason, self.path, self.offset,
                              **({"global_name": e.global_name} if isinstance(e, UnsafeFileError) else {})) from None
            raise
        except KeyError as e:
            raise self._corrupt(f"memo key {e} referenced before it was stored") from None
        except (IndexError, TypeError, ValueError, UnicodeDecodeError, OverflowError) as e:
            raise self._corrupt(f"malformed pickle ({type(e).__name__}: {e})") from None

    @property
    def offset(self) -> int:
        """Byte offset reached in the source."""
        return self.src.pos

    def _corrupt(self, msg):
        return CorruptFileError(msg, self.path, self.offset)

    def _pop_mark(self):
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def _memo_put(self, i, obj):
        self.memo[i] = obj
        if type(obj) is _PendingArray:
            obj.memo_keys.append(i)

    def _get(self, i):
        self.stack.append(self.memo[i])

    def _length(self, fmt, size):
        n = unpack_from(fmt, self.src.read(size))[0]
        if n < 0:
            raise self._corrupt(f"negative length {n}")
        self.check_length(n)
        return n

    def check_length(self, n):
        """Raise ``Truncated`` unless ``n`` more bytes are left (before anything is allocated for them)."""
        if self.src.pos + n > self.src.size:
            raise Truncated(self.src.size, self.src.pos + n)

    def _in_array_state(self, extra=0):
        """Whether the stack holds NumPy's array state ``(1, shape, dtype, fortran, <data next>)``."""
        s = self.stack
        n = len(s) - extra
        return (n == 4 and type(s[0]) is int and s[0] == 1 or n == 3) and type(s[n - 3]) is tuple and \
            isinstance(s[n - 2], np.dtype) and type(s[n - 1]) is bool

    # ------------------------------------------------------------ values
    def _bytes(self, n):
        if n >= BLOB_MIN and self._in_array_state():    # array data: into its final buffer, no bytes
            self.stack.append(self.src.read_array(n))
        else:
            self.stack.append(self.src.read(n))

    def _unicode(self, n):
        if n >= BLOB_MIN and self.stack and self.stack[-1] is safe_codecs_encode and self._in_array_state(1):
            self.stack.append(_Latin1Array(_utf8_to_latin1(self.src.read_array(n, now=True))))
        else:
            self.stack.append(self.src.read(n).decode("utf-8", "surrogatepass"))

    def _reduce(self):
        args = self.stack.pop()
        func = self.stack[-1]
        if id(func) not in _CALLABLES or not isinstance(args, tuple):
            raise _bad(f"REDUCE of {type(func).__name__} objects is not allowed")
        if func is safe_reconstruct:
            if len(args) != 3:
                raise _bad(f"_reconstruct called with {len(args)} arguments")
            _check_reconstruct_args(*args)
            self.stack[-1] = _PendingArray()
            return
        if id(func) in _COPYING and args and hasattr(args[0], "__len__"):
            self.budget -= len(args[0])
            if self.budget < 0:
                raise self._corrupt("the pickle builds far more data than its size holds (memo references "
                                    "copied over and over); refusing to expand it")
        self.stack[-1] = func(*args)

    def _build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) is _PendingArray:
            arr = _array_from_state(state)
            for k in inst.memo_keys:
                self.memo[k] = arr
            self.stack[-1] = arr
        elif isinstance(inst, np.dtype):
            _dtype_setstate(inst, state)
        else:
            raise _bad(f"BUILD (setstate) on a {type(inst).__name__} is not allowed")

    def find_class(self, module, name):
        return _resolve_global(module, name, self.path, self.offset)


    def _global(self, module, name):
        self.stack.append(self.find_class(module, name))


def _utf8_to_latin1(u8: np.ndarray, chunk: int = 16 << 20) -> np.ndarray:
    """Decode the UTF-8 text of a latin-1 string into its bytes, chunk by chunk."""
    parts, start, n = [], 0, u8.size
    while start < n:
        end = min(start + chunk, n)
        if end < n and u8[end - 1] >= 0xC0:   # do not split a two-byte sequence
            end -= 1
        parts.append(np.frombuffer(u8[start:end].tobytes().decode("utf-8").encode("latin-1"), np.uint8))
        start = end
    return np.concatenate(parts) if len(parts) != 1 else parts[0]


def _array_from_state(state) -> np.ndarray:
    if not isinstance(state, tuple) or len(state) not in (4, 5):
        raise _bad("array state is not NumPy's (version, shape, dtype, fortran, data) tuple")
    if len(state) == 5:
        if state[0] != 1:
            raise _bad(f"array state version {state[0]!r}")
        state = state[1:]
    shape, dtype, fortran, data = state
    _check_dtype(dtype)
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape):
        raise _bad(f"array shape {shape!r}")
    count = 1
    for d in shape:
        count *= d
    nbytes = count * dtype.itemsize
    if isinstance(data, str):
        data = data.encode("latin-1")
    if isinstance(data, (bytes, bytearray)):
        if len(data) != nbytes:
            raise CorruptFileError(f"array data has {len(data)} bytes, shape {list(shape)} of {dtype} needs {nbytes}")
        arr = np.frombuffer(data, dtype, count).copy()
    elif isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 1:
        if data.size != nbytes:
            raise CorruptFileError(f"array data has {data.size} bytes, shape {list(shape)} of {dtype} needs {nbytes}")
        arr = data.view(dtype) if count else np.empty(0, dtype)
    else:
        raise _bad(f"array data of type {type(data).__name__}")
    return arr.reshape(shape, order="F" if fortran else "C")


def _dtype_setstate(dt: np.dtype, state):
    # only the byte order may differ from the state NumPy itself writes for this dtype
    own = dt.__reduce__()[2]
    ok = isinstance(state, tuple) and len(state) == len(own) and state[0] == own[0] and \
        state[1] in ("<", ">", "|", "=") and state[2:] == own[2:]
    if not ok:
        raise _bad(f"numpy.dtype state {state!r:.120} (NumPy writes {own!r} for {dt})")
    dt.__setstate__(state)
    _check_dtype(dt)


# ---------------------------------------------------------------------- opcode table
def _op(code):
    def deco(fn):
        _OPS[code[0] if isinstance(code, bytes) else code] = fn
        return fn
    return deco


_OPS: dict = {}


def _refuse(what):
    def fn(vm):
        raise _bad(f"the pickle uses {what}")
    return fn


for _code, _what in ((pickle.PERSID, "persistent ids (PERSID)"), (pickle.BINPERSID, "persistent ids (BINPERSID)"),
                     (pickle.OBJ, "class instantiation (OBJ)"), (pickle.NEWOBJ, "class instantiation (NEWOBJ)"),
                     (pickle.NEWOBJ_EX, "class instantiation (NEWOBJ_EX)"), (pickle.EXT1, "the extension registry"),
                     (pickle.EXT2, "the extension registry"), (pickle.EXT4, "the extension registry"),
                     (pickle.NEXT_BUFFER, "out-of-band buffers (protocol 5)")):
    _OPS[_code[0]] = _refuse(_what)


@_op(pickle.INST)
def _inst(vm):
    module = vm.src.readline()[:-1].decode("ascii")
    name = vm.src.readline()[:-1].decode("ascii")
    _resolve_global(module, name, vm.path, vm.offset)
    raise _bad(f"class instantiation (INST {module}.{name})")


@_op(pickle.PROTO)
def _proto(vm):
    vm.proto = vm.src.read_byte()
    if vm.proto > 5:
        raise vm._corrupt(f"unsupported pickle protocol {vm.proto}")


@_op(pickle.FRAME)
def _frame(vm):
    vm._length("<Q", 8)   # frames only group opcodes; check the length against the file and read on


@_op(pickle.STOP)
def _stop(vm):
    return _STOP


@_op(pickle.MARK)
def _mark(vm):
    vm.metastack.append(vm.stack)
    vm.stack = []


@_op(pickle.POP)
def _pop(vm):
    if vm.stack:
        vm.stack.pop()
    else:
        vm._pop_mark()


@_op(pickle.POP_MARK)
def _pop_mark(vm):
    vm._pop_mark()


@_op(pickle.DUP)
def _dup(vm):
    vm.stack.append(vm.stack[-1])


_CONSTS = {pickle.NONE: None, pickle.NEWTRUE: True, pickle.NEWFALSE: False, pickle.EMPTY_TUPLE: ()}
for _code, _value in _CONSTS.items():
    _OPS[_code[0]] = (lambda v: lambda vm: vm.stack.append(v))(_value)
_OPS[pickle.EMPTY_LIST[0]] = lambda vm: vm.stack.append([])
_OPS[pickle.EMPTY_DICT[0]] = lambda vm: vm.stack.append({})
_OPS[pickle.EMPTY_SET[0]] = lambda vm: vm.stack.append(set())
_OPS[pickle.BININT[0]] = lambda vm: vm.stack.append(unpack_from("<i", vm.src.read(4))[0])
_OPS[pickle.BININT1[0]] = lambda vm: vm.stack.append(vm.src.read_byte())
_OPS[pickle.BININT2[0]] = lambda vm: vm.stack.append(unpack_from("<H", vm.src.read(2))[0])
_OPS[pickle.BINFLOAT[0]] = lambda vm: vm.stack.append(unpack_from(">d", vm.src.read(8))[0])
_OPS[pickle.LONG1[0]] = lambda vm: vm.stack.append(int.from_bytes(vm.src.read(vm.src.read_byte()), "little",
                                                                   signed=True))
_OPS[pickle.LONG4[0]] = lambda vm: vm.stack.append(int.from_bytes(vm.src.read(vm._length("<i", 4)), "little",
                                                                   signed=True))


@_op(pickle.INT)
def _int(vm):
    line = vm.src.readline()[:-1]
    vm.stack.append(False if line == b"00" else True if line == b"01" else int(line))


@_op(pickle.LONG)
def _long(vm):
    vm.stack.append(int(vm.src.readline()[:-1].rstrip(b"L")))


@_op(pickle.FLOAT)
def _float(vm):
    vm.stack.append(float(vm.src.readline()[:-1]))


def _py2_string(vm, data):
    vm.stack.append(data.decode("latin1"))   # Paddle loads with encoding='latin1'


_OPS[pickle.SHORT_BINSTRING[0]] = lambda vm: _py2_string(vm, vm.src.read(vm.src.read_byte()))
_OPS[pickle.BINSTRING[0]] = lambda vm: _py2_string(vm, vm.src.read(vm._length("<i", 4)))


@_op(pickle.STRING)
def _string(vm):
    data = vm.src.readline()[:-1]
    if len(data) < 2 or data[0] != data[-1] or data[:1] not in b"\"'":
        raise vm._corrupt("STRING opcode argument must be quoted")
    _py2_string(vm, codecs.escape_decode(data[1:-1])[0])


@_op(pickle.UNICODE)
def _unicode_text(vm):
    vm.stack.append(vm.src.readline()[:-1].decode("raw-unicode-escape"))


_OPS[pickle.SHORT_BINUNICODE[0]] = lambda vm: vm._unicode(vm.src.read_byte())
_OPS[pickle.BINUNICODE[0]] = lambda vm: vm._unicode(vm._length("<I", 4))
_OPS[pickle.BINUNICODE8[0]] = lambda vm: vm._unicode(vm._length("<Q", 8))
_OPS[pickle.SHORT_BINBYTES[0]] = lambda vm: vm._bytes(vm.src.read_byte())
_OPS[pickle.BINBYTES[0]] = lambda vm: vm._bytes(vm._length("<I", 4))
_OPS[pickle.BINBYTES8[0]] = lambda vm: vm._bytes(vm._length("<Q", 8))
_OPS[pickle.BYTEARRAY8[0]] = lambda vm: vm.stack.append(bytearray(vm.src.read(vm._length("<Q", 8))))
_OPS[pickle.READONLY_BUFFER[0]] = lambda vm: None


@_op(pickle.TUPLE)
def _tuple(vm):
    items = vm._pop_mark()   # (not vm.stack.append(...(vm._pop_mark())): pop first, then look up the stack)
    vm.stack.append(tuple(items))


def _tuple_n(n):
    def fn(vm):
        items = vm.stack[-n:]
        if len(items) != n:
            raise IndexError("stack underflow")
        del vm.stack[-n:]
        vm.stack.append(tuple(items))
    return fn


_OPS[pickle.TUPLE1[0]] = _tuple_n(1)
_OPS[pickle.TUPLE2[0]] = _tuple_n(2)
_OPS[pickle.TUPLE3[0]] = _tuple_n(3)


@_op(pickle.LIST)
def _list(vm):
    items = vm._pop_mark()
    vm.stack.append(items)


@_op(pickle.DICT)
def _dict(vm):
    items = vm._pop_mark()
    vm.stack.append({items[i]: items[i + 1] for i in range(0, len(items) - 1, 2)})


@_op(pickle.FROZENSET)
def _frozenset(vm):
    items = vm._pop_mark()
    vm.stack.append(frozenset(items))


def _container(vm, kinds):
    c = vm.stack[-1]
    if not isinstance(c, kinds):
        raise _bad(f"items added to a {type(c).__name__}")
    return c


@_op(pickle.APPEND)
def _append(vm):
    v = vm.stack.pop()
    _container(vm, list).append(v)


@_op(pickle.APPENDS)
def _appends(vm):
    items = vm._pop_mark()
    _container(vm, list).extend(items)


@_op(pickle.SETITEM)
def _setitem(vm):
    v = vm.stack.pop()
    k = vm.stack.pop()
    _container(vm, dict)[k] = v


@_op(pickle.SETITEMS)
def _setitems(vm):
    items = vm._pop_mark()
    pairs = iter(items)         # (an odd item at the end is ignored, as before)
    _container(vm, dict).update(zip(pairs, pairs))


@_op(pickle.ADDITEMS)
def _additems(vm):
    items = vm._pop_mark()
    _container(vm, set).update(items)


@_op(pickle.GLOBAL)
def _global_text(vm):
    module = vm.src.readline()[:-1].decode("utf-8")
    name = vm.src.readline()[:-1].decode("utf-8")
    vm._global(module, name)


@_op(pickle.STACK_GLOBAL)
def _stack_global(vm):
    name = vm.stack.pop()
    module = vm.stack.pop()
    if type(name) is not str or type(module) is not str:
        raise vm._corrupt("STACK_GLOBAL needs two strings")
    vm._global(module, name)


_OPS[pickle.REDUCE[0]] = SafeUnpickler._reduce
_OPS[pickle.BUILD[0]] = SafeUnpickler._build
_OPS[pickle.GET[0]] = lambda vm: vm._get(int(vm.src.readline()[:-1]))
_OPS[pickle.BINGET[0]] = lambda vm: vm._get(vm.src.read_byte())
_OPS[pickle.LONG_BINGET[0]] = lambda vm: vm._get(unpack_from("<I", vm.src.read(4))[0])
_OPS[pickle.PUT[0]] = lambda vm: vm._memo_put(int(vm.src.readline()[:-1]), vm.stack[-1])
_OPS[pickle.BINPUT[0]] = lambda vm: vm._memo_put(vm.src.read_byte(), vm.stack[-1])
_OPS[pickle.LONG_BINPUT[0]] = lambda vm: vm._memo_put(unpack_from("<I", vm.src.read(4))[0], vm.stack[-1])
_OPS[pickle.MEMOIZE[0]] = lambda vm: vm._memo_put(len(vm.memo), vm.stack[-1])


unpickle_fast.bind(reconstruct=safe_reconstruct, pending_cls=_PendingArray, array_from_state=_array_from_state,
                   blob_min=BLOB_MIN)


def _unknown(code):
    def fn(vm):
        raise CorruptFileError(f"not a valid pickle: unknown opcode 0x{code:02x}", vm.path, vm.offset - 1)
    return fn


_TABLE = [_OPS.get(c) or _unknown(c) for c in range(256)]   # indexed by opcode byte


# ---------------------------------------------------------------------- entry points
def loads(data, *, path=None):
    """Unpickle ``data`` (bytes-like) with the allow-list; arrays are fresh copies."""
    return SafeUnpickler(data, path=path).load()


def load_file(path, *, mmap: bool = False):
    """Unpickle the file at ``path`` with the allow-list.

    With ``mmap=True`` array data larger than 4 KiB is not read: the arrays are views of a
    copy-on-write memory map of the file (writable; writes never reach the file), paged in on access.
    """
    if mmap:
        mm = map_file(path)
        return SafeUnpickler(mm if mm is not None else b"", path=path, view=True).load()
    with open(path, "rb", buffering=0) as f:
        vm = SafeUnpickler(f, path=path)
        if vm.src.size >= SPLIT_MIN and getattr(vm.src, "fd", None) is not None:
            return _load_split(vm)
        return vm.load()


SPLIT_MIN = 4 << 20     # files from this size on are parsed and read by two threads


def _load_split(vm):
    """``vm.load()`` with the parse in a helper thread and the array data read in this one.

    Loading a state dict is Python work (the opcodes of each array, ~5 us each) plus the kernel's
    copy of the data (bound by memory bandwidth; it releases the GIL). Here they overlap: the helper
    runs the machine, whose file source hands over the arrays it allocates in batches
    (``byte_source.DeferredReads``), and this thread reads each batch as it comes. 10 MB of 200
    tensors, alternating fresh processes on the project's 2-core VM (40 each): 4.44 ms instead of
    5.11 ms, a raw read of the file 3.11 ms (``bench/save_load.py``: 1.29-1.40x the raw read).

    Why this way round: the thread that reads should be the one that needs the GIL least, and the
    one whose CPU has been handing out this process's memory. With the reads in a helper instead,
    (a) after each ``preadv`` the helper waited for the GIL, held by the parse, often until the
    5 ms switch interval forced a switch, and (b) its reads into fresh pages on the other CPU were
    erratic; loads of 4 ms took 8-20 ms in a third of the runs.

    The helper's result or exception (the machine's own: ``CorruptFileError``, ``UnsafeFileError``)
    is returned or raised here; a ``Truncated`` of the data reads is reported as the machine
    reports truncation. The helper ends before this returns (its last act is the end marker).
    """
    batches = queue.SimpleQueue()
    reads = vm.src.defer_arrays(batches.put)
    out = {}

    def parse():
        try:
            out["result"] = vm.load()
        except BaseException as e:      # handed to the caller's thread
            out["error"] = e
        finally:
            batches.put(None)

    try:
        _thread.start_new_thread(parse, ())
    except RuntimeError:                # no thread to be had (limits, interpreter shutdown): one thread
        vm.src.deferred = None
        return vm.load()
    failed = None                       # the first error of the reads here; the helper is still let finish
    while (jobs := batches.get()) is not None:
        if failed is None and "error" not in out:
            try:
                reads.read(jobs)
            except Exception as e:      # noqa: BLE001  (raised below, once the helper is done)
                failed = e
    if "error" in out:
        raise out["error"]
    if isinstance(failed, Truncated):
        raise CorruptFileError(f"truncated: {failed.have} of at least {failed.need} bytes (the file ends inside "
                               "the pickle data)", vm.path, failed.have)
    if failed is not None:
        raise failed
    return out["result"]


def load_stream(f, *, path=None):
    """Unpickle from a binary file object (BytesIO or an open file) from its current position.

    Afterwards the file position is just past the pickle, as with ``pickle.load``.
    """
    start = f.tell() if f.seekable() else None
    vm = SafeUnpickler(f, path=path or describe_file(f))
    obj = vm.load()
    if start is not None:
        f.seek(start + vm.src.pos)
    return obj
