"""The one way sampan writes a file: atomically, so a crash never leaves a partial file behind.

``atomic_open(path)`` yields a binary file object writing to a temporary file in the target's
directory (``.<name>.sampan-tmp-<pid>-<token>``). When the block ends without an exception the
data is flushed and fsynced, the temporary file is renamed over the target (``os.replace``, atomic
on POSIX and Windows) and the directory is fsynced so the rename itself is durable. On an
exception the temporary file is removed and the previous target is untouched. A process killed
mid-write (SIGKILL, power loss) leaves only its temporary file, which the next save to the same
target deletes once its writer process is gone.

File-like targets (``io.BytesIO``, an open file) are written directly: there is nothing to rename.

Example:
    >>> import os, tempfile
    >>> from sampan.formats.atomic import atomic_open
    >>> path = os.path.join(tempfile.mkdtemp(), "sub", "x.bin")
    >>> with atomic_open(path) as f:
    ...     _ = f.write(b"hello")
    >>> open(path, "rb").read()
    b'hello'
"""
from __future__ import annotations

import contextlib
import os
import secrets

__all__ = ["atomic_open", "atomic_write_bytes", "is_file_like", "stale_temp_files", "clean_stale_temp_files",
           "fsync_dir", "TEMP_MARK"]

TEMP_MARK = ".sampan-tmp-"
_BUFFER = 1 << 20


def is_file_like(target) -> bool:
    """True for objects with a ``write`` method (BytesIO, open files), False for paths."""
    return hasattr(target, "write") and not isinstance(target, (str, bytes))


def _temp_prefix(target: str, mark: str = TEMP_MARK) -> str:
    d, base = os.path.split(target)
    return os.path.join(d, "." + base + mark)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def stale_temp_files(target, mark: str = TEMP_MARK) -> list[str]:
    """Temporary files of ``target`` (``.<name><mark><pid>-...``) left by writers that no longer run
    (killed mid-save). ``mark`` lets another writer (``hapi.checkpoint``) name its own files."""
    target = os.path.realpath(os.fspath(target))
    prefix = _temp_prefix(target, mark)
    d, stem = os.path.split(prefix)
    try:
        names = os.listdir(d or ".")
    except OSError:
        return []
    out = []
    for n in names:
        if not n.startswith(stem):
            continue
        pid = n[len(stem):].split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            out.append(os.path.join(d, n))
    return out


def clean_stale_temp_files(target, mark: str = TEMP_MARK) -> int:
    """Delete the stale temporary files of ``target``; returns how many were removed."""
    n = 0
    for p in stale_temp_files(target, mark):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)
            n += 1
    return n


def fsync_dir(d: str):
    """Make the renames and removals in directory ``d`` durable (a no-op where directories cannot be
    opened, as on Windows)."""
    try:
        fd = os.open(d or ".", os.O_RDONLY)
    except OSError:  # platforms without directory handles (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _prepare_target(path) -> str:
    path = os.fspath(path)
    if not path or not os.path.basename(path):
        raise ValueError(f"the path must name a file (dirname/filename). Received: {path!r}.")
    real = os.path.realpath(path)  # write through symlinks: the link keeps pointing at the new file
    if os.path.isdir(real):
        raise IsADirectoryError(f"cannot write {path!r}: it is a directory.")
    d = os.path.dirname(real)
    if d:
        os.makedirs(d, exist_ok=True)
    return real


@contextlib.contextmanager
def atomic_open(target, *, fsync: bool = True, buffering: int = _BUFFER):
    """Context manager yielding a binary file that replaces ``target`` atomically on success.

    Args:
        target: a path (missing parent directories are created) or a file-like object.
        fsync: fsync the data and the directory before returning (keep True for checkpoints).
        buffering: buffer size of the yielded file object.

    Example:
        >>> import io
        >>> buf = io.BytesIO()
        >>> with atomic_open(buf) as f:
        ...     _ = f.write(b"abc")
        >>> buf.getvalue()
        b'abc'
    """
    if is_file_like(target):
        yield target
        return
    real = _prepare_target(target)
    clean_stale_temp_files(real)
    tmp = f"{_temp_prefix(real)}{os.getpid()}-{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    f = None
    try:
        f = os.fdopen(fd, "wb", buffering=buffering)
        with contextlib.suppress(OSError):
            os.chmod(tmp, os.stat(real).st_mode & 0o7777)  # keep the permissions of the file we replace
        yield f
        f.flush()
        if fsync:
            os.fsync(f.fileno())
        f.close()
        os.replace(tmp, real)
    except BaseException:
        if f is not None:
            with contextlib.suppress(Exception):
                f.close()
        else:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if fsync:
        fsync_dir(os.path.dirname(real))


def atomic_write_bytes(target, data, *, fsync: bool = True) -> None:
    """Write ``data`` (bytes-like) to ``target`` through :func:`atomic_open`.

    Example:
        >>> import io
        >>> b = io.BytesIO(); atomic_write_bytes(b, b"xyz"); b.getvalue()
        b'xyz'
    """
    with atomic_open(target, fsync=fsync) as f:
        f.write(data)
