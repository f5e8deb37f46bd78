"""Sequential readers shared by the pickle and tensor-stream decoders.

A source knows its total size, so every length read from a file is checked against what is left
*before* anything is allocated (a corrupt header claiming 2**60 bytes fails with "truncated", not
``MemoryError``). Array data goes straight into NumPy buffers: from a file with ``readinto`` (one copy,
like a raw read), from a memory map as views (``view=True``, no copy at all).

Small arrays (under 1 MiB) are not allocated one by one: they are aligned slots of an
:class:`Arena`, one NumPy buffer of up to 16 MiB per run of small arrays. A state dict of many small
tensors then costs one allocation (NumPy asks the kernel for huge pages from 4 MiB on) instead of
hundreds of heap allocations with their page faults (200 arrays of 50 KB, fresh process, project
machine: ~1.6 ms instead of ~5 ms). The arrays are writable views of the arena, aligned to 64 bytes
(unaligned arrays slow BLAS down ~2.5x), and keep it alive: the arena's memory is returned once all
of its arrays are gone (at most 16 MiB held by one survivor).

A file's array data can be left to another thread (``FileSource.defer_arrays``,
:class:`DeferredReads`): the pickle is then parsed while the data of the arrays already seen is read.

Example:
    >>> src = open_source(b"abcdef")
    >>> src.read(2), src.read_byte(), src.pos
    (b'ab', 99, 3)
"""
from __future__ import annotations

import io
import mmap as _mmap
import os

import numpy as np

__all__ = ["Truncated", "Arena", "BufferSource", "FileSource", "DeferredReads", "open_source", "map_file"]

ALIGN = 64                  # byte alignment of the arrays an arena hands out
ARENA_PIECE_MAX = 1 << 20   # arrays from this size on get their own buffer (and their own lifetime)
ARENA_SIZE = 16 << 20       # the largest arena


class Arena:
    """Aligned uint8 slots carved from shared NumPy buffers (see the module docstring).

    The arena holds nothing but its current buffer (in particular not the source that owns it: a
    reference cycle would keep the loaded arrays' memory until the garbage collector's next run).
    """

    __slots__ = ("buf", "pos")

    def __init__(self):
        self.buf = None
        self.pos = 0

    def alloc(self, n: int, left: int) -> np.ndarray:
        """``n`` uninitialised bytes: an arena slot when small, else a buffer of their own.

        ``left`` bounds the bytes still to come (the unread part of the file), so a new arena is never
        much larger than what it can be filled with.
        """
        if n >= ARENA_PIECE_MAX:
            return np.empty(n, np.uint8)
        start = (self.pos + ALIGN - 1) & -ALIGN
        if self.buf is None or start + n > self.buf.size:
            size = max(n, min(left, ARENA_SIZE)) + ALIGN
            buf = np.empty(size, np.uint8)
            skip = -buf.ctypes.data % ALIGN
            self.buf, start = buf[skip:], 0
        self.pos = start + n
        return self.buf[start:start + n]


class Truncated(Exception):
    """Raised by sources: the data ends at ``have`` bytes but ``need`` are required."""

    def __init__(self, have: int, need: int):
        super().__init__(f"truncated: {have} of at least {need} bytes")
        self.have, self.need = have, need


class BufferSource:
    """Reads from bytes, a BytesIO buffer or a memory map; ``view=True`` hands out views for arrays.

    Both sources expose ``buf`` and ``i`` (next byte ``buf[i]`` while ``i < len(buf)``) so a decoder
    loop may read opcode bytes inline; ``read_byte`` does the same with refills and checks.
    """

    def __init__(self, buffer, view: bool = False):
        self.buf = self.mv = memoryview(buffer).cast("B")
        self.size = len(self.mv)
        self.i = 0
        self.base = 0
        self.view = view
        self.arena = None if view else Arena()

    @property
    def pos(self) -> int:
        return self.i

    def _take(self, n):
        p = self.i
        if p + n > self.size:
            raise Truncated(self.size, p + n)
        self.i = p + n
        return p

    def remaining(self) -> int:
        return self.size - self.i

    def read(self, n) -> bytes:
        p = self._take(n)
        return self.mv[p:p + n].tobytes()

    def read_byte(self) -> int:
        p = self.i
        if p >= self.size:
            raise Truncated(self.size, p + 1)
        self.i = p + 1
        return self.mv[p]

    def readline(self) -> bytes:
        end = bytes(self.mv[self.i:self.i + 65536]).find(b"\n")
        if end < 0:
            raise Truncated(self.size, self.size + 1)
        return self.read(end + 1)

    def lookahead(self, n):
        """Nothing to do: the whole buffer is available (see ``FileSource.lookahead``)."""

    def finish(self):
        """Nothing to do: every array is complete when ``read_array`` returns (see ``FileSource.finish``)."""

    def read_array(self, n, now: bool = True) -> np.ndarray:
        """``n`` bytes as a uint8 array: a view of the buffer when ``view``, else a copy (arena slot)."""
        if self.view:
            return np.frombuffer(self.mv, np.uint8, n, self._take(n))
        if self.i + n > self.size:
            raise Truncated(self.size, self.i + n)
        out = self.arena.alloc(n, self.size - self.i)
        p = self._take(n)
        out[:] = self.mv[p:p + n]
        return out


