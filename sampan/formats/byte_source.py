"""Sequential readers shared by the pickle and tensor-stream decoders.

A source knows its total size, so every length read from a file is checked against what is left
*before* anything is allocated (a corrupt header claiming 2**60 bytes fails with "truncated", not
``MemoryError``). Big reads go straight into NumPy buffers: from a file with ``readinto`` (one copy,
like a raw read), from a memory map as views (``view=True``, no copy at all).

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

__all__ = ["Truncated", "BufferSource", "FileSource", "open_source", "map_file"]


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
        self.view = view

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

    def read_array(self, n) -> np.ndarray:
        """``n`` bytes as a uint8 array: a view of the buffer when ``view``, else a fresh copy."""
        p = self._take(n)
        a = np.frombuffer(self.mv, np.uint8, n, p)
        return a if self.view else a.copy()


class FileSource:
    """Buffered sequential reader of a file whose size is known; big reads go straight into arrays."""

    _CHUNK = 1 << 14     # small: payloads larger than this are read straight into their arrays

    def __init__(self, f, size: int):
        self.f = f
        self.size = size
        self.buf = b""
        self.i = 0
        self.base = 0

    @property
    def pos(self) -> int:
        return self.base + self.i

    def remaining(self) -> int:
        return self.size - self.pos

    def _ensure(self, n):
        if len(self.buf) - self.i >= n:
            return
        if self.pos + n > self.size:
            raise Truncated(self.size, self.pos + n)
        parts = [self.buf[self.i:]] if self.i < len(self.buf) else []
        have = len(parts[0]) if parts else 0
        while have < n:
            c = self.f.read(max(self._CHUNK, n - have))
            if not c:  # the file shrank since its size was taken
                raise Truncated(self.pos + have, self.pos + n)
            parts.append(c)
            have += len(c)
        self.base += self.i
        self.buf = parts[0] if len(parts) == 1 else b"".join(parts)
        self.i = 0

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

    def read_array(self, n) -> np.ndarray:
        """``n`` bytes read into a fresh uint8 array (``readinto``: no intermediate ``bytes``)."""
        if self.pos + n > self.size:
            raise Truncated(self.size, self.pos + n)
        out = np.empty(n, np.uint8)
        k = min(n, len(self.buf) - self.i)
        out[:k] = np.frombuffer(self.buf, np.uint8, k, self.i)
        if k == n:                      # all in the read-ahead buffer: keep the rest of it
            self.i += n
            return out
        self.base += self.i + k
        self.buf, self.i = b"", 0
        mv = memoryview(out)
        while k < n:
            got = self.f.readinto(mv[k:])
            if not got:
                raise Truncated(self.base, self.base + n - k)
            k += got
            self.base += got
        return out


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
