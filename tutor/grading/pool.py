"""The grader's side of the sandbox: warm workers, started lazily, restarted when they die.

Each ``Worker`` is one zygote process (``tutor.jail.zygote``), started fresh
with ``python -I`` and an empty environment: never forked from the grader,
which holds references and the caller's secrets. A ``Pool`` keeps one worker
per job slot; a worker serves one job at a time.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import tutor
from tutor.jail import frames

#: The job fields the zygote itself needs (time and size limits); the rest is the child's.
_CONTROL = ("deadline", "case_timeout", "startup", "max_result_bytes")
START_TIMEOUT = 120.0  # importing torch on a cold, busy machine can take a while
GRACE = 10.0  # the zygote enforces job deadlines; this only guards the zygote itself


@dataclass
class RunResult:
    """What the zygote saw of one job: process facts plus the raw result channel bytes."""

    exit_code: int
    timed_out: bool
    stdout: str
    stderr: str
    result: bytes
    result_overflow: bool = False
    duration_ms: int = 0
    worker_lost: str | None = None  # the zygote itself died or hung
    layers: list[str] = field(default_factory=list)


def worker_env(device: str) -> dict[str, str]:
    """The whole environment a worker gets: nothing of the caller's (no tokens, no paths)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "MALLOC_ARENA_MAX": "2",
        "OMP_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        # Lets torch ask about CUDA without creating a context, so children can fork.
        "PYTORCH_NVML_BASED_CUDA_CHECK": "1",
    }
    if device == "cpu":
        # Transparent huge pages for the worker's heap: fork copies one page
        # table entry per 2 MiB instead of 512, about 0.7x the CPU of each
        # fork (README, Speed). Each child turns them off again before any
        # learner code runs (PR_SET_THP_DISABLE), so what the learner's code
        # allocates behaves as without this.
        env["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1"
    if device.startswith("cuda") and "CUDA_VISIBLE_DEVICES" in os.environ:
        env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
    return env


class Worker:
    def __init__(self, device: str, scratch_root: Path) -> None:
        self.device = device
        self.scratch_root = scratch_root
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}
        self._lock = threading.Lock()  # one job (or start) at a time

    def ensure_started(self) -> None:
        with self._lock:
            if self.proc is None or self.proc.poll() is not None:
                self.start()

    def start(self) -> None:
        package_parent = str(Path(tutor.__file__).resolve().parent.parent)
        bootstrap = (
            "import sys; sys.path.insert(0, sys.argv[1]); "
            "from tutor.jail.zygote import main; main()"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", bootstrap, package_parent],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=worker_env(self.device),
            cwd=self.scratch_root,
            start_new_session=True,
        )
        frames.write_frame(self.proc.stdin, {"op": "init", "scratch_root": str(self.scratch_root), "device": self.device})
        ready = self._read(START_TIMEOUT)
        if ready is None or ready[0].get("op") != "ready":
            self.stop()
            raise RuntimeError("the sandbox worker did not start")
        self.info = ready[0]

    def _read(self, timeout: float) -> tuple[dict[str, Any], bytes] | None:
        """Read one frame, giving up (and killing the worker) after ``timeout``.

        Straight from the pipe with select(), not through a timer thread per
        frame: a grade reads several frames, and a thread each cost more than
        the rest of the grader's reading.
        """
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        try:
            hlen, blen = frames.HEADER.unpack(_read_exact(fd, frames.HEADER.size, deadline))
            header = json.loads(_read_exact(fd, hlen, deadline))
            return header, _read_exact(fd, blen, deadline)
        except TimeoutError:
            self._kill()
            return None
        except (OSError, ValueError, EOFError):
            return None

    def run(self, job: dict[str, Any], blob: bytes, meanwhile: Callable[[], None] | None = None) -> RunResult:
        """Run one job; ``meanwhile`` is called once it is sent, while the child works."""
        with self._lock:
            return self._run(job, blob, meanwhile)

    def _run(self, job: dict[str, Any], blob: bytes, meanwhile: Callable[[], None] | None) -> RunResult:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        # The zygote reads only this control header; the job itself (source,
        # inputs) is one frame it moves to the child unread.
        control = {"op": "run", **{key: job[key] for key in _CONTROL}, "warm": job.get("warm", [])}
        try:
            frames.write_frame(self.proc.stdin, control, frames.pack_frame(job, blob))
        except OSError:
            self.stop()
            return RunResult(-1, False, "", "", b"", worker_lost="the sandbox worker stopped")
        if meanwhile is not None:
            meanwhile()
        streams = {"result": bytearray(), "stdout": bytearray(), "stderr": bytearray()}
        deadline = time.monotonic() + float(job["deadline"]) + GRACE
        while True:
            reply = self._read(max(0.1, deadline - time.monotonic()))
            if reply is None:
                self.stop()
                return RunResult(-1, False, "", "", b"", worker_lost="the sandbox worker stopped answering")
            header, data = reply
            if header.get("op") == "out" and header.get("stream") in streams:
                streams[header["stream"]] += data
                continue
            break
        return RunResult(
            exit_code=int(header["exit_code"]),
            timed_out=bool(header["timed_out"]),
            stdout=_text(streams["stdout"], bool(header.get("stdout_cut"))),
            stderr=_text(streams["stderr"], bool(header.get("stderr_cut"))),
            result=bytes(streams["result"]),
            result_overflow=bool(header["result_overflow"]),
            duration_ms=int(header["duration_ms"]),
        )

    def prewarm(self, stages: list[str]) -> None:
        """Ask the worker to pay these warm-up stages as soon as it can, before the jobs that need them."""
        try:
            with self._lock:
                if self.proc is None or self.proc.poll() is not None:
                    self.start()
                assert self.proc is not None
                frames.write_frame(self.proc.stdin, {"op": "warm", "warm": stages})
        except (OSError, RuntimeError):
            pass  # the next run() starts the worker again, or says why it cannot

    def floor(self, n: int, with_layers: bool) -> dict[str, Any]:
        """``n`` bare forks of the warm worker (``bench/run.py``'s floor): wall times and CPU per child."""
        with self._lock:
            if self.proc is None or self.proc.poll() is not None:
                self.start()
            assert self.proc is not None
            frames.write_frame(self.proc.stdin, {"op": "floor", "n": n, "layers": with_layers})
            reply = self._read(START_TIMEOUT)
            if reply is None:
                raise RuntimeError("the sandbox worker did not answer")
            return reply[0]

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def cancel_job(self) -> None:
        """Kill the child running this worker's job now; the job returns at once, as killed.

        The zygote forks one child per job, each in a session of its own;
        killing its process group ends the job without the zygote, so the
        worker stays warm for the next one. Where ``/proc`` does not list
        children, the whole worker is killed instead (the next job starts a
        fresh one: slower, but never a stale verdict).
        """
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        except OSError:
            self._kill()
            return
        for child in children:
            for kill in (os.killpg, os.kill):
                try:
                    kill(int(child), signal.SIGKILL)
                    break
                except (ProcessLookupError, PermissionError, ValueError):
                    continue

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass
        self._kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None


