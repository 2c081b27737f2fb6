"""Layer 3, caps: every capability dropped, so a root child cannot raise its own limits."""

from __future__ import annotations

import ctypes

from tutor.jail.layers._sys import _check, _libc

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
