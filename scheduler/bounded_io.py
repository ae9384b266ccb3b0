"""Bounded reading of input files: every scenario, sweep, trace, signal and empirical file.

Contract, for every function here:

- Only regular files are read. Directories, FIFOs (pipes), devices, sockets and the kernel's
  pseudo-files under ``/proc`` and ``/sys`` are refused with an :class:`InputError`, *before*
  anything is read: their reported size is 0 whatever they hold, a FIFO blocks its reader until
  a writer comes, ``/dev/zero`` never ends and opening some devices has side effects. Refusing
  is simpler to reason about than reading them with limits, and a user who wants to pipe data
  in can save it to a file first. The file is checked with ``stat`` before it is opened and
  again on the open descriptor (opened with ``O_NONBLOCK``, so that a FIFO swapped in between
  cannot block the open either).
- Limits (:class:`ReadLimits`: bytes and lines) are checked *while reading*, on what was
  actually read, never on ``st_size``. Bytes count after decompression.
- ``.gz`` files are decompressed, and their decompressed size is also bounded by their
  compressed size: at most :data:`GZIP_MAX_RATIO` times it (once past
  :data:`GZIP_FREE_BYTES`), so a compression bomb (300 kB of gzip holding 300 MB of newlines)
  fails after a few megabytes instead of being read for minutes. Real CSV and JSON traces
  compress 3 to 12 times (the packaged series and test traces).
- Every error names the file and, for a limit, the limit.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from scheduler.errors import InputError

GZIP_MAX_RATIO = 25
"""Largest decompressed / compressed size ratio of a ``.gz`` input (past the free bytes)."""
GZIP_FREE_BYTES = 4 * 1024 * 1024
"""Decompressed bytes a ``.gz`` input may always reach, whatever its ratio."""
BLOCK_BYTES = io.DEFAULT_BUFFER_SIZE
"""Read size of the buffered streams (8 KiB: as much as the standard library reads ahead)."""
PSEUDO_FILESYSTEMS = ("/proc", "/sys")
"""Mount points whose regular-looking files are kernel interfaces, not data."""


@dataclass(frozen=True)
class ReadLimits:
    """How much one kind of input file may hold."""

    max_bytes: int
    """Most bytes read (after decompression)."""
    max_lines: int
    """Most newline characters read."""
    kind: str
    """Plural name of the files, for messages: ``"scenario files"``."""


def _located(at_file: str, at_field: str, path: Path, field: str | None) -> InputError:
    """An error at the file (``at_file``) or, given ``field``, at the field (``at_field``,
    which names the file)."""
    if field:
        return InputError(at_field, field)
    return InputError(at_file, str(path))


def _pseudo_devices() -> set[int]:
    devices = set()
    for mount in PSEUDO_FILESYSTEMS:
        try:
            devices.add(os.stat(mount).st_dev)
        except OSError:
            continue
    return devices


def _refusal(st: os.stat_result) -> str | None:
    """Why a file with this status is not read, or None for a regular data file."""
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        return "is a directory, expected a file"
    if stat.S_ISFIFO(mode):
        return "is a pipe (FIFO), not a regular file; save the input to a file first"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a socket?)"
    if st.st_dev in _pseudo_devices():
        return f"is a kernel pseudo-file (under {' or '.join(PSEUDO_FILESYSTEMS)}), not a data file"
    return None


def check_regular(path: Path, field: str | None = None) -> None:
    """Raise :class:`InputError` unless ``path`` is a regular data file (see the module's
    contract); for early errors, before a lazy reader opens the file."""
    os.close(_open_regular(path, field))


def _open_regular(path: Path, field: str | None) -> int:
    """A blocking read descriptor of ``path``, a regular file; InputError otherwise."""
    try:
        refusal = _refusal(os.stat(path))
        if refusal is None:
            # O_NONBLOCK: if a FIFO replaced the file since the stat, the open does not wait.
            flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
            fd = os.open(path, flags)
    except FileNotFoundError:
        raise _located("file not found", f"file not found: {path}", path, field) from None
    except OSError as exc:  # permission, a too-long name, a loop of links...
        reason = exc.strerror or str(exc)
        raise _located(f"cannot read file: {reason}", f"cannot read {path}: {reason}", path,
                       field) from None
    if refusal is None:
        try:
            refusal = _refusal(os.fstat(fd))
            if refusal is None:
                os.set_blocking(fd, True)
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    raise _located(refusal, f"{path} {refusal}", path, field)


class _CountingReader(io.BufferedIOBase):
    """A binary stream over ``source`` that fails once more than the limits have been read.

    It adds no buffer of its own (it counts what ``source`` returns), so the layers above read
    exactly as they would from ``source``.
    """

    def __init__(self, source: io.BufferedIOBase, path: Path, limits: ReadLimits,
                 compressed_bytes: int | None) -> None:
        super().__init__()
        self._source = source
        self._path = path
        self._limits = limits
        self._compressed = compressed_bytes
        self.max_bytes = limits.max_bytes
        if compressed_bytes is not None:
            self.max_bytes = min(self.max_bytes,
                                 max(GZIP_FREE_BYTES, GZIP_MAX_RATIO * compressed_bytes))
        self.bytes_read = 0
        self.lines_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:  # all of it, block by block so that limits apply
            return b"".join(iter(lambda: self.read1(BLOCK_BYTES), b""))
        return self._counted(self._source.read(size))

    def read1(self, size: int = -1) -> bytes:
        return self._counted(self._source.read1(size if size >= 0 else BLOCK_BYTES))

    def _counted(self, data: bytes) -> bytes:
        self.bytes_read += len(data)
        self.lines_read += data.count(b"\n")
        if self.bytes_read > self.max_bytes:
            raise self._too_big()
        if self.lines_read > self._limits.max_lines:
            raise InputError(f"more than {self._limits.max_lines:,} lines; "
                             f"{self._limits.kind} are limited to {self._limits.max_lines:,}",
                             str(self._path))
        return data

    def _too_big(self) -> InputError:
        limits = self._limits
        if self.max_bytes < limits.max_bytes:
            assert self._compressed is not None
            return InputError(f"decompresses to more than {self.max_bytes:,} bytes, over "
                              f"{GZIP_MAX_RATIO} times its {self._compressed:,} compressed "
                              "bytes (refused as a likely compression bomb; decompress it "
                              "yourself if it is real data)", str(self._path))
        after = " after decompression" if self._compressed is not None else ""
        return InputError(f"more than {limits.max_bytes:,} bytes{after}; {limits.kind} are "
                          f"limited to {limits.max_bytes:,}", str(self._path))

    def close(self) -> None:
        if not self.closed:
            self._source.close()
        super().close()


def open_binary(path: Path, limits: ReadLimits, *, field: str | None = None,
                decompress: bool = True) -> BinaryIO:
    """A binary stream of ``path`` within ``limits``, decompressed when its name ends in
    ``.gz`` (unless ``decompress`` is false). ``field`` (a scenario field path) locates open
    errors; limit errors are raised while reading, at the file."""
    fd = _open_regular(path, field)
    source: io.BufferedIOBase = io.BufferedReader(io.FileIO(fd, "rb", closefd=True),
                                                  BLOCK_BYTES)
    compressed: int | None = None
    if decompress and path.name.lower().endswith(".gz"):
        compressed = os.fstat(fd).st_size
        source = gzip.GzipFile(fileobj=source, mode="rb")
    return _CountingReader(source, path, limits, compressed)  # type: ignore[return-value]


def open_text(path: Path, limits: ReadLimits, *, field: str | None = None,
              encoding: str = "utf-8-sig", newline: str | None = "") -> TextIO:
    """:func:`open_binary` decoded as text (by default: UTF-8, a BOM dropped, newlines kept
    as they are, as the csv module wants)."""
    return io.TextIOWrapper(open_binary(path, limits, field=field), encoding=encoding,
                            newline=newline)


def read_bytes(path: Path, limits: ReadLimits, *, field: str | None = None,
               decompress: bool = True) -> bytes:
    """The whole content of ``path`` (decompressed for ``.gz``), within ``limits``."""
    with open_binary(path, limits, field=field, decompress=decompress) as handle:
        return handle.read()


def read_text(path: Path, limits: ReadLimits, *, field: str | None = None,
              encoding: str = "utf-8", expected: str = "text", decompress: bool = True) -> str:
    """The whole of ``path`` as text, within ``limits``; binary (NUL bytes) and undecodable
    files are input errors (``expected`` names what the file should hold, for the message).
    Decompression errors (``.gz``) are input errors too."""
    try:
        raw = read_bytes(path, limits, field=field, decompress=decompress)
    except (OSError, EOFError, zlib.error) as exc:  # gzip: BadGzipFile (an OSError), a
        # truncated stream (EOFError), a damaged one (zlib.error); or a failing disk
        raise _located(f"cannot read: {exc}", f"cannot read {path}: {exc}", path,
                       field) from None
    if b"\x00" in raw:
        raise InputError(f"binary file (contains NUL bytes), expected {expected}", str(path))
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", str(path)) from None