def _read_exact(fd: int, n: int, deadline: float) -> bytes:
    parts = []
    while n:
        if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            raise TimeoutError
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _text(data: bytearray, cut: bool) -> str:
    text = data.decode("utf-8", errors="replace")
    return text + ("\n[... output cut: too long ...]\n" if cut else "")


class Pool:
    """``size`` workers, each serving one job at a time; started on first use."""

    def __init__(self, device: str = "cpu", size: int = 1) -> None:
        self.device = device
        self.scratch_root = Path(tempfile.mkdtemp(prefix="tutor-sandbox-"))
        os.chmod(self.scratch_root, 0o700)
        self._free: list[Worker] = [Worker(device, self.scratch_root) for _ in range(max(1, size))]
        self._all = list(self._free)
        self._lock = threading.Condition()
        #: Called once, by the first run(), once its job is sent: work that would otherwise wait.
        self.meanwhile: Callable[[], None] | None = None

    def run(self, job: dict[str, Any], blob: bytes) -> RunResult:
        with self._lock:
            while not self._free:
                self._lock.wait()
            worker = self._free.pop()
            meanwhile, self.meanwhile = self.meanwhile, None
        try:
            return worker.run(job, blob, meanwhile)
        finally:
            with self._lock:
                self._free.append(worker)
                self._lock.notify()

    def warm(self) -> None:
        """Start every worker now, in the background, so the first grade does not wait."""
        for worker in self._all:
            threading.Thread(target=self._start_quietly, args=(worker,), daemon=True).start()

    def prewarm(self, stages: list[str]) -> None:
        """Every worker pays these warm-up stages as soon as it has started, in the background."""
        for worker in self._all:
            threading.Thread(target=worker.prewarm, args=(stages,), daemon=True).start()

    @staticmethod
    def _start_quietly(worker: Worker) -> None:
        try:
            worker.ensure_started()
        except RuntimeError:
            pass  # the next run() retries and reports it

    def cancel(self) -> None:
        """Kill the children of every job running now (``tutor start`` after a new save)."""
        for worker in self._all:
            worker.cancel_job()

    def layers(self) -> dict[str, str]:
        """The containment layers the workers report (starting one if none runs yet)."""
        worker = self._all[0]
        worker.ensure_started()
        return dict(worker.info.get("layers", {}))

    def close(self) -> None:
        for worker in self._all:
            with worker._lock:  # waits for a job or a background start in flight
                worker.stop()
        shutil.rmtree(self.scratch_root, ignore_errors=True)
