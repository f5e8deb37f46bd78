"""Fast path of the safe pickle machine for NumPy's pickle of one ndarray (and a state dict's entries).

Every array of a Paddle pickle after the first of its dtype is the same ~25 opcodes (protocol 4
shown; protocols 2-3 write ``BINPUT n`` where protocol 4 writes ``MEMOIZE``)::

    BINGET <_reconstruct>  BINGET <ndarray>  BININT1 0  TUPLE1  MEMOIZE  BINGET <b'b'>  TUPLE3  MEMOIZE
    REDUCE  MEMOIZE  MARK  BININT1 1  <dims>  TUPLEn  MEMOIZE  BINGET <dtype>  NEWFALSE
    BINBYTES <n> <data>  MEMOIZE  TUPLE  MEMOIZE  BUILD

and in a state dict it follows its key, ``SHORT_BINUNICODE <key> MEMOIZE``. Through
:class:`~sampan.formats.safe_unpickle.SafeUnpickler`'s opcode table that is ~30 Python calls per
entry. Once the machine has executed ``BINGET`` of the allow-listed ``_reconstruct``,
:func:`read_array` matches the opcodes up to the data with one regular expression, reads the data
the way the machine's ``_bytes`` does (length checked against the file first), matches the closing
``MEMOIZE TUPLE MEMOIZE BUILD`` and makes the array with the machine's own checked
``array_from_state`` (all checks on the state, dtype, shape and data size happen there; its verdict
for one (shape, dtype object, order, size) is remembered for the rest of the file). The memo ends up
with the same entries, the stack with the array. It then goes on with the next entry while there is
one (``[FRAME] SHORT_BINUNICODE <key> MEMOIZE BINGET <_reconstruct>``).

Anything that is not this exact pattern (another opcode, a memo reference to something else or to
an entry the pattern itself creates, a memo store to another key than the next free one, bytes not
buffered yet) makes the fast path stop, leaving the machine exactly as the table would have left it
at that point (if the closing opcodes differ, after the data, with the array pending), and the
table runs the rest. So the fast path skips dispatch, never a check, and accepts exactly what the
table accepts.
"""
from __future__ import annotations

import re
from struct import unpack_from

import numpy as np

__all__ = ["bind", "read_array", "str_pairs"]

_HEAD_MAX = 256     # bytes buffered before matching (a longer head is left to the table)
_ZERO = (0,)
_UNSET = object()
_GET = rb"(?:h(.)|j(.{4}))"                 # BINGET / LONG_BINGET
_PUT = rb"(\x94|q.|r.{4})?"                  # MEMOIZE / BINPUT / LONG_BINPUT, optional
_DIM = rb"(?:K.|M.{2}|J.{4})"                # BININT1 / BININT2 / BININT
_HEAD = re.compile(
    _GET + rb"K\x00\x85" + _PUT +                                       # ndarray, (0,)
    _GET + rb"\x87" + _PUT + rb"R" + _PUT +                             # b'b', args, REDUCE
    rb"\(K\x01(\)|" + _DIM + rb"{1,3}[\x85-\x87]|\(" + _DIM + rb"*t)" + _PUT +   # MARK 1 shape
    _GET + rb"([\x88\x89])" +                                           # dtype, fortran
    rb"(?:C(.)|B(.{4})|\x8e(.{8}))", re.S)                             # data length
# the same head as protocol 4 writes it for 1-3 dims (MEMOIZE, BINGET, BINBYTES): 3x faster to match
_HEAD4 = re.compile(rb"h(.)K\x00\x85\x94h(.)\x87\x94R\x94\(K\x01(" + _DIM + rb"{1,3}[\x85-\x87])\x94" +
                    rb"h(.)([\x88\x89])B(.{4})", re.S)
_TAIL = re.compile(_PUT + rb"t" + _PUT + rb"b", re.S)
_PLAIN_TAIL = b"\x94t\x94b"                 # MEMOIZE TUPLE MEMOIZE BUILD (protocol 4)
_RECONSTRUCT = _PENDING_CLS = _ARRAY_FROM_STATE = None    # lent by the machine (``bind``)
_BLOB_MIN = 0


def bind(*, reconstruct, pending_cls, array_from_state, blob_min):
    """Called once by ``safe_unpickle``: its ``_reconstruct`` stand-in, pending-array class, checks,
    and the size from which array data is read into arrays rather than ``bytes``."""
    global _RECONSTRUCT, _PENDING_CLS, _ARRAY_FROM_STATE, _BLOB_MIN
    _RECONSTRUCT, _PENDING_CLS = reconstruct, pending_cls
    _ARRAY_FROM_STATE, _BLOB_MIN = array_from_state, blob_min


