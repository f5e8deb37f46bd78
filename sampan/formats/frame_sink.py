"""Output side of the streaming pickler: the bytes of ``pickle._Framer`` with few copies and syscalls.

``pickle._Framer`` (protocol 4) copies every write into an ``io.BytesIO`` frame of about 64 KiB,
prefixes it with a FRAME opcode and hands it to ``file.write``. :class:`PieceFramer` emits the same
bytes, FRAME opcodes at the same places, but keeps a frame as a list of pieces: small writes
(opcodes) are appended to a ``bytearray``, larger ones (array data) are kept as the caller's buffer,
uncopied. Committed frames and unframed writes go to a :class:`Sink`, which collects pieces up to a
few MiB and then writes them: with one ``os.writev`` per batch straight from the arrays' memory when
the target is a raw ``io.FileIO`` (the temporary file of ``sampan.save``), else with ``file.write``
per piece (a ``BytesIO``, a buffered file, any object with ``write``).

Example:
    >>> import io
    >>> buf = io.BytesIO()
    >>> sink = Sink(buf)
    >>> framer = PieceFramer(sink)
    >>> framer.start_framing()
    >>> _ = framer.write(b"abcd")
    >>> framer.end_framing(); sink.flush()
    >>> buf.getvalue()
    b'\\x95\\x04\\x00\\x00\\x00\\x00\\x00\\x00\\x00abcd'
"""
from __future__ import annotations

import io
import os
import pickle
from struct import pack

__all__ = ["Sink", "PieceFramer"]

_SMALL = 4096           # pieces below this size are copied into a bytearray, larger ones kept as given
_FLUSH_BYTES = 8 << 20  # a sink writes its pending pieces once they hold this many bytes...
_FLUSH_PARTS = 512      # ...or this many separate buffers (os.writev takes at most IOV_MAX = 1024)
_FRAME_MIN = pickle._Framer._FRAME_SIZE_MIN
_FRAME_TARGET = pickle._Framer._FRAME_SIZE_TARGET


class _Pieces:
    """Bytes kept as a list of buffers; consecutive small writes share one ``bytearray``."""

    __slots__ = ("parts", "tail", "size")

    def __init__(self):
        self.parts = []
        self.tail = bytearray()
        self.size = 0

    def write(self, data) -> int:
        n = data.nbytes if type(data) is memoryview else len(data)
        if n < _SMALL:
            self.tail += data
        else:
            if self.tail:
                self.parts.append(self.tail)
                self.tail = bytearray()
            self.parts.append(data)
        self.size += n
        return n

    def take(self) -> list:
        """The pieces in order (the object is left empty)."""
        parts = self.parts
        if self.tail:
            parts.append(self.tail)
        self.parts, self.tail, self.size = [], bytearray(), 0
        return parts


class Sink(_Pieces):
    """Collects output pieces and writes them in batches (``flush`` writes what is left).

    Buffers handed to ``write`` must stay unchanged until the next ``flush``: they are written from
    where they are, not copied (the pickler hands over array memory and immutable ``bytes``).
    """

    __slots__ = ("file", "fd")

    def __init__(self, file):
        super().__init__()
        self.file = file
        self.fd = file.fileno() if type(file) is io.FileIO and hasattr(os, "writev") else None

    def write(self, data) -> int:
        n = super().write(data)
        if self.size >= _FLUSH_BYTES or len(self.parts) >= _FLUSH_PARTS:
            self.flush()
        return n

    def extend(self, parts, size: int):
        """Append pieces produced elsewhere (a committed frame)."""
        if self.tail:
            self.parts.append(self.tail)
            self.tail = bytearray()
        self.parts += parts
        self.size += size
        if self.size >= _FLUSH_BYTES or len(self.parts) >= _FLUSH_PARTS:
            self.flush()

    def flush(self):
        parts = self.take()
        if self.fd is not None:
            _writev_all(self.fd, parts)
        else:
            write = self.file.write
            for p in parts:
                write(p)


def _writev_all(fd: int, parts: list):
    """``os.writev`` until every byte is written (a call may write less than asked)."""
    views = [memoryview(p).cast("B") for p in parts]
    start = 0
    while start < len(views):
        done = os.writev(fd, views[start:start + _FLUSH_PARTS])
        while start < len(views) and done >= views[start].nbytes:
            done -= views[start].nbytes
            start += 1
        if done:
            views[start] = views[start][done:]


class PieceFramer:
    """Drop-in for ``pickle._Framer`` writing through a :class:`Sink`; same bytes, same FRAME places."""

    _FRAME_SIZE_MIN = _FRAME_MIN
    _FRAME_SIZE_TARGET = _FRAME_TARGET

    def __init__(self, sink: Sink):
        self.sink = sink
        self.file_write = sink.write
        self.current_frame = None

    def start_framing(self):
        self.current_frame = _Pieces()

    def end_framing(self):
        if self.current_frame is not None and self.current_frame.size > 0:
            self.commit_frame(force=True)
            self.current_frame = None

    def commit_frame(self, force: bool = False):
        f = self.current_frame
        if f is not None and (f.size >= _FRAME_TARGET or force):
            size = f.size
            if size >= _FRAME_MIN:
                self.sink.write(pickle.FRAME + pack("<Q", size))
            self.sink.extend(f.take(), size)

    def write(self, data):
        if self.current_frame is not None:
            return self.current_frame.write(data)
        return self.sink.write(data)

    def write_large_bytes(self, header, payload):
        if self.current_frame is not None:
            self.commit_frame(force=True)
        self.sink.write(header)
        self.sink.write(payload)
