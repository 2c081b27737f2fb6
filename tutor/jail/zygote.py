"""The warm worker: imports torch once, then forks one contained child per job.

Started by the grader with ``python -I`` and an empty environment, it never
holds a reference solution or a secret: a child inherits all of its memory.
It speaks length-prefixed frames (``wire``) on stdin/stdout with the grader:

    grader -> zygote   {"op": "run", job...}  blob = the inputs (wire payload)
    zygote -> grader   {"op": "result", exit status, timed_out, stdout, stderr, ...}
                       blob = the raw bytes the child wrote on its result channel

The zygote judges nothing; it enforces time and output caps, kills the child's
whole process tree, and passes the child's bytes on for the grader to parse.

Worker side: standard library, torch and ``tutor.jail`` only.
"""

from __future__ import annotations

import ctypes
import os
import select
import shutil
import signal
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from tutor.jail import frames, harness, layers, wire

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
RESULT_FD = 3
OUTPUT_CAP = 64 << 10
_libc = ctypes.CDLL(None, use_errno=True)


def main() -> None:
    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):  # nothing torch prints may corrupt the protocol
        os.dup2(devnull, fd)
    # No PDEATHSIG here: it follows the parent *thread*, and the grader may
    # start workers from a short-lived thread. The zygote ends when its stdin
    # closes, which happens when the grader exits in any way.
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1)
    init = frames.read_frame(proto_in)
    if init is None:
        return
    config = init[0]
    torch.set_num_threads(1)  # before any parallel work: forking after it deadlocks
    # Children may not map new native code (seccomp): map the C extensions a
    # lesson may import now, once, and pay torch's lazy costs here too.
    layers.preload_native_modules()
    layers.warm_jit_kernels()
    harness.warm_up()
    scratch_root = Path(config["scratch_root"])
    read_only = layers.default_read_only()  # interpreter dirs only: never the repository
    frames.write_frame(
        proto_out,
        {"op": "ready", "layers": layers.probe(), "torch": torch.__version__, "pid": os.getpid()},
    )
    while True:
        frame = frames.read_frame(proto_in)
        if frame is None:
            return
        job, blob = frame
        frames.write_frame(proto_out, *_run(job, blob, scratch_root, read_only, devnull))


def _run(job: dict[str, Any], blob: bytes, scratch_root: Path, read_only: tuple[Path, ...], devnull: int) -> tuple[dict[str, Any], bytes]:
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=scratch_root))
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        _child(job, blob, scratch, read_only, devnull, out_w, err_w, res_w)
    for fd in (out_w, err_w, res_w):
        os.close(fd)
    # Each case gets its own time limit, counted from the moment the child says
    # it starts that case; the whole run never exceeds the total.
    hard_deadline = started + float(job["deadline"])
    case_timeout = float(job["case_timeout"])
    deadline = min(hard_deadline, started + float(job["startup"]) + case_timeout)
    streams = {out_r: bytearray(), err_r: bytearray(), res_r: bytearray()}
    caps = {out_r: OUTPUT_CAP, err_r: OUTPUT_CAP, res_r: int(job["max_result_bytes"]) + (1 << 20)}
    overflow = {fd: False for fd in streams}
    status = None
    timed_out = False
    open_fds = set(streams)
    scanned = 0
    while True:
        if status is None:
            done, status_ = os.waitpid(pid, os.WNOHANG)
            if done:
                status = status_
        remaining = deadline - time.monotonic()
        if remaining <= 0 and status is None:
            timed_out = True
            _kill_tree(pid)
            _, status = os.waitpid(pid, 0)
        if not open_fds or (status is not None and (timed_out or remaining <= -0.5)):
            break
        wait = 0.05 if status is not None else min(max(remaining, 0.0), 0.05)
        ready, _, _ = select.select(list(open_fds), [], [], wait)
        for fd in ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                open_fds.discard(fd)
                continue
            room = caps[fd] - len(streams[fd])
            if room > 0:
                streams[fd] += chunk[:room]
            if len(chunk) > room:
                overflow[fd] = True
                if fd == res_r:  # a result larger than allowed: stop now
                    _kill_tree(pid)
            if fd == res_r:
                starts, scanned = _count_case_starts(streams[res_r], scanned)
                if starts:
                    deadline = min(hard_deadline, time.monotonic() + case_timeout)
        if status is not None and not ready and not open_fds:
            break
    _kill_tree(pid)
    if status is None:
        _, status = os.waitpid(pid, 0)
    for fd in streams:
        os.close(fd)
    _reap_strays()
    shutil.rmtree(scratch, ignore_errors=True)
    header = {
        "op": "result",
        "exit_code": os.waitstatus_to_exitcode(status),
        "timed_out": timed_out,
        "stdout": _text(streams[out_r], overflow[out_r]),
        "stderr": _text(streams[err_r], overflow[err_r]),
        "result_overflow": overflow[res_r],
        "duration_ms": int((time.monotonic() - started) * 1000),
    }
    return header, bytes(streams[res_r])