def read_array(vm) -> bool:
    """After ``BINGET <_reconstruct>``: the array's opcodes through BUILD, then the following entries.

    Returns False, having changed nothing, when the bytes ahead are not an array's pattern.
    """
    if not _one_array(vm):
        return False
    while _next_entry(vm):
        if not _one_array(vm):          # the table goes on from the array's first opcode
            vm.stack.append(_RECONSTRUCT)
            break
    return True


def _one_array(vm) -> bool:
    src, memo = vm.src, vm.memo
    buf, i = src.buf, src.i
    if len(buf) - i < _HEAD_MAX:
        src.lookahead(_HEAD_MAX)
        buf, i = src.buf, src.i
    m = _HEAD4.match(buf, i) or _HEAD.match(buf, i)
    if m is None:
        return False
    head = vm.heads.get(m.group()) or _new_head(vm, m)
    c, b, d, n, shape, fortran, plain = head.fields
    typecode, dtype = memo.get(b), memo.get(d)
    base = len(memo)
    # (a reference to an entry this very pattern stores finds nothing: its keys are not in use yet)
    if shape is None or memo.get(c) is not np.ndarray or \
            (dtype is not head.dtype and not isinstance(dtype, np.dtype)) or \
            (typecode is not head.typecode and (type(typecode) is not bytes or typecode != b"b")) or \
            (base in memo or base + 1 in memo or base + 2 in memo or base + 3 in memo if plain else
             not _fresh_keys(head.puts, base, memo)):
        return False
    src.i = i = m.end()
    if src.base + i + n > src.size:     # what the table's length check does (before any allocation)
        vm.check_length(n)
    data = src.read_array(n) if n >= _BLOB_MIN else src.read(n)    # what ``_bytes`` does
    buf, i = src.buf, src.i
    k = base + len(head.puts)
    if buf[i:i + 4] == _PLAIN_TAIL and k not in memo and k + 1 not in memo:
        src.i = i + 4
    elif not _tail(vm, k):
        _leave_to_table(vm, head, typecode, dtype, data)
        return True
    state = (1, shape, dtype, fortran, data)
    if dtype is head.dtype:             # BUILD, its checks already passed for this head and dtype
        arr = data.view(dtype) if n >= _BLOB_MIN else np.frombuffer(data, dtype).copy()
        if head.reshape:
            arr = arr.reshape(shape, order="F" if fortran else "C")
    else:
        arr = head.build(state)
    memo[base] = _ZERO                  # the memo as the table leaves it (BUILD put arr for REDUCE)
    memo[base + 1] = (np.ndarray, _ZERO, typecode)
    memo[base + 2] = arr
    if k == base + 4:
        memo[base + 3] = shape
    memo[k] = data
    memo[k + 1] = state
    vm.stack.append(arr)
    return True


def _tail(vm, k) -> bool:
    """``[put] TUPLE [put] BUILD`` with the stores to keys ``k, k+1`` not in use: consumed."""
    src = vm.src
    src.lookahead(16)
    t = _TAIL.match(src.buf, src.i)
    if t is None or not _fresh_keys(t.groups(), k, vm.memo):
        return False
    src.i = t.end()
    return True


def _new_head(vm, m):
    g = m.groups()
    if m.re is _HEAD4:                  # the same fields, as the general pattern names them
        c, b, shape_ops, d, fortran, n = g
        g = (c, None, b"\x94", b, None, b"\x94", b"\x94", shape_ops, b"\x94", d, None, fortran, None, n, None)
    head = vm.heads[m.group()] = _Head(g)
    return head


class _Head:
    """What one head's bytes say (memo keys referenced and stored, shape, order, data length), and
    the dtype object ``array_from_state`` accepted with them (so later arrays skip the checks)."""

    __slots__ = ("fields", "puts", "dtype", "typecode", "reshape")

    def __init__(self, g):
        c1, c4, p0, b1, b4, p1, p2, shape_ops, p3, d1, d4, fortran, n1, n4, n8 = g
        shape = _dims(shape_ops)        # None: not a shape the table would build (never taken)
        self.puts = (p0, p1, p2, p3) if p3 is not None or shape else (p0, p1, p2)
        n = n1[0] if n1 is not None else unpack_from("<I", n4)[0] if n4 is not None else unpack_from("<Q", n8)[0]
        # (ndarray key, b'b' key, dtype key, data length, shape, Fortran order, MEMOIZE x4)
        self.fields = (_key(c1, c4), _key(b1, b4), _key(d1, d4), n, shape, fortran == b"\x88",
                       self.puts == (b"\x94",) * 4)
        self.typecode = b"b"            # (b'b' is a singleton: the object checked once)
        self.dtype = _UNSET             # no dtype accepted yet (not None: a missing memo entry is None)
        self.reshape = fortran == b"\x88" or len(shape or ()) != 1

    def build(self, state) -> np.ndarray:
        """``array_from_state(state)`` (all checks). Once it accepted a dtype object with this head,
        ``_one_array`` repeats its steps without the checks; the object is kept here, so it stays
        the same object (and id) for the whole load."""
        arr = _ARRAY_FROM_STATE(state)
        if arr.size:
            self.dtype = state[2]
        return arr


