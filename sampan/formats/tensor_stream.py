"""Paddle's binary tensor files: one DenseTensor stream, ``.pdiparams``, ``.pdiparams.info``.

* A DenseTensor stream (FORMATS.md section 3.1), all little-endian, no padding::

      u32 version=0 | u64 lod_levels | per level: u64 nbytes + u64 offsets | u32 version=0 |
      i32 desc_len | TensorDesc protobuf (data_type, dims) | raw data (C order)

  written by ``paddle.save(t, p, use_binary_format=True)`` and as each per-variable file.
* ``.pdiparams`` (section 3.2): streams concatenated, no header or names, in ``sorted()`` name
  order; the reader needs the names from the program.
* ``.pdiparams.info`` (section 4): a protocol-2 pickle ``{var name: {'structured_name': ...,
  'stop_gradient': bool, 'trainable': bool}}``.

Writes stream array memory into the file (no copies); reads go straight into the final arrays, or,
with ``mmap=True``, return views of a copy-on-write map of the file. bfloat16 data is uint16 bit
patterns with VarType code 22; an untyped ``uint16`` array is written as bfloat16 (as Paddle's
pickles treat uint16), pass ``dtype='uint16'`` for code 36.

:func:`sniff` names the format of a file from its first bytes (once, at the API boundary).

Example:
    >>> import io, numpy as np
    >>> buf = io.BytesIO()
    >>> write_dense_tensor(buf, np.array([1.0, 2.0], np.float32))
    >>> arr, dtype, lod = read_dense_tensor(buf.getvalue())
    >>> arr, dtype, lod
    (array([1., 2.], dtype=float32), paddle.float32, [])
"""
from __future__ import annotations

import os
import pickle
from struct import pack, unpack_from

import numpy as np

from ..core.dtype import BY_NAME, BY_NUMPY, BY_PROTO, DType, convert_dtype
from .byte_source import Truncated, map_file, open_source
from .errors import CorruptFileError, FormatMismatchError, describe_file

__all__ = ["write_dense_tensor", "read_dense_tensor", "read_tensor_file", "read_tensor", "write_pdiparams",
           "read_pdiparams", "scan_pdiparams", "write_pdiparams_info", "read_pdiparams_info",
           "encode_tensor_desc", "decode_tensor_desc", "dtype_code_of", "sniff"]

_MAX_LOD_LEVELS = 64
_MAX_DESC = 1 << 16


# ---------------------------------------------------------------------- TensorDesc protobuf
def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1   # negative int64 -> 10-byte two's complement varint, as protobuf
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_varint(b: bytes, i: int):
    shift = result = 0
    while True:
        if i >= len(b) or shift > 63:
            raise ValueError("bad varint in TensorDesc")
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            if result >= 1 << 63:
                result -= 1 << 64
            return result, i


def encode_tensor_desc(code: int, dims) -> bytes:
    """``VarType.TensorDesc``: field 1 data_type, field 2 dims (unpacked, as Paddle writes)."""
    return b"\x08" + _varint(code) + b"".join(b"\x10" + _varint(int(d)) for d in dims)


def decode_tensor_desc(b: bytes):
    """``(data_type code, dims)`` of a TensorDesc (packed or unpacked dims accepted)."""
    i, code, dims = 0, None, []
    while i < len(b):
        key, i = _read_varint(b, i)
        field, wire = key >> 3, key & 7
        if field == 1 and wire == 0:
            code, i = _read_varint(b, i)
        elif field == 2 and wire == 0:
            d, i = _read_varint(b, i)
            dims.append(d)
        elif field == 2 and wire == 2:
            n, i = _read_varint(b, i)
            end = i + n
            while i < end:
                d, i = _read_varint(b, i)
                dims.append(d)
        else:
            raise ValueError(f"unexpected field {field} (wire type {wire}) in TensorDesc")
    if code is None:
        raise ValueError("TensorDesc without data_type")
    return code, dims


