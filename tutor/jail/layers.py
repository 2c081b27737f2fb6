"""Kernel containment layers for one forked sandbox child.

Why this module exists: learner code runs in a child forked from a warm
worker that has torch imported. Python-level guards (audit hooks, patched
builtins) are telemetry, not a boundary, because the child can reach
anything in its own address space. The boundary is what the kernel enforces
on the child after fork and before the learner's code starts:

1. ``rlimits``  -- CPU seconds, address space / data, file size, open files,
   core dumps, process count.
2. ``netns``    -- a new, empty network namespace (root: CLONE_NEWNET;
   non-root: CLONE_NEWUSER|CLONE_NEWNET).
3. ``caps``     -- every capability dropped, so a root child cannot raise its
   own hard limits, set the clock, reboot, or use raw I/O ports.
4. ``landlock`` -- file-system allow-list (read-only interpreter and data,
   read-write scratch), TCP bind/connect denied (ABI >= 4), signals and
   abstract UNIX sockets scoped to the sandbox (ABI >= 6).
5. ``seccomp``  -- a deny-list: sockets, exec, fork, namespaces, mounts,
   ptrace, kernel attack surface, file-metadata writes, re-tuning other
   processes (prlimit64, affinity, priority; plus signals when Landlock
   cannot scope them) and, on CPU, any new executable mapping: no native
   code is loaded after start-up (see preload_native_modules()).

Only the standard library is used: this code runs on the worker side, where
no third-party package is trusted or guaranteed. Every layer probes the
kernel at run time and degrades (reports itself unavailable) instead of
failing, so grading still works on kernels or CI runners that lack a layer;
the caller reports which layers were active.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import re
import resource
import site
import stat
import struct
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

__all__ = [
    "LAYERS",
    "Policy",
    "apply",
    "default_read_only",
    "isolate",
    "landlock_abi",
    "limit",
    "preload_native_modules",
    "probe",
    "warm_jit_kernels",
]

#: Layer names, in the order apply() installs them.
LAYERS: tuple[str, ...] = ("rlimits", "netns", "caps", "landlock", "seccomp")

ACTIVE = "active"


@dataclass(frozen=True)
class Policy:
    """What one sandboxed child may do.

    ``memory_bytes`` is a budget *above* the child's usage at apply() time:
    a child forked from a torch worker already maps ~600 MiB, so an absolute
    limit would either break torch or mean nothing.
    """

    scratch: Path
    read_only: tuple[Path, ...]
    cpu_seconds: int
    memory_bytes: int
    file_size_bytes: int = 16 << 20
    max_open_files: int = 64
    cuda: bool = False
    #: RLIMIT_NPROC. It counts every task (thread) of the real uid system-wide
    #: and the kernel does not enforce it for root, so it is only a last cap
    #: when seccomp is missing; seccomp is what stops fork.
    max_processes: int = 8192


# --------------------------------------------------------------------------
# libc access
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# Layer 1: resource limits
# --------------------------------------------------------------------------


def _cap_limit(res: int, soft: int, hard: int) -> None:
    """Lower a limit, never raise it: as root setrlimit could raise a hard
    limit the operator set deliberately."""
    _, cur_hard = resource.getrlimit(res)
    if cur_hard != resource.RLIM_INFINITY:
        hard = min(hard, cur_hard)
    resource.setrlimit(res, (min(soft, hard), hard))


def _apply_rlimits(policy: Policy, status: dict[str, str]) -> None:
    """CPU, memory, file size, fds, cores and tasks.

    RLIMIT_CPU gets a 1 s gap between soft and hard: SIGXCPU first (a clean
    "time limit" status), SIGKILL one CPU second later if the code catches it.
    RLIMIT_AS is the only rlimit that sees MAP_SHARED/anonymous mappings
    (RLIMIT_DATA alone is bypassed by them), but CUDA reserves terabytes of
    address space, so with ``cuda`` only RLIMIT_DATA applies.
    """
    cpu = max(1, int(policy.cpu_seconds))
    _cap_limit(resource.RLIMIT_CPU, cpu, cpu + 1)
    budget = int(policy.memory_bytes)
    data = _kib(status, "VmData") + budget
    _cap_limit(resource.RLIMIT_DATA, data, data)
    if not policy.cuda:
        size = _kib(status, "VmSize") + budget
        _cap_limit(resource.RLIMIT_AS, size, size)
    _cap_limit(resource.RLIMIT_FSIZE, policy.file_size_bytes, policy.file_size_bytes)
    _cap_limit(resource.RLIMIT_NOFILE, policy.max_open_files, policy.max_open_files)
    _cap_limit(resource.RLIMIT_CORE, 0, 0)
    _cap_limit(resource.RLIMIT_NPROC, policy.max_processes, policy.max_processes)


# --------------------------------------------------------------------------
# Layer 2: network namespace
# --------------------------------------------------------------------------

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000


def _write_proc(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _enter_netns() -> str | None:
    """Move into an empty network namespace; return None or why not.

    Root (with CAP_SYS_ADMIN) unshares the network only. Otherwise a user
    namespace is needed too; the child keeps its own uid/gid mapped so file
    ownership and getuid() look unchanged. The combined unshare is atomic, so
    a refusal (GitHub's ubuntu-24.04 AppArmor userns restriction, Docker's
    default seccomp profile) leaves the child exactly as it was.
    """
    uid, gid = os.getuid(), os.getgid()
    reasons = []
    attempts = [CLONE_NEWNET] if os.geteuid() == 0 else []
    attempts.append(CLONE_NEWUSER | CLONE_NEWNET)
    for flags in attempts:
        try:
            _check(_libc.unshare(flags), "unshare")
        except OSError as exc:
            reasons.append(str(exc))
            continue
        if flags & CLONE_NEWUSER:
            _map_own_ids(uid, gid)
        return None
    return "; ".join(reasons)


def _map_own_ids(uid: int, gid: int) -> None:
    """Map the child's uid/gid into its new user namespace.

    A failure leaves the child unmapped (it then runs as the overflow uid);
    the network is isolated either way, so this degrades quietly.
    """
    try:
        _write_proc("/proc/self/setgroups", "deny")
        _write_proc("/proc/self/uid_map", f"{uid} {uid} 1\n")
        _write_proc("/proc/self/gid_map", f"{gid} {gid} 1\n")
    except OSError:
        pass


# --------------------------------------------------------------------------
# Layer 3: capabilities
# --------------------------------------------------------------------------

_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def _drop_caps() -> str | None:
    """Clear effective, permitted and inheritable capabilities; return None
    or why not.

    Why: a root child (our dev box, a sudo CI job) or a child inside its own
    user namespace holds capabilities that Landlock does not look at:
    CAP_SYS_RESOURCE raises hard rlimits, CAP_SYS_TIME sets the clock,
    CAP_SYS_RAWIO/iopl reach hardware, CAP_DAC_OVERRIDE ignores file modes.
    The bounding set is left alone: no_new_privs plus the exec ban mean no
    capability can come back.
    """
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    try:
        _check(_libc.capset(header, data), "capset")
    except OSError as exc:  # e.g. a container's seccomp profile
        return str(exc)
    return None


# --------------------------------------------------------------------------
# Layer 4: Landlock
# --------------------------------------------------------------------------

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


def _landlock_rules(policy: Policy) -> Iterator[tuple[str, int]]:
    """(path, rights) pairs: scratch rw, /dev/null rw, read-only paths, CUDA.

    /dev/null is writable for everyone: silencing output with it is common
    and it leaks nothing.
    """
    yield str(policy.scratch), _SCRATCH
    yield "/dev/null", FS_READ_FILE | FS_WRITE_FILE
    for path in policy.read_only:
        yield str(path), _READ
    if policy.cuda:
        for pattern in _CUDA_DEVICE_GLOBS:
            for dev in sorted(Path("/dev").glob(pattern)):
                yield str(dev), _DEVICE_RW
        for path in _CUDA_READS:
            yield path, _READ


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
        for path, rights in _landlock_rules(policy):
            _add_path_rule(ruleset_fd, path, rights & attr.handled_access_fs)
        flags = _LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF if abi >= 7 else 0
        _syscall(_NR_LANDLOCK_RESTRICT_SELF, ruleset_fd, flags)
    finally:
        os.close(ruleset_fd)
    return abi, None


# --------------------------------------------------------------------------
# Layer 5: seccomp
# --------------------------------------------------------------------------

AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_AARCH64 = 0xC00000B7
_X32_SYSCALL_BIT = 0x40000000

#: Syscall numbers of the calls we filter (None: not on that arch).
#: From the kernel's unistd_64.h (x86_64) and asm-generic/unistd.h (aarch64).
_SYSCALLS: dict[str, dict[str, int]] = {
    "x86_64": {
        "socket": 41, "connect": 42, "execve": 59, "execveat": 322,
        "fork": 57, "vfork": 58, "clone": 56, "clone3": 435,
        "unshare": 272, "setns": 308, "mount": 165, "umount2": 166,
        "pivot_root": 155, "chroot": 161, "fsopen": 430, "fsconfig": 431,
        "fsmount": 432, "fspick": 433, "move_mount": 429, "open_tree": 428,
        "mount_setattr": 442, "open_tree_attr": 467,
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
        "pidfd_getfd": 438, "process_madvise": 440, "kcmp": 312,
        "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
        "keyctl": 250, "add_key": 248, "request_key": 249,
        "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
        "finit_module": 313, "delete_module": 176, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "personality": 135,
        "open_by_handle_at": 304, "name_to_handle_at": 303,
        "reboot": 169, "sethostname": 170, "setdomainname": 171,
        "settimeofday": 164, "clock_settime": 227, "clock_adjtime": 305,
        "adjtimex": 159, "iopl": 172, "ioperm": 173, "modify_ldt": 154,
        "swapon": 167, "swapoff": 168, "acct": 163, "quotactl": 179,
        "quotactl_fd": 443, "syslog": 103, "vhangup": 153, "mknod": 133,
        "mknodat": 259, "uselib": 134, "fanotify_init": 300,
        "chmod": 90, "fchmod": 91, "fchmodat": 268, "fchmodat2": 452,
        "chown": 92, "fchown": 93, "lchown": 94, "fchownat": 260,
        "setxattr": 188, "lsetxattr": 189, "fsetxattr": 190,
        "removexattr": 197, "lremovexattr": 198, "fremovexattr": 199,
        "setxattrat": 463, "removexattrat": 466,
        "utime": 132, "utimes": 235, "futimesat": 261, "utimensat": 280,
        "mmap": 9, "mprotect": 10, "pkey_mprotect": 329, "shmat": 30,
        "kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129,
        "rt_tgsigqueueinfo": 297, "pidfd_open": 434,
        "prlimit64": 302, "sched_setaffinity": 203, "sched_setscheduler": 144,
        "sched_setparam": 142, "sched_setattr": 314, "migrate_pages": 256,
        "move_pages": 279, "setpriority": 141, "ioprio_set": 251,
    },
    "aarch64": {
        "socket": 198, "connect": 203, "execve": 221, "execveat": 281,
        "clone": 220, "clone3": 435,
        "unshare": 97, "setns": 268, "mount": 40, "umount2": 39,
        "pivot_root": 41, "chroot": 51, "fsopen": 430, "fsconfig": 431,
        "fsmount": 432, "fspick": 433, "move_mount": 429, "open_tree": 428,
        "mount_setattr": 442, "open_tree_attr": 467,
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
        "pidfd_getfd": 438, "process_madvise": 440, "kcmp": 272,
        "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
        "keyctl": 219, "add_key": 217, "request_key": 218,
        "kexec_load": 104, "kexec_file_load": 294, "init_module": 105,
        "finit_module": 273, "delete_module": 106, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "personality": 92,
        "open_by_handle_at": 265, "name_to_handle_at": 264,
        "reboot": 142, "sethostname": 161, "setdomainname": 162,
        "settimeofday": 170, "clock_settime": 112, "clock_adjtime": 266,
        "adjtimex": 171, "swapon": 224, "swapoff": 225, "acct": 89,
        "quotactl": 60, "quotactl_fd": 443, "syslog": 116, "vhangup": 58,
        "mknodat": 33, "fanotify_init": 262,
        "fchmod": 52, "fchmodat": 53, "fchmodat2": 452,
        "fchown": 55, "fchownat": 54,
        "setxattr": 5, "lsetxattr": 6, "fsetxattr": 7,
        "removexattr": 14, "lremovexattr": 15, "fremovexattr": 16,
        "setxattrat": 463, "removexattrat": 466, "utimensat": 88,
        "mmap": 222, "mprotect": 226, "pkey_mprotect": 288, "shmat": 196,
        "kill": 129, "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138,
        "rt_tgsigqueueinfo": 240, "pidfd_open": 434,
        "prlimit64": 261, "sched_setaffinity": 122, "sched_setscheduler": 119,
        "sched_setparam": 118, "sched_setattr": 274, "migrate_pages": 238,
        "move_pages": 239, "setpriority": 140, "ioprio_set": 30,
    },
}
_AUDIT_ARCH = {"x86_64": AUDIT_ARCH_X86_64, "aarch64": AUDIT_ARCH_AARCH64}
_NR_SECCOMP = {"x86_64": 317, "aarch64": 277}

#: Denied outright, with the errno the caller sees. fork-like calls get
#: EAGAIN (what a process limit gives, so libraries fail the usual way);
#: clone3 gets ENOSYS so glibc falls back to clone, whose flags we can see.
_DENY: dict[str, int] = {
    # network: every family, since Landlock < ABI 9 leaves pathname AF_UNIX open
    "socket": errno.EPERM, "connect": errno.EPERM,
    # new programs and processes
    "execve": errno.EPERM, "execveat": errno.EPERM,
    "fork": errno.EAGAIN, "vfork": errno.EAGAIN, "clone3": errno.ENOSYS,
    # namespaces and mounts
    "unshare": errno.EPERM, "setns": errno.EPERM, "mount": errno.EPERM,
    "umount2": errno.EPERM, "pivot_root": errno.EPERM, "chroot": errno.EPERM,
    "fsopen": errno.EPERM, "fsconfig": errno.EPERM, "fsmount": errno.EPERM,
    "fspick": errno.EPERM, "move_mount": errno.EPERM, "open_tree": errno.EPERM,
    "mount_setattr": errno.EPERM, "open_tree_attr": errno.EPERM,
    # other processes' memory
    "ptrace": errno.EPERM, "process_vm_readv": errno.EPERM,
    "process_vm_writev": errno.EPERM, "pidfd_getfd": errno.EPERM,
    "process_madvise": errno.EPERM, "kcmp": errno.EPERM,
    # kernel attack surface
    "bpf": errno.EPERM, "perf_event_open": errno.EPERM, "userfaultfd": errno.EPERM,
    "keyctl": errno.EPERM, "add_key": errno.EPERM, "request_key": errno.EPERM,
    "kexec_load": errno.EPERM, "kexec_file_load": errno.EPERM,
    "init_module": errno.EPERM, "finit_module": errno.EPERM,
    "delete_module": errno.EPERM, "io_uring_setup": errno.EPERM,
    "io_uring_enter": errno.EPERM, "io_uring_register": errno.EPERM,
    "personality": errno.EPERM, "open_by_handle_at": errno.EPERM,
    "name_to_handle_at": errno.EPERM, "modify_ldt": errno.EPERM,
    "uselib": errno.EPERM, "fanotify_init": errno.EPERM,
    # host-wide state a root child could change (caps are dropped too)
    "reboot": errno.EPERM, "sethostname": errno.EPERM, "setdomainname": errno.EPERM,
    "settimeofday": errno.EPERM, "clock_settime": errno.EPERM,
    "clock_adjtime": errno.EPERM, "adjtimex": errno.EPERM, "iopl": errno.EPERM,
    "ioperm": errno.EPERM, "swapon": errno.EPERM, "swapoff": errno.EPERM,
    "acct": errno.EPERM, "quotactl": errno.EPERM, "quotactl_fd": errno.EPERM,
    "syslog": errno.EPERM, "vhangup": errno.EPERM, "mknod": errno.EPERM,
    "mknodat": errno.EPERM,
    # metadata writes Landlock does not govern (chmod of the learner's own
    # files outside scratch, e.g. making the workspace unreadable)
    "chmod": errno.EPERM, "fchmod": errno.EPERM, "fchmodat": errno.EPERM,
    "fchmodat2": errno.EPERM, "chown": errno.EPERM, "fchown": errno.EPERM,
    "lchown": errno.EPERM, "fchownat": errno.EPERM, "setxattr": errno.EPERM,
    "lsetxattr": errno.EPERM, "fsetxattr": errno.EPERM,
    "removexattr": errno.EPERM, "lremovexattr": errno.EPERM,
    "fremovexattr": errno.EPERM, "setxattrat": errno.EPERM,
    "removexattrat": errno.EPERM, "utime": errno.EPERM, "utimes": errno.EPERM,
    "futimesat": errno.EPERM, "utimensat": errno.EPERM,
}

CLONE_THREAD = 0x00010000
#: CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET. (CLONE_NEWTIME,
#: 0x80, overlaps clone()'s exit-signal byte; it only works via clone3 and
#: unshare, which are refused anyway.)
CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 \
    | 0x10000000 | 0x20000000 | 0x40000000
PROT_EXEC = 0x4
SHM_EXEC = 0o100000

_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JGE_K = 0x35
_BPF_JSET_K = 0x45
_BPF_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_OFF_NR = 0
_OFF_ARCH = 4


def _off_arg(index: int) -> int:
    """Offset of the low 32 bits of args[index] in seccomp_data (little
    endian). Only the low word is checked: the kernel reads int-typed
    arguments (pids) from it, and all flags we test live there."""
    return 16 + 8 * index


Insn = tuple[int, int, int, int]  # code, jt, jf, k


def _ret(value: int) -> Insn:
    return (_BPF_RET_K, 0, 0, value)


def _ret_errno(err: int) -> Insn:
    return _ret(_RET_ERRNO | (err & 0xFFFF))


def _load(offset: int) -> Insn:
    return (_BPF_LD_W_ABS, 0, 0, offset)


def _if_nr(nr: int, body: list[Insn]) -> list[Insn]:
    """``if nr == K: body`` -- body must end in a return."""
    return [(_BPF_JEQ_K, 0, len(body), nr), *body]


def _deny_if_flag(arg: int, mask: int, err: int) -> list[Insn]:
    """Return errno when ``args[arg] & mask`` is non-zero, else allow."""
    return [_load(_off_arg(arg)), (_BPF_JSET_K, 0, 1, mask), _ret_errno(err),
            _ret(_RET_ALLOW)]


def _allow_if_arg_in(arg: int, values: list[int], err: int) -> list[Insn]:
    """Allow when the low word of ``args[arg]`` is one of ``values``."""
    body: list[Insn] = [_load(_off_arg(arg))]
    for i, value in enumerate(values):
        body.append((_BPF_JEQ_K, len(values) - i, 0, value & 0xFFFFFFFF))
    body += [_ret_errno(err), _ret(_RET_ALLOW)]
    return body


def _clone_rule() -> list[Insn]:
    """Threads yes (CLONE_THREAD), processes no (EAGAIN), namespaces no."""
    return [_load(_off_arg(0)), (_BPF_JSET_K, 0, 1, CLONE_NAMESPACES),
            _ret_errno(errno.EPERM), (_BPF_JSET_K, 1, 0, CLONE_THREAD),
            _ret_errno(errno.EAGAIN), _ret(_RET_ALLOW)]


def _signal_rules(nrs: dict[str, int], pid: int, own_group: bool) -> list[Insn]:
    """Signals only to this process (used when Landlock has no signal scope).

    kill(0)/kill(-pid) reach our process group, which is ours alone only if
    we lead it (the caller's setsid()).
    """
    kill_ok = [pid] + ([0, -pid] if own_group else [])
    prog: list[Insn] = []
    prog += _if_nr(nrs["kill"], _allow_if_arg_in(0, kill_ok, errno.EPERM))
    for name in ("tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open"):
        prog += _if_nr(nrs[name], _allow_if_arg_in(0, [pid], errno.EPERM))
    prog += _if_nr(nrs["tkill"], [_ret_errno(errno.EPERM)])
    return prog


#: Calls that act on another process chosen by pid in args[0]. Same-uid
#: processes pass the kernel's own checks (Landlock does not cover these),
#: so without this a child could set the worker's RLIMIT_CPU to 1 with
#: prlimit64, or pin it to one CPU.
_PID_TARGETED = ("prlimit64", "sched_setaffinity", "sched_setscheduler",
                 "sched_setparam", "sched_setattr", "migrate_pages", "move_pages")
_PRIO_PROCESS = 0
_IOPRIO_WHO_PROCESS = 1


def _self_target_rules(nrs: dict[str, int], pid: int) -> list[Insn]:
    """Allow the pid-targeted calls on this process only (0 means self).

    setpriority/ioprio_set also take a process-group or user selector,
    which would reach the worker too, so only the per-process form passes.
    """
    prog: list[Insn] = []
    for name in _PID_TARGETED:
        prog += _if_nr(nrs[name], _allow_if_arg_in(0, [0, pid], errno.EPERM))
    for name, per_process in (("setpriority", _PRIO_PROCESS),
                              ("ioprio_set", _IOPRIO_WHO_PROCESS)):
        prog += _if_nr(nrs[name], [
            _load(_off_arg(0)), (_BPF_JEQ_K, 0, 3, per_process),
            _load(_off_arg(1)), (_BPF_JEQ_K, 2, 0, 0), (_BPF_JEQ_K, 1, 0, pid),
            _ret_errno(errno.EPERM), _ret(_RET_ALLOW)])
    return prog


def _seccomp_program(arch: str, *, no_exec_maps: bool, pid: int,
                     guard_signals: bool = False, own_group: bool = False,
                     ) -> list[Insn]:
    """Assemble the classic-BPF deny-list for ``arch``.

    Foreign-arch syscalls (i386 ``int 0x80`` on x86_64) and x32 numbers are
    refused outright: a filter that only knows x86_64 numbers would
    otherwise let them through. The arg-checked calls come first because
    mmap/mprotect are hot; every other syscall's verdict does not depend on
    its arguments, so the kernel caches it and skips the filter.
    """
    nrs = _SYSCALLS[arch]
    prog: list[Insn] = [_load(_OFF_ARCH), (_BPF_JEQ_K, 1, 0, _AUDIT_ARCH[arch]),
                        _ret_errno(errno.EPERM), _load(_OFF_NR)]
    if arch == "x86_64":
        prog += [(_BPF_JGE_K, 0, 1, _X32_SYSCALL_BIT), _ret_errno(errno.EPERM)]
    if no_exec_maps:
        for name in ("mmap", "mprotect", "pkey_mprotect"):
            prog += _if_nr(nrs[name], _deny_if_flag(2, PROT_EXEC, errno.EPERM))
        prog += _if_nr(nrs["shmat"], _deny_if_flag(2, SHM_EXEC, errno.EPERM))
    prog += _if_nr(nrs["clone"], _clone_rule())
    for name, err in _DENY.items():
        if name in nrs:
            prog += _if_nr(nrs[name], [_ret_errno(err)])
    prog += _self_target_rules(nrs, pid)
    if guard_signals:
        prog += _signal_rules(nrs, pid, own_group)
    prog.append(_ret(_RET_ALLOW))
    return prog


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8),
                ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _seccomp_arch() -> str | None:
    """The syscall table this *process* uses, or None if we do not know it.

    A 32-bit Python on a 64-bit kernel reports the kernel's machine, so the
    pointer size and byte order are checked too.
    """
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if machine in _SYSCALLS and struct.calcsize("P") == 8 and sys.byteorder == "little":
        return machine
    return None


_SECCOMP_FILTER_FLAG_SPEC_ALLOW = 1 << 2


def _install_filter(arch: str, prog: list[Insn]) -> None:
    """Load the filter. SPEC_ALLOW keeps kernels before 5.16 from forcing
    the speculative-store-bypass mitigation (a compute slowdown that
    protects nothing here: the child may read its own memory anyway)."""
    if len(prog) > 4096:
        raise RuntimeError(f"seccomp program too long: {len(prog)}")
    insns = (_SockFilter * len(prog))(*[_SockFilter(c, t, f, k) for c, t, f, k in prog])
    fprog = _SockFprog(len(prog), insns)
    try:
        _syscall(_NR_SECCOMP[arch], 1, _SECCOMP_FILTER_FLAG_SPEC_ALLOW,
                 ctypes.byref(fprog))
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EPERM):
            raise
        _prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))


def _seccomp_unavailable(status: dict[str, str]) -> str | None:
    if _seccomp_arch() is None:
        return f"no syscall table for {platform.machine()} ({struct.calcsize('P') * 8}-bit)"
    if "Seccomp" not in status:
        return "the kernel was built without seccomp"
    return None


def _apply_seccomp(policy: Policy, *, guard_signals: bool,
                   status: dict[str, str] | None = None) -> str | None:
    """Install the deny-list; return None or why it is unavailable.

    ``guard_signals`` adds kill/tgkill/... checks for kernels whose Landlock
    cannot scope signals (ABI < 6), so the child still cannot kill the worker.
    The pid baked into the filter is this process's: call it in the child.
    """
    status = status if status is not None else _proc_status()
    reason = _seccomp_unavailable(status)
    if reason:
        return reason
    arch = _seccomp_arch()
    assert arch is not None
    pid = os.getpid()
    prog = _seccomp_program(arch, no_exec_maps=not policy.cuda,
                            guard_signals=guard_signals, pid=pid,
                            own_group=os.getpgrp() == pid)
    try:
        _install_filter(arch, prog)
    except OSError as exc:
        # EINVAL from both entry points: CONFIG_SECCOMP without
        # CONFIG_SECCOMP_FILTER, or a sandbox that refuses nested filters.
        # (A malformed program would also say EINVAL; the test suite checks
        # that seccomp is active wherever the kernel lists Seccomp_filters.)
        return str(exc)
    return None


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def _set_no_new_privs() -> None:
    """Required by Landlock and seccomp for unprivileged use, and it makes
    sure nothing can regain privileges through a setuid binary."""
    _prctl(PR_SET_NO_NEW_PRIVS, 1)


def apply(policy: Policy) -> list[str]:
    """Contain the calling process; return the names of the active layers.

    Call it in the forked child, after its fds are set up and before any
    learner code runs. The process must be single-threaded: Landlock and
    seccomp bind only the calling thread here, and user namespaces refuse
    threaded callers. A layer the kernel refuses is skipped (degrade, do not
    fail); an error that can only come from a bug here is raised.
    """
    limit(policy)
    return ["rlimits", *isolate(policy)]


def limit(policy: Policy) -> None:
    """The rlimits layer alone: the per-job limits, set once the job is known.

    Lowering a limit needs no capability and passes the seccomp filter, so a
    spare child may call it after isolate(), when its job arrives.
    """
    _apply_rlimits(policy, _proc_status())


def isolate(policy: Policy) -> list[str]:
    """Every layer but the rlimits (see apply()); return the active ones.

    Nothing here depends on the job, so a spare child forked before its job
    exists installs them while it waits.
    """
    status = _proc_status()
    threads = int(status.get("Threads", "1"))
    if threads != 1:
        raise RuntimeError(f"apply() needs a single-threaded process, found {threads} "
                           "threads: call it in the child right after fork()")
    os.chdir(policy.scratch)
    active = []
    if _enter_netns() is None:
        active.append("netns")
    if _drop_caps() is None:
        active.append("caps")
    _set_no_new_privs()
    abi, _ = _apply_landlock(policy)
    if abi:
        active.append("landlock")
    if _apply_seccomp(policy, guard_signals=abi < 6, status=status) is None:
        active.append("seccomp")
        if not policy.cuda:
            _avoid_jit_kernels()
    return active


def _avoid_jit_kernels() -> None:
    """Route torch's CPU convolutions and RNNs away from oneDNN.

    oneDNN generates machine code at run time for every new shape, which the
    seccomp layer's executable-mapping ban refuses ("could not create a
    primitive"); torch's native kernels are compiled ahead of time and give
    the same results. Nothing is imported here: torch is touched only if the
    worker already loaded it.
    """
    torch = sys.modules.get("torch")
    backends = getattr(torch, "backends", None)
    mkldnn = getattr(backends, "mkldnn", None)
    if mkldnn is not None:
        mkldnn.enabled = False


_probe_cache: dict[str, str] | None = None


def probe() -> dict[str, str]:
    """Which layers this machine supports: name -> "active" or
    "unavailable: <reason>".

    Namespaces and seccomp can only be known by trying (AppArmor may refuse
    a user namespace that sysctls allow), so a throwaway child is forked and
    tries each layer; the caller is untouched. The answer is cached.
    """
    global _probe_cache
    if _probe_cache is None:
        _probe_cache = _probe_in_child()
    return dict(_probe_cache)


def _probe_in_child() -> dict[str, str]:
    import json
    import tempfile
    with tempfile.TemporaryDirectory(prefix="tutor-probe-") as scratch:
        read_fd, write_fd = os.pipe()
        try:
            pid = os.fork()
        except OSError as exc:
            os.close(read_fd)
            os.close(write_fd)
            return {name: f"unavailable: cannot fork a probe child: {exc}" for name in LAYERS}
        if pid == 0:  # pragma: no cover - runs in the child
            try:
                os.close(read_fd)
                report = _probe_layers(Policy(Path(scratch), (), 5, 1 << 30))
                os.write(write_fd, json.dumps(report).encode())
            finally:
                os._exit(0)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as pipe:
            raw = pipe.read()
        os.waitpid(pid, 0)
    try:
        result = json.loads(raw)
    except ValueError:
        result = {}
    return {name: result.get(name, "unavailable: the probe child crashed")
            for name in LAYERS}


def _probe_layers(policy: Policy) -> dict[str, str]:
    """Try every layer for real, in apply() order (runs in the probe child)."""
    def mark(reason: str | None) -> str:
        return ACTIVE if reason is None else f"unavailable: {reason}"

    report: dict[str, str] = {}
    status = _proc_status()
    for name, step in (
        ("rlimits", lambda: _apply_rlimits(policy, status)),
        ("netns", _enter_netns),
        ("caps", _drop_caps),
        ("landlock", lambda: (_set_no_new_privs(), _apply_landlock(policy)[1])[1]),
        ("seccomp", lambda: _apply_seccomp(policy, guard_signals=False, status=status)),
    ):
        try:
            report[name] = mark(step())
        except Exception as exc:  # a probe reports, it never raises
            report[name] = f"unavailable: {type(exc).__name__}: {exc}"
    return report


def _native_module_dirs() -> list[Path]:
    """lib-dynload and numpy: the C extensions learner code (or torch, e.g.
    torch.optim's first use imports numpy.fft through torch._dynamo) may
    import lazily. Found without importing anything."""
    import importlib.util
    dirs = [Path(sysconfig.get_paths()["stdlib"]) / "lib-dynload"]
    spec = importlib.util.find_spec("numpy")
    if spec is not None and spec.submodule_search_locations:
        dirs += [Path(p) for p in spec.submodule_search_locations]
    return dirs


def preload_native_modules(directories: Iterable[str | os.PathLike[str]] | None = None,
                           ) -> list[str]:
    """dlopen every ``*.so`` under ``directories`` (default: the stdlib's
    lib-dynload and numpy); return the ones that failed to load.

    Call it once in the warm worker, before forking children. On CPU the
    seccomp layer refuses new executable mappings, so a child cannot import
    a C extension the worker has not mapped (``import sqlite3`` fails, and
    so does torch.optim's first step). dlopen of an already-mapped file maps
    nothing new, so preloading makes these importable in the child. No
    module is imported and no Python code runs; it costs ~70 ms once.
    """
    if directories is None:
        directories = _native_module_dirs()
    failed = []
    for directory in directories:
        for path in sorted(Path(directory).rglob("*.so")):
            try:
                ctypes.CDLL(str(path), mode=os.RTLD_NOW)
            except OSError:
                failed.append(str(path))
    return failed


def warm_jit_kernels() -> None:
    """Generate, in the worker, the machine code torch's CPU kernels JIT.

    Why: on CPU the seccomp layer refuses every new executable mapping, so a
    kernel that torch generates at run time cannot be made in a child. fbgemm
    JITs (asmjit) the int64 matrix product behind ``a @ b``, ``mm``, ``addmm``
    and ``matmul`` of 2-D int64 tensors; without this the child got no
    executable memory and jumped to a null kernel (SIGSEGV). fbgemm builds
    exactly two such kernels, whatever the shapes (fixed cache blocks, with
    and without accumulation), and caches them for the life of the process,
    so making them here once means every forked child already has them:
    nothing new is mapped, and the layer keeps its purpose. Nothing is
    imported here: torch is touched only if the worker already loaded it.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return
    square = torch.ones(2, 2, dtype=torch.int64)
    torch.mm(square, square)  # accumulate=False: both kernels
    torch.addmm(square, square, square)  # accumulate=True


# --------------------------------------------------------------------------
# Read-only allow-list
# --------------------------------------------------------------------------

#: Never readable by learner code: the installed package holds the lessons'
#: reference solutions (also its editable-install finder and metadata).
_HIDDEN = re.compile(r"(^|[_.\-])(torch_)?tutor([_.\-]|$)", re.IGNORECASE)

#: The /proc/self entries a child reads (its own limits, sizes, threads and
#: fds). Not ``mem``, ``pagemap``, ``environ`` or the rest: the child's own
#: memory is inherited from the worker and must not be read back by address.
PROC_SELF_READS: tuple[str, ...] = tuple(
    f"/proc/self/{name}" for name in
    ("status", "stat", "statm", "maps", "cmdline", "comm", "limits", "cgroup", "fd", "task"))

#: Devices, proc and sys entries torch and CPython read after start-up.
#: Nothing here is secret.
SYSTEM_READS: tuple[str, ...] = (
    "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full",
    *PROC_SELF_READS, "/proc/cpuinfo", "/proc/meminfo", "/proc/stat",
    "/sys/devices/system/cpu", "/sys/devices/system/node",
    "/etc/localtime", "/usr/share/zoneinfo",
)


def _is_hidden(name: str) -> bool:
    return bool(_HIDDEN.search(name))


def _interpreter_dirs() -> list[Path]:
    """The stdlib and site-packages directories of this interpreter.

    Only sys.path entries that live under the interpreter's prefixes, or are
    site-packages directories, count: sys.path may also hold the current
    directory or a repository root (pytest adds one), which must never
    become readable wholesale.
    """
    prefixes = {Path(p).resolve() for p in
                (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    sites = set()
    for getter in (site.getsitepackages, lambda: [site.getusersitepackages()]):
        try:
            sites.update(Path(p).resolve() for p in getter())
        except Exception:
            continue
    paths = sysconfig.get_paths()
    candidates = [paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")]
    candidates += sys.path
    dirs: list[Path] = []
    for entry in candidates:
        if not entry:
            continue
        path = Path(entry).resolve()
        under_prefix = any(path == p or p in path.parents for p in prefixes)
        if (under_prefix or path in sites) and path.exists() and path not in dirs:
            dirs.append(path)
    return dirs


_PACKAGE_DIRS = frozenset({"site-packages", "dist-packages"})


def _descend(entry: Path, holes: set[Path]) -> bool:
    """Whether ``entry`` may hide an excluded name one level down: a package
    directory (a stdlib dir holds the base interpreter's site-packages) or
    a listed directory, or a parent of one."""
    if entry.name in _PACKAGE_DIRS or entry in holes:
        return entry.is_dir()
    return entry in _ancestors(frozenset(holes))


@functools.lru_cache(maxsize=8)
def _ancestors(holes: frozenset[Path]) -> frozenset[Path]:
    return frozenset(a for h in holes for a in h.parents)


def _needs_split(directory: Path, holes: set[Path]) -> bool:
    """True when allowing ``directory`` whole would allow an excluded name."""
    try:
        entries = list(directory.iterdir())
    except OSError:
        return False
    return any(_is_hidden(e.name) for e in entries) or any(
        _descend(e, holes) and _needs_split(e, holes) for e in entries)


def _expand(directory: Path, holes: set[Path]) -> list[Path]:
    """``directory`` itself, or its entries minus excluded ones, recursively.

    Splitting only where needed keeps the Landlock rule count (and apply()
    time) low: the stdlib stays one rule, site-packages becomes one rule per
    entry.
    """
    if not directory.is_dir():
        return [] if _is_hidden(directory.name) else [directory]
    if not _needs_split(directory, holes):
        return [directory]
    result: list[Path] = []
    for entry in sorted(directory.iterdir()):
        if _is_hidden(entry.name):
            continue
        if _descend(entry, holes) and _needs_split(entry, holes):
            result += _expand(entry, holes)
        else:
            result.append(entry)
    return result


def default_read_only(python_paths: Iterable[str | os.PathLike[str]] | None = None,
                      ) -> tuple[Path, ...]:
    """Read-only allow-list for a child: interpreter directories (each
    entry except anything named tutor*/torch_tutor*) plus SYSTEM_READS.

    ``python_paths`` defaults to this interpreter's stdlib and site-packages
    directories. Pass only interpreter directories: a directory that holds a
    ``tutor`` entry is opened up entry by entry, so passing a repository
    root would expose its lessons and checks.
    """
    dirs = [Path(p).resolve() for p in python_paths] if python_paths is not None \
        else _interpreter_dirs()
    holes = set(dirs)
    result: list[Path] = []
    for directory in dirs:
        if any(p == directory or p in directory.parents for p in result):
            continue  # already allowed through an ancestor
        for path in _expand(directory, holes):
            if path not in result:
                result.append(path)
    result += [Path(p) for p in SYSTEM_READS if Path(p) not in result]
    return tuple(result)