def _leave_to_table(vm, head, typecode, dtype, data):
    """The machine's state after the data, when the opcodes that follow are not the usual tail."""
    shape, fortran = head.fields[4:6]
    pending = _PENDING_CLS()
    for obj in [_ZERO, (np.ndarray, _ZERO, typecode), pending, shape][:len(head.puts)]:
        vm._memo_put(len(vm.memo), obj)
    vm.stack.append(pending)
    vm.metastack.append(vm.stack)
    vm.stack = [1, shape, dtype, fortran, data]


def _next_entry(vm) -> bool:
    """``[FRAME] SHORT_BINUNICODE <key> MEMOIZE BINGET <_reconstruct>`` run directly, if next."""
    src, memo = vm.src, vm.memo
    if len(src.buf) - src.i < _HEAD_MAX:
        src.lookahead(_HEAD_MAX)
    buf, i = src.buf, src.i
    try:
        if buf[i] == 0x95:              # FRAME: only groups opcodes; its length must fit the file
            if src.base + i + 9 + unpack_from("<Q", buf, i + 1)[0] > src.size:
                return False
            i += 9
        end = i + 2 + buf[i + 1]
        if buf[i] != 0x8C or buf[end] != 0x94 or buf[end + 1] != 0x68 or \
                memo.get(buf[end + 2]) is not _RECONSTRUCT:
            return False
    except IndexError:
        return False
    src.i = end                         # (a decoding error is reported after the string, as the table does)
    key = str(buf[i + 2:end], "utf-8", "surrogatepass")
    src.i = end + 3
    vm.stack.append(key)
    memo[len(memo)] = key
    return True


def str_pairs(vm, key: str):
    """After ``BINGET`` fetched the str ``key``: ``SHORT_BINUNICODE <s> MEMOIZE`` and more
    ``BINGET <str> SHORT_BINUNICODE <s> MEMOIZE`` (a dict of names, as Paddle's name table) run
    directly, as far as they are buffered; the table goes on from the first other opcode."""
    src, memo, stack = vm.src, vm.memo, vm.stack
    buf, i, size = src.buf, src.i, len(src.buf)
    stack.append(key)
    while i + 1 < size and buf[i] == 0x8C:
        end = i + 2 + buf[i + 1]
        if end >= size or buf[end] != 0x94:
            break
        src.i = end                     # (a decoding error is reported after the string)
        value = str(buf[i + 2:end], "utf-8", "surrogatepass")
        stack.append(value)
        memo[len(memo)] = value
        i = end + 1
        if i + 1 < size and buf[i] == 0x68:
            key, j = memo.get(buf[i + 1]), i + 2
        elif i + 4 < size and buf[i] == 0x6A:
            key, j = memo.get(unpack_from("<I", buf, i + 1)[0]), i + 5
        else:
            break
        if type(key) is not str:        # (also a key not in the memo: the table reports it)
            break
        stack.append(key)
        i = j
    src.i = i


def _key(one, four) -> int:
    return one[0] if one is not None else unpack_from("<I", four)[0]


def _fresh_keys(ops, k: int, memo) -> bool:
    """Whether the memo stores ``ops`` (all present) go to ``k, k+1, ...``, keys not in use (what
    picklers write: the table would store to the same keys, overwriting nothing)."""
    for op in ops:
        if op is None or k in memo or not (op == b"\x94" or (op[0] == 0x71 and op[1] == k) or
                                           (op[0] == 0x72 and unpack_from("<I", op, 1)[0] == k)):
            return False
        k += 1
    return True


def _dims(ops: bytes):
    """The shape tuple of ``EMPTY_TUPLE``, ``ints TUPLEn`` (exactly n ints) or ``MARK ints TUPLE``."""
    if ops[0] == 0x29:
        return ()
    if len(ops) == 3 and ops[0] == 0x4B and ops[2] == 0x85:      # the common 1-D case, one BININT1
        return (ops[1],)
    mark = ops[0] == 0x28
    body = ops[1:-1] if mark else ops[:-1]
    dims, j = [], 0
    while j < len(body):
        op = body[j]
        if op == 0x4B:
            dims.append(body[j + 1])
            j += 2
        elif op == 0x4D:
            dims.append(unpack_from("<H", body, j + 1)[0])
            j += 3
        else:
            dims.append(unpack_from("<i", body, j + 1)[0])
            j += 5
    if not mark and len(dims) != ops[-1] - 0x84:
        return None
    return tuple(dims)
