"""What one sandboxed child may do, and the layers' names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