def dtype_code_of(array: np.ndarray, dtype=None) -> DType:
    """The DType to record for ``array`` (explicit ``dtype`` wins; bare uint16 means bfloat16)."""
    if dtype is not None:
        return convert_dtype(dtype)
    if array.dtype == np.uint16:
        return BY_NAME["bfloat16"]
    if array.dtype not in BY_NUMPY:
        raise TypeError(f"tensor stream: NumPy dtype {array.dtype} has no Paddle VarType code.")
    return BY_NUMPY[array.dtype]


# ---------------------------------------------------------------------- one DenseTensor
def _unwrap(value):
    """(ndarray, DType | None) of a Tensor, an ndarray or anything array-like."""
    data = getattr(value, "_data", None)
    if isinstance(data, np.ndarray):
        return data, getattr(value, "dtype", None)
    return np.asarray(value), None


def dense_tensor_header(shape, dtype: DType, lod=()) -> bytes:
    parts = [pack("<IQ", 0, len(lod))]
    for level in lod:
        offs = np.asarray(level, dtype="<u8")
        parts.append(pack("<Q", offs.nbytes) + offs.tobytes())
    desc = encode_tensor_desc(dtype.proto, shape)
    parts.append(pack("<Ii", 0, len(desc)) + desc)
    return b"".join(parts)


def write_dense_tensor(f, value, dtype=None, lod=()) -> None:
    """Write one DenseTensor stream for ``value`` (Tensor or ndarray) to the binary file ``f``.

    Example:
        >>> import io, numpy as np
        >>> b = io.BytesIO(); write_dense_tensor(b, np.zeros(3, np.float32)); len(b.getvalue())
        36
    """
    arr, tdtype = _unwrap(value)
    dt = dtype_code_of(arr, dtype if dtype is not None else tdtype)
    if arr.dtype != dt.np:
        arr = arr.astype(dt.np)
    f.write(dense_tensor_header(arr.shape, dt, lod))
    if not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr)
    if arr.size:
        flat = arr.reshape(-1).view(np.uint8)
        step = 64 << 20
        for start in range(0, flat.size, step):
            f.write(memoryview(flat[start:start + step]))


def _read_one(src):
    """Decode the stream at the source position -> (ndarray, DType, lod)."""
    version, levels = unpack_from("<IQ", src.read(12))
    if version != 0:
        raise ValueError(f"DenseTensor version {version} (expected 0)")
    if levels > _MAX_LOD_LEVELS:
        raise ValueError(f"{levels} LoD levels")
    lod = []
    for _ in range(levels):
        (nbytes,) = unpack_from("<Q", src.read(8))
        if nbytes % 8:
            raise ValueError(f"LoD level of {nbytes} bytes (not a multiple of 8)")
        lod.append(np.frombuffer(src.read(nbytes), "<u8").tolist())
    tversion, dlen = unpack_from("<Ii", src.read(8))
    if tversion != 0 or not 0 < dlen <= _MAX_DESC:
        raise ValueError(f"tensor version {tversion}, TensorDesc length {dlen}")
    code, dims = decode_tensor_desc(src.read(dlen))
    if code not in BY_PROTO:
        raise ValueError(f"unsupported data type code {code}")
    if any(d < 0 for d in dims):
        raise ValueError(f"negative dimension in {dims}")
    dt = BY_PROTO[code]
    count = int(np.prod(dims, dtype=object)) if dims else 1
    raw = src.read_array(count * dt.np.itemsize)
    arr = raw.view(dt.np) if count else np.empty(0, dt.np)
    return arr.reshape(dims), dt, lod


def read_dense_tensor(source, *, path=None, mmap=False):
    """Read one DenseTensor stream from bytes, a file object or (with ``path``) a file.

    Returns:
        ``(ndarray, DType, lod)``; bfloat16 comes back as uint16 data with ``DType`` bfloat16.
    """
    if isinstance(source, (str, os.PathLike)):
        return read_tensor(source, mmap=mmap)
    src = open_source(source, view=mmap)
    return _decode(src, path or describe_file(source))[0]


