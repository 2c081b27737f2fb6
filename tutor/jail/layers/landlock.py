"""Layer 4, Landlock: a file-system allow-list, TCP denied, signal and abstract-socket scopes."""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from pathlib import Path
from typing import Iterator

from tutor.jail.layers._sys import _syscall
from tutor.jail.layers.policy import Policy

_NR_LANDLOCK_CREATE_RULESET = 444
_NR_LANDLOCK_ADD_RULE = 445
_NR_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1
_LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF = 1 << 0

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13        # ABI 2
FS_TRUNCATE = 1 << 14     # ABI 3
FS_IOCTL_DEV = 1 << 15    # ABI 5
NET_BIND_TCP = 1 << 0     # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1                # ABI 6

#: Rights that make sense on a non-directory; the kernel rejects others.
_FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
_READ = FS_READ_FILE | FS_READ_DIR
#: Scratch: everything except device nodes (a root child could otherwise
#: mknod the disk), execute (nothing is ever exec'd) and device ioctls.
_SCRATCH = (FS_WRITE_FILE | FS_READ_FILE | FS_READ_DIR | FS_REMOVE_DIR
            | FS_REMOVE_FILE | FS_MAKE_DIR | FS_MAKE_REG | FS_MAKE_SOCK
            | FS_MAKE_FIFO | FS_MAKE_SYM | FS_REFER | FS_TRUNCATE)
_DEVICE_RW = FS_READ_FILE | FS_WRITE_FILE | FS_IOCTL_DEV


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64),
                ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64),
                ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is absent.

    Asks ``landlock_create_ruleset(NULL, 0, VERSION)``: no side effects.
    """
    try:
        return _syscall(_NR_LANDLOCK_CREATE_RULESET, None, 0,
                        _LANDLOCK_CREATE_RULESET_VERSION)
    except OSError:
        return 0


def _handled_fs(abi: int) -> int:
    """All file-system rights this ABI knows: anything unhandled is allowed."""
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


def _ruleset_attr(abi: int) -> tuple[_RulesetAttr, int]:
    """The ruleset attribute and the struct size this ABI understands."""
    attr = _RulesetAttr(_handled_fs(abi), 0, 0)
    size = 8
    if abi >= 4:
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
        size = 16
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        size = 24
    return attr, size


_CUDA_DEVICE_GLOBS = ("nvidia*",)
_CUDA_READS = ("/proc/driver/nvidia", "/proc/devices", "/sys", "/etc/ld.so.cache",
               "/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/cuda",
               "/dev/nvidia-caps")


def _landlock_rules(policy: Policy, read_only: tuple[Path, ...] | None = None) -> Iterator[tuple[str, int]]:
    """(path, rights) pairs: scratch rw, /dev/null rw, read-only paths
    (``read_only``, default the policy's), CUDA.

    /dev/null is writable for everyone: silencing output with it is common
    and it leaks nothing.
    """
    yield str(policy.scratch), _SCRATCH
    yield "/dev/null", FS_READ_FILE | FS_WRITE_FILE
    for path in policy.read_only if read_only is None else read_only:
        yield str(path), _READ
    if policy.cuda:
        for pattern in _CUDA_DEVICE_GLOBS:
            for dev in sorted(Path("/dev").glob(pattern)):
                yield str(dev), _DEVICE_RW
        for path in _CUDA_READS:
            yield path, _READ


class _Prepared:
    """The read-only rules, opened once in the worker for every child it forks:
    each an O_PATH fd (moved to the top of the fd range, below ``top``) and its
    rule, so a child only adds them (~140 rules: a third of the time).

    Not ``/proc/self/...``: opened here, those would be the worker's own
    entries; each child opens its own (``own``).
    """

    def __init__(self, paths: tuple[Path, ...], top: int) -> None:
        self.paths = paths
        self.own = tuple(p for p in paths if p == _PROC_SELF or _PROC_SELF in p.parents)
        handled = _handled_fs(landlock_abi())
        self.rules: list[_PathBeneathAttr] = []
        for path in paths:
            if path in self.own:
                continue
            try:
                fd = os.open(str(path), os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            rights = (_READ if _is_dir_fd(fd) else _READ & _FILE_RIGHTS) & handled
            target = top - 1 - len(self.rules)
            os.dup2(fd, target, inheritable=False)
            os.close(fd)
            self.rules.append(_PathBeneathAttr(rights, target))
        self.low = top - len(self.rules)


_prepared: list[_Prepared] = []
_PROC_SELF = Path("/proc/self")


def prepare(read_only: tuple[Path, ...], top: int) -> int:
    """Open the read-only rules once (see _Prepared); the lowest fd they took.

    A child keeps fds from there up to ``top`` open until its layers are on.
    """
    room = top - 128  # well above the fds a worker uses for itself
    _prepared[:] = [_Prepared(read_only, top)] if landlock_abi() >= 1 and len(read_only) < room else []
    return _prepared[0].low if _prepared else top


def _add_path_rule(ruleset_fd: int, path: str, rights: int) -> None:
    """Allow ``rights`` beneath ``path``; skip paths that cannot be opened.

    Rights a non-directory cannot carry are masked off, since the kernel
    rejects the whole rule otherwise.
    """
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not _is_dir_fd(fd):
            rights &= _FILE_RIGHTS
        if rights:
            attr = _PathBeneathAttr(rights, fd)
            _syscall(_NR_LANDLOCK_ADD_RULE, ruleset_fd, _LANDLOCK_RULE_PATH_BENEATH,
                     ctypes.byref(attr), 0)
    finally:
        os.close(fd)


def _is_dir_fd(fd: int) -> bool:
    return stat.S_ISDIR(os.fstat(fd).st_mode)


def _create_ruleset(attr: _RulesetAttr, size: int) -> int:
    """Create the ruleset; a kernel built without TCP/IP support refuses
    network rights (EAFNOSUPPORT), so retry with files and scopes only."""
    try:
        return _syscall(_NR_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), size, 0)
    except OSError as exc:
        if exc.errno != errno.EAFNOSUPPORT or not attr.handled_access_net:
            raise
        attr.handled_access_net = 0
        return _syscall(_NR_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), size, 0)


def _apply_landlock(policy: Policy) -> tuple[int, str | None]:
    """Restrict this process with Landlock; return (abi, why-not or None)."""
    abi = landlock_abi()
    if abi < 1:
        return 0, "the kernel has no Landlock (landlock_create_ruleset failed)"
    attr, size = _ruleset_attr(abi)
    try:
        ruleset_fd = _create_ruleset(attr, size)
    except OSError as exc:
        if exc.errno in (errno.ENOSYS, errno.EOPNOTSUPP):
            return 0, str(exc)
        raise
    try:
        prepared = next((p for p in _prepared if p.paths == policy.read_only), None)
        for path, rights in _landlock_rules(policy, prepared.own if prepared else None):
            _add_path_rule(ruleset_fd, path, rights & attr.handled_access_fs)
        for rule in prepared.rules if prepared else ():
            _syscall(_NR_LANDLOCK_ADD_RULE, ruleset_fd, _LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0)
        flags = _LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF if abi >= 7 else 0
        _syscall(_NR_LANDLOCK_RESTRICT_SELF, ruleset_fd, flags)
    finally:
        os.close(ruleset_fd)
    return abi, None
