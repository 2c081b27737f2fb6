"""Layer 5, seccomp: a deny-list of syscalls; on CPU no new executable mappings.

Also what makes that ban livable: the native modules and the kernels torch
generates at run time are mapped in the worker, before any child is forked.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import struct
import sys
import sysconfig
from pathlib import Path
from typing import Iterable

from tutor.jail.layers._sys import PR_SET_SECCOMP, SECCOMP_MODE_FILTER, _prctl, _proc_status, _syscall
from tutor.jail.layers.policy import Policy

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


#: Stands for the child's pid in a program built before the child exists:
#: never a pid (pid_max <= 2**22) and no other constant of the program.
_PID_STAND_IN = 0x3FFFFFF1


@functools.lru_cache(maxsize=8)
def _program_for(arch: str, no_exec_maps: bool, guard_signals: bool, own_group: bool,
                 ) -> tuple[ctypes.Array[_SockFilter], tuple[int, ...], tuple[int, ...]]:
    """The program as the kernel takes it, made once per worker (``prepare``), with
    the places where the pid and its negation go: each child fills in its own."""
    prog = _seccomp_program(arch, no_exec_maps=no_exec_maps, pid=_PID_STAND_IN,
                            guard_signals=guard_signals, own_group=own_group)
    if len(prog) > 4096:
        raise RuntimeError(f"seccomp program too long: {len(prog)}")
    insns = (_SockFilter * len(prog))(*[_SockFilter(c, t, f, k) for c, t, f, k in prog])
    plus = tuple(i for i, insn in enumerate(prog) if insn[3] == _PID_STAND_IN)
    minus = tuple(i for i, insn in enumerate(prog) if insn[3] == -_PID_STAND_IN & 0xFFFFFFFF)
    return insns, plus, minus


def prepare(cuda: bool, guard_signals: bool) -> None:
    """Make a child's program in the worker, before forking (children inherit it)."""
    arch = _seccomp_arch()
    if arch is not None:
        _program_for(arch, not cuda, guard_signals, True)


def _install(arch: str, insns: ctypes.Array[_SockFilter]) -> None:
    """Load the filter. SPEC_ALLOW keeps kernels before 5.16 from forcing
    the speculative-store-bypass mitigation (a compute slowdown that
    protects nothing here: the child may read its own memory anyway)."""
    fprog = _SockFprog(len(insns), insns)
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
    insns, plus, minus = _program_for(arch, not policy.cuda, guard_signals, os.getpgrp() == pid)
    for i in plus:
        insns[i].k = pid
    for i in minus:
        insns[i].k = -pid & 0xFFFFFFFF
    try:
        _install(arch, insns)
    except OSError as exc:
        # EINVAL from both entry points: CONFIG_SECCOMP without
        # CONFIG_SECCOMP_FILTER, or a sandbox that refuses nested filters.
        # (A malformed program would also say EINVAL; the test suite checks
        # that seccomp is active wherever the kernel lists Seccomp_filters.)
        return str(exc)
    return None


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
    ``embedding_bag``'s kernels are the other JIT on this path: see below.
    """
    # fbgemm's embedding kernels (``embedding_bag``'s sum and mean, every width, dtype
    # and index type) are JIT'd one per embedding width, so they cannot all be made
    # here. fbgemm also ships the same kernels compiled ahead of time ("autovec"),
    # chosen by these two variables, read when the first embedding kernel is asked
    # for: the child then maps nothing new. Same sums in the same order, same bits
    # (tests/test_opdb.py compares them with the JIT'd kernels outside).
    for name in ("FBGEMM_NO_ASMJIT", "FBGEMM_FORCE_AUTOVEC"):
        os.environ.setdefault(name, "1")
    torch = sys.modules.get("torch")
    if torch is None:
        return
    square = torch.ones(2, 2, dtype=torch.int64)
    torch.mm(square, square)  # accumulate=False: both kernels
    torch.addmm(square, square, square)  # accumulate=True
    # fbgemm reads the two variables once, at its first embedding kernel: ask for one here
    torch.nn.functional.embedding_bag(torch.zeros(1, dtype=torch.int64), torch.ones(1, 1), torch.zeros(1, dtype=torch.int64))
