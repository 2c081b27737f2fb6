"""The libc and /proc access every layer shares: standard library only."""

from __future__ import annotations

import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong, ctypes.c_ulong]
_libc.prctl.restype = ctypes.c_int
_libc.unshare.argtypes = [ctypes.c_int]
_libc.unshare.restype = ctypes.c_int
_libc.capset.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
_libc.capset.restype = ctypes.c_int


def _check(result: int, what: str) -> int:
    """Turn a libc ``-1`` into OSError so callers can branch on errno."""
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _syscall(nr: int, *args: object) -> int:
    """Raw syscall; every integer is widened to a C long (variadic ABI)."""
    conv = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    return _check(_libc.syscall(ctypes.c_long(nr), *conv), f"syscall {nr}")


def _prctl(option: int, a2: int = 0, a3: int = 0) -> int:
    return _check(_libc.prctl(option, a2, a3, 0, 0), f"prctl {option}")


PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2


def _proc_status() -> dict[str, str]:
    """/proc/self/status as a dict: one read gives sizes, threads, seccomp."""
    with open("/proc/self/status", encoding="ascii", errors="replace") as f:
        return dict(line.split(":\t", 1) for line in f.read().splitlines()
                    if ":\t" in line)


def _kib(status: dict[str, str], key: str) -> int:
    """A ``VmXxx:   1234 kB`` field in bytes (0 if absent)."""
    value = status.get(key, "0 kB").split()
    return int(value[0]) * 1024 if value else 0


def _set_no_new_privs() -> None:
    """Required by Landlock and seccomp for unprivileged use, and it makes
    sure nothing can regain privileges through a setuid binary."""
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
