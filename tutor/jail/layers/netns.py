"""Layer 2, netns: a new, empty network namespace (root: CLONE_NEWNET; else with a user namespace)."""

from __future__ import annotations

import os

from tutor.jail.layers._sys import _check, _libc

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