def _count_case_starts(buffer: bytearray, pos: int) -> tuple[int, int]:
    """Case-start markers in the frames completed since ``pos``; the new scan position."""
    try:
        found, used = frames.scan_frames(bytes(buffer[pos:]))
    except frames.WireError:  # garbage on the channel: the grader will refuse the run
        return 0, len(buffer)
    return sum(header.get("kind") == "case_start" for header, _ in found), pos + used


def _text(data: bytearray, cut: bool) -> str:
    text = data.decode("utf-8", errors="replace")
    return text + ("\n[... output cut: too long ...]\n" if cut else "")


def _kill_tree(pid: int) -> None:
    """SIGKILL the child's process group and any process that outlived it."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _reap_strays(exclude=pid)


def _reap_strays(exclude: int | None = None) -> None:
    """Kill and reap every descendant that is left (we are their subreaper)."""
    for _ in range(50):
        children = [c for c in _children() if c != exclude]
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
    me = os.getpid()
    found = []
    try:
        for entry in os.scandir("/proc/self/task"):
            try:
                text = Path(entry.path, "children").read_text()
            except OSError:
                continue
            found += [int(p) for p in text.split()]
        return found
    except OSError:
        pass
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def _child(job: dict[str, Any], blob: bytes, scratch: Path, read_only: tuple[Path, ...], devnull: int, out_w: int, err_w: int, res_w: int) -> None:
    """Contain this process, then hand over to the harness. Never returns."""
    code = 70
    try:
        os.setsid()
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.dup2(res_w, RESULT_FD)
        os.closerange(RESULT_FD + 1, 1 << 16)
        os.chdir(scratch)
        os.environ.clear()
        os.environ.update({"HOME": str(scratch), "TMPDIR": str(scratch), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
        tempfile.tempdir = str(scratch)
        report = harness.Report(RESULT_FD)
        device = job.get("device", "cpu")
        # Inputs are decoded before any learner code exists, and before the
        # jail closes (CUDA opens its device files here).
        payload = wire.decode(job["payload"], blob, device=device)
        active = layers.apply(
            layers.Policy(
                scratch=scratch,
                read_only=read_only,
                cpu_seconds=max(1, int(job["deadline"]) + 1),
                memory_bytes=int(job["memory_mb"]) << 20,
                cuda=device.startswith("cuda"),
            )
        )
        torch.set_num_threads(1)
        report.send({"kind": "layers", "active": active})
        stdlib = tuple({sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]})
        auditor = harness.Auditor(report, job["filename"], bool(job.get("allow_internals")), stdlib)
        sys.addaudithook(auditor)
        harness.run(job, payload, report, auditor)
        code = 0
    except BaseException:  # noqa: BLE001 - the child must never return into the zygote's loop
        try:
            os.write(2, b"tutor harness failure\n")
        except OSError:
            pass
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:  # noqa: BLE001
                pass
        os._exit(code)


if __name__ == "__main__":
    main()
