"""The warm worker: imports torch once, then forks one contained child per job.

Started by the grader with ``python -I`` and an empty environment, it never
holds a reference solution or a secret: a child inherits all of its memory.
It speaks length-prefixed frames (``frames``) on stdin/stdout with the grader:

    grader -> zygote   {"op": "run", deadline, case_timeout, startup, max_result_bytes, warm}
                       blob = the job, itself one frame (job header, inputs), for the child only
    zygote -> grader   {"op": "out", "stream": "result" | "stdout" | "stderr"}  blob = bytes
                       ... then {"op": "result", exit status, timed_out, caps hit, duration}
    grader -> zygote   {"op": "warm", warm}: pay these warm-up stages now (a batch knows its tasks)
    grader -> zygote   {"op": "floor", n, layers}: fork n children that exit at once (bench/run.py)
    zygote -> grader   {"op": "floor", wall_ms: [...], cpu_ms}

A spare child is forked before its job exists and waits on a pipe; the job's
bytes move from the grader's pipe to the child's with splice(2), and the
child's output moves back the same way, so no job's data is ever in the
zygote's memory, which every later child inherits. The next spare is forked
after the reply, while the grader judges, so fork is off the critical path.

The zygote starts with only the warm-up every task needs; a job's ``warm``
names lazy costs its child would pay (torch._dynamo, sympy), which the
zygote pays once, before that job, and forks a spare that has them.

The zygote judges nothing; it enforces time and output caps, kills the child's
whole process tree, and passes the child's bytes on for the grader to parse.

Worker side: standard library, torch and ``tutor.jail`` only.
"""

from __future__ import annotations

import array
import ctypes
import fcntl
import gc
import json
import os
import resource
import select
import signal
import sys
import sysconfig
import tempfile
import termios
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from tutor.jail import channel, frames, harness, hugepages, layers, scratch, wire

PR_SET_PDEATHSIG = 1
PR_SET_THP_DISABLE = 41
PR_SET_CHILD_SUBREAPER = 36
OUTPUT_CAP = 64 << 10
_libc = ctypes.CDLL(None, use_errno=True)


def main() -> None:
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):  # nothing torch prints may corrupt the protocol
        os.dup2(devnull, fd)
    # No PDEATHSIG here: it follows the parent *thread*, and the grader may
    # start workers from a short-lived thread. The zygote watches its stdin
    # instead, also while a child runs: it closes when the grader exits in
    # any way (kill -9 included), and the zygote then kills its children.
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1)
    with os.fdopen(os.dup(proto_in), "rb", buffering=0) as stream:
        init = frames.read_frame(stream)
    if init is None:
        return
    config = init[0]
    torch.set_num_threads(1)  # before any parallel work: forking after it deadlocks
    # Children may not map new native code (seccomp): map the C extensions a
    # lesson may import now, once, make the kernels torch JITs, and pay
    # torch's lazy costs here too.
    layers.preload_native_modules()
    layers.warm_jit_kernels()
    harness.warm_up()  # what every task needs; the rest waits for a job that needs it
    read_only = layers.default_read_only()  # interpreter dirs only: never the repository
    device = str(config.get("device", "cpu"))
    high_fd = _high_fd()
    setup = _Setup(
        scratch_root=Path(config["scratch_root"]),
        read_only=read_only,
        device=device,
        devnull=devnull,
        stdlib=tuple({sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}),
        high_fd=high_fd,
        pid=os.getpid(),
        prepared_fd=layers.prepare(read_only, device.startswith("cuda"), top=high_fd - 2),
    )
    frames.write_frame(
        proto_out,
        {"op": "ready", "layers": layers.probe(), "torch": torch.__version__, "pid": os.getpid()},
    )
    # Everything made so far lives as long as the worker: out of the cyclic
    # GC's sight, a child's collections never touch (and copy) its pages.
    gc.freeze()
    spare = _fork_spare(setup)
    warmed: set[str] = set()
    collapser = hugepages.Collapser(enabled=device == "cpu")
    collapser.renew()
    try:
        while True:
            collapser.while_idle(proto_in)
            control = _read_control(proto_in)
            if control is None:
                return
            header, job_bytes = control
            if header.get("op") == "floor":  # bench/run.py: what one child costs at the least
                frames.write_frame(proto_out, _floor(setup, int(header["n"]), bool(header["layers"])))
                continue
            stages = [name for name in header.get("warm", ()) if name in harness.WARM_STAGES and name not in warmed]
            for name in stages:  # this job's lazy costs, once: then a spare that has them
                harness.WARM_STAGES[name]()
                warmed.add(name)
                gc.freeze()
            if stages:
                collapser.renew()
            if stages or (header.get("op") != "warm" and _died_waiting(spare)):  # (or killed while idle: a cancel)
                last, spare = spare, _fork_spare(setup)
                _finish(last, keep=spare.pid)
            if header.get("op") == "warm":  # stages a batch will need, asked for before its jobs
                continue
            if not _splice_exact(proto_in, spare.job_w, job_bytes):
                return
            os.close(spare.job_w)
            spare.job_w = -1
            alive = _supervise(spare, header, proto_in, proto_out)
            if not alive:
                _finish(spare)
                return
            # The next spare before the reaping: the killed child's exit
            # (unmapping a torch-sized address space) proceeds meanwhile, on
            # another core. Its scratch goes first, as before.
            scratch.remove_tree(str(spare.scratch))
            last, spare = spare, _fork_spare(setup)
            _finish(last, keep=spare.pid)
            collapser.job_done()
    finally:
        _kill_group(spare.pid)
        _reap_strays(spare.pid)
        os._exit(0)  # no interpreter teardown: children must not wait for it