def _decode(src, name, count=1):
    out = []
    start = src.pos
    try:
        for _ in range(count):
            start = src.pos
            out.append(_read_one(src))
    except Truncated as t:
        raise CorruptFileError(f"truncated: {t.have} of at least {t.need} bytes (tensor {len(out)} of the stream "
                               "is cut off)", name, start) from None
    except (ValueError, OverflowError) as e:
        raise CorruptFileError(f"not a valid DenseTensor stream: {e}", name, start) from None
    return out


def read_tensor(path, *, mmap=False):
    """``(ndarray, DType, lod)`` of a file holding exactly one DenseTensor stream."""
    src = _open_path(path, mmap)
    (res,) = _decode(src, path)
    _check_consumed(src, path, 1)
    return res if mmap else (_aligned(res[0]),) + tuple(res[1:])


def read_tensor_file(path, *, mmap=False) -> np.ndarray:
    """The array of a one-tensor file (``use_binary_format=True`` or a per-variable file)."""
    return read_tensor(path, mmap=mmap)[0]


def _open_path(path, mmap):
    if isinstance(path, (bytes, bytearray, memoryview)):
        return open_source(path)
    if mmap:
        mm = map_file(path)
        return open_source(mm if mm is not None else b"", view=True)
    with open(path, "rb") as f:   # small files and sequential reads: one buffered read is fastest
        size = os.fstat(f.fileno()).st_size
        src = open_source(f, size)
        data = src.read_array(size)
    return open_source(data, view=True)


def _check_consumed(src, path, n):
    left = src.remaining()
    if left:
        raise FormatMismatchError(
            f"{left} bytes follow the {n} tensor stream(s) expected: this looks like a combined .pdiparams file "
            "of several tensors. Load it with paddle.jit.load(prefix) or paddle.static.load_inference_model(prefix), "
            "or read it with sampan.formats.tensor_stream.read_pdiparams(path, names).", path, src.pos)


# ---------------------------------------------------------------------- .pdiparams
def _items(params):
    items = params.items() if isinstance(params, dict) else params
    return sorted(items, key=lambda kv: kv[0])


def write_pdiparams(f, params) -> None:
    """Write ``.pdiparams``: the streams of ``params`` (dict or ``(name, value)`` pairs) in sorted-name order.

    Example:
        >>> import io, numpy as np
        >>> b = io.BytesIO()
        >>> write_pdiparams(b, {"b": np.zeros(1, np.float32), "a": np.ones(2, np.float32)})
        >>> list(read_pdiparams(b.getvalue(), ["a", "b"]))
        ['a', 'b']
    """
    for _, value in _items(params):
        write_dense_tensor(f, value)


def read_pdiparams(source, names, *, mmap=False, with_dtypes=False) -> dict:
    """Read a ``.pdiparams`` (path or bytes) whose tensors are ``names`` in file order.

    Paddle writes and reads the persistable variables in ``sorted()`` order: pass
    ``sorted(names)``. Returns ``{name: ndarray}`` (``{name: (ndarray, DType)}`` with
    ``with_dtypes``). Too few or too many tensors in the file is an error naming both counts.
    """
    names = list(names)
    src = _open_path(source, mmap)
    label = describe_file(source) if not isinstance(source, (bytes, bytearray, memoryview)) else "<pdiparams bytes>"
    try:
        decoded = _decode(src, label, len(names))
    except CorruptFileError as e:
        found = len(scan_pdiparams(src.mv)) if hasattr(src, "mv") else "?"
        raise CorruptFileError(f"{e.reason}; the program names {len(names)} parameters, the file holds {found} "
                               "complete tensors", e.path, e.offset) from None
    if src.remaining():
        raise FormatMismatchError(f"the file holds more data than the {len(names)} parameters the program names "
                                  f"({src.remaining()} bytes left at the end)", label, src.pos)
    if not mmap:   # streams are unpadded: an unaligned view would make BLAS kernels ~2.5x slower
        decoded = [(_aligned(a), dt, lod) for a, dt, lod in decoded]
    return {n: ((a, dt) if with_dtypes else a) for n, (a, dt, _) in zip(names, decoded)}