class FileSource:
    """Buffered sequential reader of a file whose size is known; array data goes straight into arrays.

    The read-ahead adapts: it starts small after every array (the opcodes between two arrays of a
    state dict are ~100 bytes, and data read ahead is data copied twice) and doubles up to 64 KiB
    while only opcodes are read (a name table, a list of numbers). A plain ``FileIO`` is read with
    ``pread``/``preadv`` at explicit offsets (from where the file was positioned), the rest of an
    array and the read-ahead after it in one call; after :meth:`defer_arrays` the array data is read
    by another thread (:class:`DeferredReads`), and only the read-ahead here.
    """

    _AHEAD_MIN = 512
    _AHEAD_MAX = 1 << 16

    def __init__(self, f, size: int):
        self.f = f
        self.size = size
        self.buf = b""
        self.i = 0
        self.base = 0
        self.ahead = self._AHEAD_MIN
        self.arena = Arena()
        self.fd = f.fileno() if type(f) is io.FileIO and hasattr(os, "preadv") else None
        self.origin = f.tell() if self.fd is not None else 0
        self.deferred = None

    def defer_arrays(self, sink) -> DeferredReads:
        """From now on the data of an array is not read by ``read_array`` but handed to ``sink`` in
        batches (:class:`DeferredReads`), for another thread to read; :meth:`finish` hands over the
        last batch. Needs a descriptor (``pread``)."""
        self.deferred = DeferredReads(self.fd, self.origin, sink)
        return self.deferred

    def finish(self):
        """Hand over the last batch of deferred array reads (nothing to do without deferral)."""
        if self.deferred is not None:
            self.deferred.flush()

    @property
    def pos(self) -> int:
        return self.base + self.i

    def remaining(self) -> int:
        return self.size - self.pos

    def _read_at(self, n: int, pos: int) -> bytes:
        """Up to ``n`` bytes at ``pos`` (fewer only at the end of the file)."""
        if self.fd is not None:
            return os.pread(self.fd, n, self.origin + pos)
        return self.f.read(n)           # sequential: the file is at ``pos``

    def _ensure(self, n):
        if len(self.buf) - self.i >= n:
            return
        if self.pos + n > self.size:
            raise Truncated(self.size, self.pos + n)
        parts = [self.buf[self.i:]] if self.i < len(self.buf) else []
        have = len(parts[0]) if parts else 0
        self.base += self.i
        while have < n:
            c = self._read_at(max(self.ahead, n - have), self.base + have)
            if not c:  # the file shrank since its size was taken
                raise Truncated(self.base + have, self.base + n)
            parts.append(c)
            have += len(c)
        self.buf = parts[0] if len(parts) == 1 else b"".join(parts)
        self.i = 0
        self.ahead = min(2 * self.ahead, self._AHEAD_MAX)

    def read(self, n) -> bytes:
        self._ensure(n)
        i = self.i
        self.i = i + n
        return self.buf[i:i + n]

    def read_byte(self) -> int:
        i = self.i
        if i >= len(self.buf):
            self._ensure(1)
            i = 0
        self.i = i + 1
        return self.buf[i]

    def readline(self) -> bytes:
        while True:
            end = self.buf.find(b"\n", self.i)
            if end >= 0:
                return self.read(end + 1 - self.i)
            if self.pos + len(self.buf) - self.i >= self.size:
                raise Truncated(self.size, self.size + 1)
            self._ensure(len(self.buf) - self.i + 1)

    def lookahead(self, n):
        """Make the next ``n`` bytes (fewer at the end of the file) available in ``buf`` from ``i``."""
        if len(self.buf) - self.i < n:
            self._ensure(min(n, self.remaining()))

    def read_array(self, n, now: bool = False) -> np.ndarray:
        """``n`` bytes into a new uint8 array or arena slot (``readinto``: no intermediate ``bytes``).

        With a descriptor, the array and the next read-ahead (the opcodes after an array) come in one
        ``preadv`` call (the few bytes of the array already read ahead are simply read again). After
        :meth:`defer_arrays` (and unless ``now``: data the parse itself needs) the array is only
        allocated and handed to :class:`DeferredReads`, and the read-ahead after it is read here.
        """
        buf, i, start = self.buf, self.i, self.base + self.i
        if start + n > self.size:
            raise Truncated(self.size, start + n)
        out = self.arena.alloc(n, self.size - start)
        if len(buf) - i >= n:           # all in the read-ahead buffer: keep the rest of it
            memoryview(out)[:] = buf[i:i + n]
            self.i = i + n
            return out
        self.buf, self.i, self.ahead, self.base = b"", 0, self._AHEAD_MIN, start + n
        if self.deferred is not None and not now:
            self.deferred.add(out, start)
            self.buf = os.pread(self.fd, min(self._AHEAD_MIN, self.size - start - n), self.origin + start + n)
            return out
        if self.fd is None:             # sequential: the file is at the end of the read-ahead
            k = len(buf) - i
            memoryview(out)[:k] = buf[i:]
            self._fill(memoryview(out), k, start)
            return out
        ahead = bytearray(min(self._AHEAD_MIN, self.size - start - n))
        got = os.preadv(self.fd, [out, ahead] if ahead else [out], self.origin + start)
        if got < n:
            self._fill(memoryview(out), got, start)
        elif got > n:
            self.buf = bytes(ahead) if got - n == len(ahead) else bytes(ahead[:got - n])
        return out

    def _fill(self, mv, k, start):
        """``mv[k:]``, the rest of the array starting at ``start``, read from the file."""
        n = len(mv)
        while k < n:
            if self.fd is not None:
                got = os.preadv(self.fd, [mv[k:]], self.origin + start + k)
            else:
                got = self.f.readinto(mv[k:])
            if not got:                 # the file shrank since its size was taken
                raise Truncated(start + k, start + n)
            k += got


