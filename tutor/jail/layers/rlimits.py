"""Layer 1, rlimits: CPU seconds, address space / data, file size, open files, cores, tasks."""

from __future__ import annotations

import resource

from tutor.jail.layers._sys import _kib
from tutor.jail.layers.policy import Policy

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