def _aligned(a):
    return a if a.flags.aligned else a.copy()


def scan_pdiparams(buffer) -> list:
    """``[(offset, dtype name, dims)]`` of every complete stream in ``buffer`` (for diagnostics)."""
    src = open_source(memoryview(buffer), view=True)
    out = []
    while src.remaining():
        start = src.pos
        try:
            arr, dt, _ = _read_one(src)
        except (Truncated, ValueError, OverflowError):
            break
        out.append((start, dt.name, list(arr.shape)))
    return out


# ---------------------------------------------------------------------- .pdiparams.info
def write_pdiparams_info(f, info: dict) -> None:
    """Write ``.pdiparams.info`` exactly as Paddle: ``pickle.dump(info, f, protocol=2)``."""
    pickle.dump(info, f, protocol=2)


def read_pdiparams_info(path) -> dict:
    """Read ``.pdiparams.info`` with the safe unpickler."""
    from .safe_unpickle import load_file, loads
    if isinstance(path, (bytes, bytearray, memoryview)):
        return loads(path)
    return load_file(path)


# ---------------------------------------------------------------------- detection
def _looks_like_tensor_stream(head: bytes) -> bool:
    if len(head) < 22 or head[:4] != b"\0\0\0\0":
        return False
    src = open_source(head)
    try:
        src.read(4)
        (levels,) = unpack_from("<Q", src.read(8))
        if levels > _MAX_LOD_LEVELS:
            return False
        for _ in range(levels):
            (nbytes,) = unpack_from("<Q", src.read(8))
            if nbytes % 8 or nbytes > len(head):
                return False
            src.read(nbytes)
        tversion, dlen = unpack_from("<Ii", src.read(8))
        if tversion != 0 or not 0 < dlen <= _MAX_DESC:
            return False
        code, _ = decode_tensor_desc(src.read(min(dlen, src.remaining())))
        return code in BY_PROTO
    except (Truncated, ValueError):
        return False


def _looks_like_programdesc(head: bytes) -> bool:
    # ProgramDesc.blocks (field 1, LEN) whose BlockDesc starts with idx (field 1, varint)
    if len(head) < 4 or head[0] != 0x0A:
        return False
    try:
        _, i = _read_varint(head, 1)
    except ValueError:
        return False
    return i < len(head) and head[i] == 0x08


def sniff(source) -> str:
    """The kind of a file from its first bytes (one decision, no parsing attempts).

    Returns one of ``'pickle'``, ``'tensor_stream'``, ``'programdesc'``, ``'pir_json'``,
    ``'empty'``, ``'unknown'``. ``source`` is a path or bytes-like. Pickles are recognised by their
    PROTO opcode (protocols 2-5), or for protocols 0/1 by a first opcode that starts a container
    or names a global and a final STOP.

    Example:
        >>> sniff(b"\\x80\\x04\\x95") , sniff(b""), sniff(b'{"base_code": {"magic": "pir"}}')
        ('pickle', 'empty', 'pir_json')
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        head, tail = bytes(source[:4096]), bytes(source[-1:])
    else:
        with open(source, "rb") as f:
            head = f.read(4096)
            if head:
                f.seek(-1, os.SEEK_END)
            tail = f.read(1)
    if not head:
        return "empty"
    if head[0] == 0x80 and len(head) > 1 and 2 <= head[1] <= 5:
        return "pickle"
    if head[:1] in (b"(", b"]", b"}", b"c") and tail == b".":
        return "pickle"    # protocol 0/1 (never written by Paddle, read for completeness)
    if _looks_like_tensor_stream(head):
        return "tensor_stream"
    if head.lstrip()[:1] == b"{" and (b'"base_code"' in head or b'"program"' in head):
        return "pir_json"
    if _looks_like_programdesc(head):
        return "programdesc"
    return "unknown"
