"""Writing output files safely: one file atomically, a run's files as one set, a folder lock,
and the checks that keep ``--out`` from replacing what it must not.

**One file** (:func:`atomic_write`): written into a temporary file beside the target, then
renamed over it. Only a regular file (or nothing) is ever replaced: a symlink, a device node,
a FIFO or a folder at the path is refused (``--out /dev/stdout`` as root would otherwise
replace the device with a file).

**A set of files** (:func:`write_set`, used by :meth:`Result.save`): every file is first
written into a fresh hidden folder *inside* the output folder (same file system, so the final
renames cannot fail with EXDEV, which a sibling folder on another mount could), then moved
into place, then ``manifest.json`` is written last, listing each file with its size and
SHA-256 (hashed as the bytes are written, not read back). We use a manifest rather than swapping the whole folder because an output folder is
the user's: it may be ``.``, hold a report, figures or other files, and must keep them. While
the files are moved, ``manifest.json`` says ``"complete": false``; SIGINT and SIGTERM are
deferred during those renames (raised again right after), so a signal never splits a set, and a crash there (kill -9, power loss) leaves a manifest that readers refuse. A full
disk or a signal while writing the hidden folder leaves the previous set untouched; the
hidden folder is removed on every exit path Python sees, and a stale one (after kill -9) is
removed by the next writer.

**A lock** (:class:`FolderLock`): ``flock`` on the output folder itself (no lock file left
behind). A second writer is refused at once with an :class:`OutputError` (exit 2) rather
than made to wait: a run can take hours, and waiting would only write its results over the
first run's. Where ``fcntl`` is missing (Windows) there is no lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

from scheduler.errors import InputError, Problem

MANIFEST = "manifest.json"
MANIFEST_KIND = "clustersim-results"
MANIFEST_VERSION = 1
_SAVE_PREFIX = ".clustersim-save-"
_UMASK = os.umask(0)
os.umask(_UMASK)
_DEFERRED = (signal.SIGINT, signal.SIGTERM)


class OutputError(InputError):
    """An output path that cannot or must not be written (exit code 2, one line)."""


def output_problem(where: str | Path, exc: OSError) -> OutputError:
    """An :class:`OutputError` for an OS error while writing ``where`` (no traceback)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    text = str(where)
    if len(text) > 160:  # a path too long for the OS is too long for one error line too
        text = f"{text[:70]}...{text[-70:]} ({len(text):,} characters)"
    return OutputError(f"cannot write here: {reason}", text)


@contextlib.contextmanager
def writing(where: str | Path) -> Iterator[None]:
    """Turn an :class:`OSError` raised inside into an :class:`OutputError` about ``where``."""
    try:
        yield
    except OSError as exc:
        raise output_problem(where, exc) from None


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def check_replaceable(path: Path) -> None:
    """Raise :class:`OutputError` unless ``path`` is absent or a regular file (not a link)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise output_problem(path, exc) from None
    if not stat.S_ISREG(mode):
        raise OutputError(f"is {_kind(mode)}, not a regular file: refusing to replace it",
                          str(path))


def check_out_dir(path: Path) -> None:
    """Refuse an output folder that is empty, or exists (or has a parent) that is no folder."""
    if not str(path):
        raise OutputError("empty path: give a folder", "--out")
    with writing(path):  # a name too long, a component that cannot be searched
        for folder in (path, *path.parents):
            if folder.exists() or folder.is_symlink():
                if not folder.is_dir():
                    raise OutputError(f"{folder} exists and is not a directory", "--out")
                return


def check_not_inputs(folder: Path, names: Iterable[str], inputs: Iterable[Path]) -> None:
    """Refuse to write ``folder/name`` for any name that is one of the run's ``inputs``."""
    existing = [folder / name for name in names if (folder / name).exists()]
    for source in inputs:
        for target in existing:
            with contextlib.suppress(OSError):
                if os.path.samefile(source, target):
                    raise OutputError(f"would overwrite the input {source}: choose another "
                                      "--out folder", str(target))


