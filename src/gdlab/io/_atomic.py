"""Atomic file writes: a reader sees the old file or the new one, never half of either.

The new content goes to a temporary file in the same directory, is flushed and ``fsync``-ed, and
then renamed over the target with :func:`os.replace` (atomic on POSIX and Windows when both names
are on the same file system); finally the directory itself is synced so that the rename survives a
power cut. A process killed at any moment leaves the previous file intact (and at worst a stray
``.NAME.*.tmp`` file beside it).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write"]


def _sync_directory(directory: Path) -> None:
    """``fsync`` a directory so that a rename in it is durable (a no-op where unsupported)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> Path:
    """Write a file atomically: ``write(fh)`` fills a temporary file that then replaces ``path``.

    Parameters
    ----------
    path : str or path-like
        The file to create or replace.
    write : callable
        Called with a binary file object opened for writing; it must write the whole content.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.bin"
    >>> _ = atomic_write(target, lambda fh: fh.write(b"data"))
    >>> target.read_bytes()
    b'data'
    """
    target = Path(path)
    directory = target.parent
    temporary = directory / f".{target.name}.{secrets.token_hex(6)}.tmp"
    # O_EXCL: never follow or reuse an existing name; mode 0o666 lets the umask decide, as open().
    fd = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(directory)
    return target
