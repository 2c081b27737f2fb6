"""The worker's memory gathered into huge pages (``tutor.jail.hugepages``), in a real process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tutor.jail import hugepages

MAPS = """\
55d0c0000000-55d0c0a00000 rw-p 00000000 00:00 0                          [heap]
7f0000100000-7f0001500000 rw-p 00000000 00:00 0 
7f0002000000-7f0002100000 rw-p 00000000 00:00 0 
7f0003000000-7f0003400000 r--p 00000000 00:00 0 
7f0004000000-7f0004800000 rw-p 00001000 08:01 1234                       /usr/lib/libtorch_cpu.so
7ffc00000000-7ffc00400000 rw-p 00000000 00:00 0                          [stack]
"""


def test_only_private_writable_memory_no_file_backs_in_aligned_steps() -> None:
    ranges = list(hugepages.anonymous_ranges(MAPS))
    mib = 1 << 20
    assert ranges == [
        (0x55D0C0000000, 8 * mib), (0x55D0C0800000, 2 * mib),  # the heap: 10 MiB in steps of 8
        # aligned inwards to 2 MiB: 0x...0100000-0x...1500000 holds 0x...0200000-0x...1400000
        (0x7F0000200000, 8 * mib), (0x7F0000A00000, 8 * mib), (0x7F0001200000, 2 * mib),
    ]
    # the 1 MiB region holds no whole huge page; read-only, file-backed and the stack are left alone
    assert all(start % hugepages.HUGE == 0 and length % hugepages.HUGE == 0 for start, length in ranges)


def test_a_waiting_job_stops_it_until_the_worker_has_been_busy_a_while() -> None:
    collapser = hugepages.Collapser()
    collapser.pending = [(0, hugepages.HUGE)]  # address 0: madvise refuses it, harmlessly
    read, write = os.pipe()
    os.write(write, b"job")
    collapser.while_idle(read)
    assert collapser.pending, "a job is waiting: nothing is collapsed before it"
    for _ in range(collapser.PATIENCE):
        collapser.job_done()
    collapser.while_idle(read)
    assert not collapser.pending, "busy job after job: the rest is done at once"
    os.close(read)
    os.close(write)


PROBE = """
import os, pathlib
from tutor.jail import hugepages
def huge():
    return int(next(l for l in pathlib.Path('/proc/self/smaps_rollup').read_text().splitlines()
                    if l.startswith('AnonHugePages:')).split()[1])
keep = [[i, str(i)] for i in range(600_000)]  # ~100 MiB of Python objects in pymalloc's arenas
before = huge()
collapser = hugepages.Collapser()
collapser.renew()
read, _ = os.pipe()
collapser.while_idle(read)
print(before, huge(), len(collapser.pending))
"""


def test_idle_worker_memory_becomes_huge_pages() -> None:
    mode = open("/sys/kernel/mm/transparent_hugepage/enabled").read() if os.path.exists(
        "/sys/kernel/mm/transparent_hugepage/enabled") else "[never]"
    if "[never]" in mode or tuple(map(int, os.uname().release.split(".")[:2])) < (6, 1):
        pytest.skip("no transparent huge pages, or no MADV_COLLAPSE (Linux 6.1)")
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout.split()
    before, after, left = map(int, out)
    assert left == 0
    assert after - before >= 32 << 10, (before, after)  # kB: at least 32 MiB of it gathered
