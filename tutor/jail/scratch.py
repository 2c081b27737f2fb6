"""Removing what a child left in its scratch directory, whatever it left.

A child may leave a tree thousands of levels deep (deeper than Python's
recursion limit and longer than PATH_MAX), directories it made without
permissions, fifos, sockets and symlinks. ``shutil.rmtree`` recurses and
raises on such trees, which once killed the worker and left the tree in
/tmp. This walks with directory fds, one level open at a time, never follows
a link, restores the owner's permissions where a directory refuses, and
never raises: what cannot be removed is left, and reported by the return.

Runs in the zygote, only after the child and all its processes are dead, so
nothing moves under it. Standard library only.
"""

from __future__ import annotations

import os
import stat

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: Entries removed at most per cleanup: a child cannot make the zygote spin forever.
MAX_ENTRIES = 1_000_000


def remove_tree(path: str) -> bool:
    """Remove ``path`` and everything under it; True when it is gone."""
    try:
        fd = os.open(path, _DIR_FLAGS)
    except OSError:
        _unlink(path, None)
        return not os.path.lexists(path)
    budget = [MAX_ENTRIES]
    names: list[str] = []  # the path from ``path`` down to ``fd``
    try:
        pending = [_clear_files(fd, budget)]  # subdirectories still to empty, per level
        while budget[0] > 0:
            if pending[-1]:
                name = pending[-1].pop()
                sub = _open_dir(fd, name)
                if sub is None:
                    _unlink(name, fd)
                    continue
                os.close(fd)
                fd = sub
                names.append(name)
                pending.append(_clear_files(fd, budget))
                continue
            pending.pop()
            if not names:
                break
            parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = parent
            _unlink(names.pop(), fd)
    except OSError:
        pass
    finally:
        os.close(fd)
    _unlink(path, None)
    return not os.path.lexists(path)


def _clear_files(fd: int, budget: list[int]) -> list[str]:
    """Unlink every non-directory in ``fd``; return its subdirectories."""
    subdirs = []
    with os.scandir(fd) as entries:
        for entry in entries:
            budget[0] -= 1
            if budget[0] <= 0:
                break
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                subdirs.append(entry.name)
            else:
                _unlink(entry.name, fd)
    return subdirs


def _open_dir(parent: int, name: str) -> int | None:
    for attempt in range(2):
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent)
        except PermissionError:
            if attempt:
                return None
            try:  # a directory made with mode 0: the owner may give it back
                os.chmod(name, stat.S_IRWXU, dir_fd=parent, follow_symlinks=False)
            except (OSError, NotImplementedError):
                return None
        except OSError:
            return None
    return None


def _unlink(name: str, dir_fd: int | None) -> None:
    """Remove a file or an empty directory; never raises."""
    try:
        os.unlink(name, dir_fd=dir_fd)
    except (IsADirectoryError, PermissionError):
        try:
            os.rmdir(name, dir_fd=dir_fd)
        except OSError:
            pass
    except OSError:
        pass
