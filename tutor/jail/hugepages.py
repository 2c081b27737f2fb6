"""Gather the worker's memory into huge pages while it waits, so each fork copies less.

fork copies one page-table entry per 4 KiB page the worker has written: with
torch, sympy and dynamo loaded that is ~55,000 entries, and the child's exit
frees them again; it was most of a grade's CPU. glibc's ``hugetlb`` tunable
(``tutor.grading.pool.worker_env``) covers malloc's heap only, and only as it
grows; most of the worker's memory is Python's object arenas (1 MiB mmaps
that merge into large regions) and memory that was written before any
tunable could help. ``MADV_COLLAPSE`` (Linux 6.1) rewrites such a region into
2 MiB pages in place, after which fork copies one entry per 2 MiB.

It is a copy of each region (~3 ms per MiB here), so it is done while the
worker is idle (between the ready message and a job, between jobs), a few MiB
at a time, stopping as soon as a job arrives; a worker that gets job after job
(a batch) is never idle, so after a few jobs it does the rest at once, which
its next few dozen forks pay back. Regions the worker keeps writing are split
back into small pages when a child shares them; the rest stays collapsed. A
kernel without it (or a region it cannot take) answers an error, and nothing
changes. Each child turns huge pages off (``PR_SET_THP_DISABLE``) before
learner code runs, so what the learner allocates behaves as without this.
CPU workers only (``enabled``), as the heap's huge pages: not measured on CUDA.

Worker side: standard library only.
"""

from __future__ import annotations

import ctypes
import select
from collections.abc import Iterator

HUGE = 2 << 20
STEP = 8 << 20  # collapsed per call: ~25 ms, the longest a job can wait for it
MADV_HUGEPAGE = 14
MADV_COLLAPSE = 25

_libc = ctypes.CDLL(None, use_errno=True)
_libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def anonymous_ranges(maps: str) -> Iterator[tuple[int, int]]:
    """The 2 MiB-aligned parts of the private writable regions no file backs (``/proc/self/maps``)."""
    for line in maps.splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[1] != "rw-p" or (len(fields) > 5 and fields[5] != "[heap]"):
            continue
        start, end = (int(v, 16) for v in fields[0].split("-"))
        start, end = (start + HUGE - 1) & ~(HUGE - 1), end & ~(HUGE - 1)
        for at in range(start, end, STEP):
            yield at, min(STEP, end - at)


class Collapser:
    """Collapses the worker's memory in steps, while nothing is waiting on ``busy_fd``."""

    #: Jobs after which what is left is done at once, idle or not.
    PATIENCE = 4

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.pending: list[tuple[int, int]] = []
        self.jobs = 0

    def renew(self) -> None:
        """The worker's memory changed (started, or paid a warm-up stage): go over it all again."""
        if not self.enabled:
            return
        with open("/proc/self/maps", encoding="ascii") as maps:
            self.pending = list(anonymous_ranges(maps.read()))
        self.jobs = 0
        self.pending.reverse()  # popped from the end: lowest addresses (the oldest, coldest objects) first

    def job_done(self) -> None:
        self.jobs += 1

    def while_idle(self, busy_fd: int) -> None:
        """Collapse what is pending until ``busy_fd`` has something to read (or all is done)."""
        patient = self.jobs < self.PATIENCE
        while self.pending and not (patient and select.select([busy_fd], [], [], 0)[0]):
            start, length = self.pending.pop()
            _libc.madvise(start, length, MADV_HUGEPAGE)  # and khugepaged may keep it so later
            _libc.madvise(start, length, MADV_COLLAPSE)
