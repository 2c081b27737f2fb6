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

import os
from pathlib import Path

from tutor.jail.layers._sys import _proc_status, _set_no_new_privs
from tutor.jail.layers.caps import _drop_caps
from tutor.jail.layers import landlock, seccomp
from tutor.jail.layers.landlock import _apply_landlock, landlock_abi
from tutor.jail.layers.netns import _enter_netns
from tutor.jail.layers.policy import ACTIVE, LAYERS, Policy
from tutor.jail.layers.readonly import default_read_only
from tutor.jail.layers.rlimits import _apply_rlimits
from tutor.jail.layers.seccomp import _apply_seccomp, _avoid_jit_kernels, preload_native_modules, warm_jit_kernels

__all__ = [
    "ACTIVE",
    "LAYERS",
    "Policy",
    "apply",
    "default_read_only",
    "isolate",
    "landlock_abi",
    "limit",
    "preload_native_modules",
    "prepare",
    "probe",
    "warm_jit_kernels",
]


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


def prepare(read_only: tuple[Path, ...], cuda: bool, top: int) -> int:
    """Make, once in the worker, what every child's isolate() would make alike:
    the seccomp program and the read-only Landlock rules (their fds go just
    below ``top``). Return the lowest fd used: a child keeps its fds from
    there up until its layers are on, and closes them then.
    """
    seccomp.prepare(cuda, guard_signals=landlock_abi() < 6)
    return landlock.prepare(read_only, top)


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