@dataclass
class _Setup:
    """What every child needs, computed once in the zygote (not per child)."""

    scratch_root: Path
    read_only: tuple[Path, ...]
    device: str
    devnull: int
    stdlib: tuple[str, ...]
    high_fd: int
    pid: int
    prepared_fd: int  # the layers' prepared fds: from here up to the job's fd


@dataclass
class _Spare:
    """A child forked before its job exists, waiting for it on ``job_w``."""

    pid: int
    scratch: Path
    job_w: int
    pipes: dict[int, str]  # read end -> "result" | "stdout" | "stderr" | "progress"
    reaped: bool = False


def _high_fd() -> int:
    """The result channel's fd: high, and above the child's RLIMIT_NOFILE, so
    nothing in the child can dup2 onto it (redirect or replace it)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    top = 1024 if soft == resource.RLIM_INFINITY else min(soft, 1024)
    return max(top - 1, layers.Policy.max_open_files + 8)


def _fork_spare(setup: _Setup) -> _Spare:
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=setup.scratch_root))
    job_r, job_w = os.pipe()
    ends = {name: os.pipe() for name in ("stdout", "stderr", "result", "progress")}
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(job_w)
        for read_end, _ in ends.values():
            os.close(read_end)
        _child(setup, scratch, job_r, {name: w for name, (_, w) in ends.items()})
    os.close(job_r)
    for _, write_end in ends.values():
        os.close(write_end)
    return _Spare(pid, scratch, job_w, {r: name for name, (r, _) in ends.items()})


def _floor(setup: _Setup, n: int, with_layers: bool) -> dict[str, Any]:
    """Fork ``n`` children that exit at once (after the layers, with ``with_layers``):
    the floor a grade is measured against, wall and CPU milliseconds per child."""
    walls = []
    before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(n):
        scratch_dir = Path(tempfile.mkdtemp(prefix="floor-", dir=setup.scratch_root))
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            if with_layers:
                os.setsid()
                policy = layers.Policy(scratch=scratch_dir, read_only=setup.read_only, cpu_seconds=1, memory_bytes=1 << 30)
                layers.apply(policy)
            os._exit(0)
        os.waitpid(pid, 0)
        walls.append((time.perf_counter() - started) * 1000)
        scratch.remove_tree(str(scratch_dir))
    after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime for a, b in zip(before, after))
    return {"op": "floor", "wall_ms": walls, "cpu_ms": cpu * 1000 / max(1, n)}


def _read_control(fd: int) -> tuple[dict[str, Any], int] | None:
    """The next run request's header, and how many job bytes follow it.

    Only the small control header (deadlines, caps) is read into this process;
    the job itself is moved to the child with splice, never read here.
    """
    head = _read_exact(fd, frames.HEADER.size)
    if head is None:
        return None
    hlen, blen = frames.HEADER.unpack(head)
    if hlen > 1 << 16:
        return None
    raw = _read_exact(fd, hlen)
    if raw is None:
        return None
    return json.loads(raw), blen


def _read_exact(fd: int, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _splice_exact(src: int, dst: int, n: int) -> bool:
    """Move ``n`` bytes between pipes inside the kernel; False when ``src`` ends early."""
    while n:
        try:
            moved = os.splice(src, dst, n)
        except BrokenPipeError:  # the child died: drain the job to nowhere
            dst = _devnull_w()
            continue
        if not moved:
            return False
        n -= moved
    return True


_null: list[int] = []


def _devnull_w() -> int:
    if not _null:
        _null.append(os.open(os.devnull, os.O_WRONLY))
    return _null[0]


def _available(fd: int) -> int:
    buf = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return buf[0]


def _supervise(spare: _Spare, control: dict[str, Any], proto_in: int, proto_out: int) -> bool:
    """Forward the child's output to the grader until it is done; False if the grader is gone.

    Output moves pipe to pipe with splice, as "out" frames, so none of it is
    ever in this process's memory (a later child, forked from here, cannot
    find it). The verdict can go out as soon as the harness marks the run
    done: the child is killed at once (nothing the learner left behind runs)
    and reaped after the reply.
    """
    started = time.monotonic()
    hard_deadline = started + float(control["deadline"])
    case_timeout = float(control["case_timeout"])
    deadline = min(hard_deadline, started + float(control["startup"]) + case_timeout)
    caps = {"stdout": OUTPUT_CAP, "stderr": OUTPUT_CAP, "result": int(control["max_result_bytes"]) + (1 << 20)}
    sent = {name: 0 for name in caps}
    overflow = {name: False for name in caps}
    open_fds = set(spare.pipes)
    timed_out = done = False
    grader_gone = False
    while open_fds:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([*open_fds, proto_in], [], [], min(remaining, 1.0))
        if proto_in in ready and _available(proto_in) == 0:
            grader_gone = True
            break
        for fd in ready:
            if fd == proto_in:
                continue
            name = spare.pipes[fd]
            count = _available(fd)
            if not count:
                open_fds.discard(fd)
                continue
            if name == "progress":
                marks = os.read(fd, min(count, 4096))
                if channel.DONE in marks:
                    done = True
                if channel.CASE_START in marks:
                    deadline = min(hard_deadline, time.monotonic() + case_timeout)
                continue
            _pass_on(fd, proto_out, name, count, caps, sent, overflow)
            if overflow["result"]:  # a result larger than allowed: stop now
                break
        if done or overflow["result"]:
            break
    _kill_group(spare.pid)  # its strays, if any, are swept after the reply (_finish)
    if done:
        _drain(spare, proto_out, caps, sent, overflow)
        code = 0
    else:
        _drain(spare, proto_out, caps, sent, overflow)
        code = _reap(spare)
    if grader_gone:
        return False
    header = {
        "op": "result",
        "exit_code": code,
        "timed_out": timed_out,
        "stdout_cut": overflow["stdout"],
        "stderr_cut": overflow["stderr"],
        "result_overflow": overflow["result"],
        "duration_ms": int((time.monotonic() - started) * 1000),
    }
    try:
        frames.write_frame(proto_out, header)
    except OSError:
        return False
    return True


def _forward(fd: int, proto_out: int, name: str, count: int) -> None:
    """One "out" frame: its header from here, its ``count`` bytes spliced from ``fd``."""
    if count <= 0:
        return
    frames.write_frame_header(proto_out, {"op": "out", "stream": name}, count)
    _splice_exact(fd, proto_out, count)


def _drain(spare: _Spare, proto_out: int, caps: dict[str, int], sent: dict[str, int], overflow: dict[str, bool]) -> None:
    """Forward what the pipes still hold, without waiting for the child's exit."""
    for fd, name in spare.pipes.items():
        if name == "progress":
            continue
        try:
            count = _available(fd)
        except OSError:
            continue
        _pass_on(fd, proto_out, name, count, caps, sent, overflow)


