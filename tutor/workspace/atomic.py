"""Writes that are whole or absent, and a lock that serializes read-modify-write.

A learner kills ``tutor`` with Ctrl-C, ``kill -9`` or a closed laptop lid, and
runs two of them at once (``tutor start`` in one terminal, ``tutor check`` in
another). Neither may cost them their progress or their code, so every file
``tutor`` rewrites goes through :func:`atomic_write` (the old content or the
new one, never half of each) and every read-modify-write of shared state runs
inside :func:`locked`.

Stdlib only: this is imported by ``tutor list``, which must stay fast.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

__all__ = ["atomic_write", "locked", "LockTimeout", "TEMP_SUFFIX"]

PathLike = Union[str, "os.PathLike[str]"]

# Temp files are ``.<name>.<random>.tmp`` beside their target; a process
# killed between creating one and renaming it leaves one behind, which
# :func:`remove_stale_temps` sweeps up (only call it while holding the lock).
TEMP_SUFFIX = ".tmp"


class LockTimeout(TimeoutError):
    """Another process held the lock for longer than the caller was willing to wait."""


def atomic_write(path: PathLike, data: bytes | str) -> None:
    """Replace ``path`` with ``data`` so that readers see the old file or the new one, never a mix.

    Why each step: the data goes to a temp file *in the same directory*
    (``os.replace`` is atomic only within one file system); the temp file is
    fsynced before the rename, or a power loss could leave the new name
    pointing at empty blocks; the directory is fsynced after it, or the rename
    itself could be forgotten. A kill at any moment leaves at worst a stray
    temp file, never a partial target. An existing target keeps its mode.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    directory = target.parent
    try:
        mode: int | None = os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    fd, temp = _create_temp(directory, target.name)
    try:
        try:
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if mode is not None:
                os.chmod(temp, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException:
        # KeyboardInterrupt included: a stray temp file is harmless, but tidy.
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def _create_temp(directory: Path, name: str) -> tuple[int, str]:
    """A new file beside the target, created with O_EXCL so no two writers share one.

    ``os.open`` with 0o666 lets the umask decide the mode, as a plain
    ``open()`` would (``tempfile.mkstemp`` forces 0o600, which would make the
    learner's exercise files unreadable to their other tools and groups).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue


def _fsync_dir(directory: Path) -> None:
    """Persist the rename itself; not every platform or file system allows it, so best effort."""
    if sys.platform == "win32":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temps(path: PathLike) -> int:
    """Delete temp files a killed writer of ``path`` left behind; returns how many.

    Only safe while holding the lock that every writer of ``path`` takes:
    otherwise another process's temp file, about to be renamed, would vanish.
    """
    target = Path(path)
    removed = 0
    for stray in target.parent.glob(f".{_glob_escape(target.name)}.*{TEMP_SUFFIX}"):
        try:
            stray.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


# ---------------------------------------------------------------- locking

# flock locks belong to an open file description, so a second ``locked()`` of
# the same file in the same thread would open a new description and wait for
# itself forever. Re-entry is counted per thread instead; other threads open
# their own description and wait like any other process would.
_held = threading.local()


@contextmanager
def locked(path: PathLike, timeout: float | None = None) -> Iterator[None]:
    """Hold an exclusive lock on the sidecar file ``path`` (e.g. ``.tutor/lock``) for the block.

    Two ``tutor`` processes each re-read, change and rewrite ``progress.json``;
    without this they would each write their own view and one would lose the
    other's change. The lock file is never deleted (deleting it would let a
    waiter lock an unlinked inode while a newcomer locks a fresh one). The
    kernel drops the lock when the holder dies, ``kill -9`` included, so there
    is no stale-lock cleanup to get wrong. Re-entrant within one thread.

    ``timeout`` (seconds) raises :class:`LockTimeout` instead of waiting forever.
    """
    key = os.path.abspath(path)
    counts: dict[str, int] = _held.__dict__.setdefault("counts", {})
    if counts.get(key):
        counts[key] += 1
        try:
            yield
        finally:
            counts[key] -= 1
        return
    Path(key).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        _acquire(fd, timeout, key)
        counts[key] = 1
        try:
            yield
        finally:
            del counts[key]
            _release(fd)
    finally:
        os.close(fd)


if sys.platform == "win32":  # pragma: no cover - tutor's home is Linux and macOS
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _release(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

    def _acquire(fd: int, timeout: float | None, key: str) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not _try_lock(fd):
            if deadline is not None and time.monotonic() >= deadline:
                raise LockTimeout(f"{key} is locked by another tutor process")
            time.sleep(0.01)

else:
    import fcntl

    def _release(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

    def _acquire(fd: int, timeout: float | None, key: str) -> None:
        if timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # EINTR is retried by Python (PEP 475)
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"{key} is locked by another tutor process") from None
                time.sleep(0.005)