class DeferredReads:
    """Array data left for another thread to read: the parse hands over ``(array, offset)`` batches.

    Used by ``safe_unpickle.load_file`` for large files (see ``_load_split`` there): the pickle is
    parsed in a helper thread whose :meth:`FileSource.read_array` only allocates each array and
    reads the opcodes after it, while the calling thread reads the data of the batches handed over
    so far. Batches grow from 256 KiB (so the reads start early) to 4 MiB (few handoffs: each one
    wakes the reading thread). :meth:`read` reads a batch with as few ``preadv`` calls as it can
    (up to 1,024 iovecs each; the opcodes between two arrays land in a scratch buffer).

    Args:
        fd: descriptor read with ``preadv`` (positional: the parser's own reads do not interfere).
        origin: file offset of position 0 (offsets handed to :meth:`add` are relative to it).
        sink: called with each batch, a list of ``(array, offset)``; ``queue.put``.
    """

    FIRST_BATCH = 256 << 10
    BATCH_MAX = 4 << 20
    IOV_MAX = 1024          # iovecs per preadv call (Linux's limit)
    GAP_MAX = 1 << 16       # bytes between two arrays read in the same call (more: another call)

    def __init__(self, fd: int, origin: int, sink):
        self.fd, self.origin, self.sink = fd, origin, sink
        self.jobs, self.nbytes, self.batch = [], 0, self.FIRST_BATCH

    def add(self, out: np.ndarray, offset: int):
        """``len(out)`` bytes at ``offset`` go into ``out`` (read by whoever receives the batch)."""
        self.jobs.append((out, offset))
        self.nbytes += out.nbytes
        if self.nbytes >= self.batch:
            self.flush()
            self.batch = min(2 * self.batch, self.BATCH_MAX)

    def flush(self):
        """Hand over the arrays added since the last batch."""
        if self.jobs:
            self.sink(self.jobs)
            self.jobs, self.nbytes = [], 0

    def read(self, jobs):
        """Read a batch; raises ``Truncated`` where the file ends before an array's data does."""
        fd, origin, k = self.fd, self.origin, 0
        while k < len(jobs):
            first = k
            out, start = jobs[k]
            iov, end, k = [out], start + out.nbytes, k + 1
            while k < len(jobs) and len(iov) < self.IOV_MAX - 1:
                nxt, off = jobs[k]
                gap = off - end
                if gap < 0 or gap > self.GAP_MAX:
                    break
                if gap:
                    iov.append(bytearray(gap))
                iov.append(nxt)
                end, k = off + nxt.nbytes, k + 1
            got = os.preadv(fd, iov, origin + start)
            if got < end - start:           # short (the file shrank, or over 2 GiB in one call)
                for out, off in jobs[first:k]:
                    done = min(max(start + got - off, 0), out.nbytes)
                    if done < out.nbytes:
                        self._fill(out, off, done)

    def _fill(self, out, off, k):
        """``out[k:]`` from the file."""
        mv, n = memoryview(out), out.nbytes
        while k < n:
            got = os.preadv(self.fd, [mv[k:]], self.origin + off + k)
            if not got:
                raise Truncated(off + k, off + n)
            k += got


def open_source(source, size: int | None = None, view: bool = False):
    """A source over bytes-like objects, mmaps, BytesIO (from its position) or binary files."""
    if isinstance(source, (bytes, bytearray, memoryview, _mmap.mmap, np.ndarray)):
        return BufferSource(source, view)
    if isinstance(source, io.BytesIO):
        return BufferSource(source.getbuffer()[source.tell():], False)
    if size is None:
        try:
            size = os.fstat(source.fileno()).st_size - source.tell()
        except (AttributeError, OSError, io.UnsupportedOperation):
            return BufferSource(source.read(), False)   # a stream of unknown size
    return FileSource(source, size)


def map_file(path):
    """A copy-on-write memory map of the whole file (writable; writes never reach the file).

    Returns ``None`` for an empty file (which cannot be mapped).
    """
    with open(path, "rb", buffering=0) as f:
        if os.fstat(f.fileno()).st_size == 0:
            return None
        return _mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_COPY)