def _chmod_usual(path: Path) -> None:
    os.chmod(path, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual mode


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write via ``write(tmp_path)`` into a temporary file beside ``path``, then rename.

    Refuses (:class:`OutputError`) to replace anything but a regular file; the temporary file
    is removed on any error, including KeyboardInterrupt.
    """
    path = Path(path)
    check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        _chmod_usual(Path(tmp))
        check_replaceable(path)  # again: it may have appeared while we wrote
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- the lock

_HELD: dict[str, int] = {}
"""Folders this process has locked (real path -> count): the lock is re-entrant, so the CLI
can hold it from before the run while :meth:`Result.save` takes it again."""


class FolderLock:
    """Exclusive, non-blocking lock on an existing folder (``flock`` on the folder itself).

    A second process gets :class:`OutputError`; the same process may nest it.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._key = os.path.realpath(self.folder)
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        if self._key in _HELD:
            _HELD[self._key] += 1
            return self
        try:
            import fcntl
        except ImportError:  # no flock (Windows): no lock
            _HELD[self._key] = 1
            return self
        with writing(self.folder):
            fd = os.open(self.folder, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OutputError("another clustersim process is writing results into this "
                              "folder; wait for it to finish or choose another --out",
                              str(self.folder)) from None
        self._fd = fd
        _HELD[self._key] = 1
        return self

    def __exit__(self, *_exc: object) -> None:
        _HELD[self._key] -= 1
        if _HELD[self._key] == 0:
            del _HELD[self._key]
            if self._fd is not None:
                os.close(self._fd)  # closing releases the flock
                self._fd = None


# --------------------------------------------------------------------------- file sets


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM wait while the set is moved into place, then are raised again for
    the handlers in force. Python-level handlers, not a thread signal mask: in a process with
    other threads (BLAS, Arrow) the kernel may deliver a signal to any thread that does not
    block it, and Python then runs its handler in the main thread anyway."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def record(number: int, _frame: FrameType | None) -> None:
        received.append(number)

    previous = {sig: signal.signal(sig, record) for sig in _DEFERRED}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        for number in received:
            signal.raise_signal(number)


class DigestingFile(io.RawIOBase):
    """A write-only binary file that passes every byte to ``handle`` and hashes it on the
    way: the manifest's size and SHA-256 without reading a written file back (a 50 MB
    jobs.csv was read a second time just to hash it)."""

    def __init__(self, handle: BinaryIO) -> None:
        super().__init__()
        self._handle = handle
        self.digest = hashlib.sha256()
        """SHA-256 of everything written so far."""
        self.size = 0
        """Bytes written so far."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._handle.write(view)
        self.digest.update(view)
        self.size += view.nbytes
        return view.nbytes

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self._handle.flush()


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _manifest_text(files: Mapping[str, dict[str, Any]], complete: bool,
                   extra: Mapping[str, Any]) -> str:
    data = {"kind": MANIFEST_KIND, "version": MANIFEST_VERSION, "complete": complete,
            **extra, "files": dict(files)}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_stale(folder: Path) -> None:
    """Remove hidden save folders left by a writer killed with SIGKILL (call under the lock)."""
    for stale in folder.glob(_SAVE_PREFIX + "*"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)


def _write_staged(target: Path, write: Callable[[BinaryIO], object]) -> dict[str, Any]:
    """Write one file of a set through ``write(binary file)``, on disk before returning;
    its manifest entry (size, SHA-256) is computed from the bytes as they pass."""
    with open(target, "wb") as handle:
        sink = DigestingFile(handle)
        write(sink)  # type: ignore[arg-type]  # a RawIOBase is a binary file
        handle.flush()
        os.fsync(handle.fileno())
    _chmod_usual(target)
    return {"bytes": sink.size, "sha256": sink.digest.hexdigest()}


def write_set(folder: Path, files: Mapping[str, Callable[[BinaryIO], object]],
              owned: Iterable[str], extra: Mapping[str, Any] | None = None) -> Path:
    """Write ``files`` (name -> writer into a binary file) into ``folder`` as one set (see the module
    docstring), under :class:`FolderLock`; names in ``owned`` but not in ``files`` (the other
    table format, an optional file) are removed so no stale file sits beside the new set.
    ``extra`` goes into the manifest. Raises :class:`OutputError` for a path that must not
    be replaced, :class:`OSError` when writing fails (the previous set is then unchanged).
    """
    folder = Path(folder)
    check_out_dir(folder)
    folder.mkdir(parents=True, exist_ok=True)
    owned = set(owned) | set(files) | {MANIFEST}
    extra = dict(extra or {})
    with FolderLock(folder):
        for name in sorted(owned):
            check_replaceable(folder / name)
        remove_stale(folder)
        staging = Path(tempfile.mkdtemp(prefix=_SAVE_PREFIX, dir=folder))
        try:
            entries = {name: _write_staged(staging / name, write)
                       for name, write in files.items()}
            (staging / MANIFEST).write_text(_manifest_text(entries, True, extra),
                                            encoding="utf-8")
            (staging / ".pending").write_text(_manifest_text({}, False, extra),
                                              encoding="utf-8")
            for name in (MANIFEST, ".pending"):  # the files were synced as written
                _chmod_usual(staging / name)
                with open(staging / name, "rb+") as handle:  # on disk before the renames
                    os.fsync(handle.fileno())
            with _signals_deferred():
                os.replace(staging / ".pending", folder / MANIFEST)
                for name in files:
                    os.replace(staging / name, folder / name)
                for name in owned - set(files) - {MANIFEST}:
                    (folder / name).unlink(missing_ok=True)
                _fsync_dir(folder)
                os.replace(staging / MANIFEST, folder / MANIFEST)
                _fsync_dir(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a saved set (None when the folder has none: an older version wrote
    it). Raises :class:`InputError` when it is unreadable, incomplete, or a listed file is
    missing or differs from what was written."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        return None
    where = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the manifest: {exc}", where) from None
    if not isinstance(data, dict) or data.get("kind") != MANIFEST_KIND \
            or not isinstance(data.get("files"), dict):
        raise InputError("not a clustersim manifest", where)
    if data.get("complete") is not True:
        raise InputError("incomplete result set: a save into this folder was interrupted; "
                         "run again to write it whole", where)
    problems = []
    for name, entry in data["files"].items():
        file = Path(folder) / str(name)
        if not isinstance(entry, dict) or Path(str(name)).name != name:
            problems.append(Problem(where, f"bad entry for {name!r}"))
        elif not file.is_file():
            problems.append(Problem(str(file), "missing from the result set (manifest.json "
                                    "lists it)"))
        elif file.stat().st_size != entry.get("bytes") or _sha256(file) != entry.get("sha256"):
            problems.append(Problem(str(file), "differs from what the run wrote (size or "
                                    "SHA-256 in manifest.json): the set was changed or torn"))
    if problems:
        raise InputError(problems)
    return data