def _pass_on(fd: int, proto_out: int, name: str, count: int, caps: dict[str, int], sent: dict[str, int],
             overflow: dict[str, bool]) -> None:
    """Forward ``count`` bytes up to the stream's cap; the rest goes to /dev/null and marks it cut."""
    room = max(0, caps[name] - sent[name])
    _forward(fd, proto_out, name, min(count, room))
    sent[name] += min(count, room)
    if count > room:
        overflow[name] = True
        _splice_exact(fd, _devnull_w(), count - room)


def _died_waiting(spare: _Spare) -> bool:
    try:
        pid, _ = os.waitpid(spare.pid, os.WNOHANG)
    except ChildProcessError:
        pid = spare.pid
    if pid:
        spare.reaped = True
    return bool(pid)


def _reap(spare: _Spare) -> int:
    """Wait for the (killed or exited) child; its exit code, or SIGKILL's if a stray sweep reaped it."""
    spare.reaped = True
    try:
        _, status = os.waitpid(spare.pid, 0)
    except ChildProcessError:
        return -signal.SIGKILL
    return os.waitstatus_to_exitcode(status)


def _finish(spare: _Spare, keep: int | None = None) -> None:
    """After the reply: reap the child and anything it left (all but ``keep``, the next spare), remove its scratch."""
    _kill_group(spare.pid)
    if not spare.reaped:
        _reap(spare)
    for fd in spare.pipes:
        os.close(fd)
    if spare.job_w >= 0:
        os.close(spare.job_w)
        spare.job_w = -1
    _reap_strays(keep)
    scratch.remove_tree(str(spare.scratch))  # (again: what it made while it was dying)


