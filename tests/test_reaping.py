"""The worker's last line of defence against a process left running: the sweep.

Seccomp forbids a child to fork, so a learner's code cannot start a process
that leaves its process group; where the layer is missing, the worker
(a child subreaper) finds every descendant that outlived the child and kills
it. Tested here in a fresh interpreter standing in for the worker, with a
daemon that left the group by ``setsid`` after a double fork.
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import os, signal, time
from tutor.jail import zygote

zygote._libc.prctl(zygote.PR_SET_CHILD_SUBREAPER, 1)
pid = os.fork()
if pid == 0:  # the child: leaves a daemon behind, in a session of its own, and exits
    os.setpgid(0, 0)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(60)
        os._exit(0)
    time.sleep(60)
daemon = None
for _ in range(200):  # until the daemon is ours (the middle process exited, it was reparented)
    daemon = next((c for c in zygote._children() if c != pid), None)
    if daemon is not None:
        break
    time.sleep(0.01)
print(daemon is not None and os.getpgid(daemon) != pid)
zygote._kill_group(pid)  # what the job's end does: the group only
os.waitpid(pid, 0)
print(daemon in zygote._children())  # (beside, maybe, a zombie it left)
zygote._reap_strays()  # what follows the reply
print(zygote._children())
try:
    os.kill(daemon, 0)
    print("alive")
except ProcessLookupError:
    print("gone")
"""


def test_a_daemon_that_left_the_group_is_found_and_killed() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split("\n")[:4] == ["True", "True", "[]", "gone"], out.stderr