def _kill_group(pid: int) -> None:
    """SIGKILL the child's process group: the child and all it started, unless something left the
    group (only without seccomp's ban on fork), which ``_finish``'s sweep finds right after the reply."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _reap_strays(*exclude: int | None) -> None:
    """Kill and reap every descendant that is left (we are their subreaper), but ``exclude``."""
    for _ in range(50):
        children = [c for c in _children() if c not in exclude]
        if not children:
            break
        for child in children:
            for kill in (lambda: os.killpg(child, signal.SIGKILL), lambda: os.kill(child, signal.SIGKILL)):
                try:
                    kill()
                except (ProcessLookupError, PermissionError):
                    pass
        time.sleep(0.001)
        while True:
            try:
                reaped, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if not reaped:
                break


def _children() -> list[int]:
    """This process's children, from each thread's ``children`` file; where the kernel has none
    (no CONFIG_PROC_CHILDREN), from every process's parent in /proc.

    Plain fds, not pathlib: it runs after every job, and each object it
    touches is a copy-on-write fault while a spare shares the worker's pages.
    """
    found: list[int] = []
    try:
        for tid in os.listdir("/proc/self/task"):
            fd = os.open(f"/proc/self/task/{tid}/children", os.O_RDONLY)
            try:
                found += [int(p) for p in os.read(fd, 1 << 20).split()]
            finally:
                os.close(fd)
        return found
    except OSError:
        found = []
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def _child(setup: _Setup, scratch_dir: Path, job_r: int, ends: dict[str, int]) -> None:
    """Contain this process, wait for its job, then hand over to the harness. Never returns."""
    code = 70
    try:
        os.setsid()
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != setup.pid:  # the zygote died before PDEATHSIG was set
            os._exit(0)
        _libc.prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)  # the worker's huge pages are not the learner's
        os.dup2(setup.devnull, 0)
        os.dup2(ends["stdout"], 1)
        os.dup2(ends["stderr"], 2)
        result_fd, progress_fd, job_fd = setup.high_fd, setup.high_fd - 1, setup.high_fd - 2
        os.dup2(ends["result"], result_fd, inheritable=False)
        os.dup2(ends["progress"], progress_fd, inheritable=False)
        os.dup2(job_r, job_fd, inheritable=False)
        os.closerange(3, setup.prepared_fd)
        os.closerange(result_fd + 1, 1 << 16)
        os.chdir(scratch_dir)
        os.environ.clear()
        os.environ.update({"HOME": str(scratch_dir), "TMPDIR": str(scratch_dir), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
        tempfile.tempdir = str(scratch_dir)
        cuda = setup.device.startswith("cuda")
        policy = layers.Policy(scratch=scratch_dir, read_only=setup.read_only, cpu_seconds=1, memory_bytes=0, cuda=cuda)
        # Everything but the job's own limits is on before the job arrives.
        active = layers.isolate(policy)
        os.closerange(setup.prepared_fd, job_fd)  # the prepared rules are in: nothing of the worker's is left
        try:  # first-touch costs paid ahead, while no job waits
            harness.rehearse(lambda: bool(select.select([job_fd], [], [], 0)[0]))
        except Exception:  # noqa: BLE001 - a failed rehearsal costs speed only
            pass
        with os.fdopen(job_fd, "rb", buffering=0) as stream:
            received = frames.read_frame(stream)
        if received is None:
            os._exit(0)  # the zygote is closing: nothing to run
        wrapped, blob = received
        job = wrapped
        layers.limit(replace(policy, cpu_seconds=max(1, int(job["deadline"]) + 1),
                             memory_bytes=int(job["memory_mb"]) << 20))
        report = channel.Report(result_fd, progress_fd)
        payload = wire.decode(job["payload"], blob, device=setup.device)
        del wrapped, blob, received
        torch.set_num_threads(1)
        report.send({"kind": "layers", "active": ["rlimits", *active]})
        auditor = harness.Auditor(report, job["filename"], bool(job.get("allow_internals")), setup.stdlib)
        sys.addaudithook(auditor)
        harness.run(job, payload, report, auditor)
        code = 0
    except BaseException:  # noqa: BLE001 - the child must never return into the zygote's loop
        try:
            os.write(2, b"tutor harness failure\n")
        except OSError:
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
