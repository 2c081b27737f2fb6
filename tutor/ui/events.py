"""Where the session's events come from: saved files, keys, typed lines, remote checks.

Like rustlings' ``watch/notify_event.rs`` and ``watch/terminal_event.rs``:
each source is a thread that only turns what it sees into events on one
:class:`Events` queue, so the state machine (:mod:`tutor.ui.session`) handles
them one at a time on the main thread and never blocks on a source.

Events are tuples whose first item names them:

    ("files", {realpath, ...})   files under the exercises folder changed
    ("key", "h")                 one key (cbreak mode); arrows and page keys by name
    ("line", "l 3")              one line (manual mode)
    ("eof",)                     standard input ended
    ("watch-failed", why)        the file watcher stopped working
    ("graded", token, verdict)   a check finished (see :class:`GradeRunner`)
    ("regraded", task, verdict)  a background re-grade of lost progress finished
    ("redraw",)                  the terminal came back (fg after Ctrl-Z)
"""

from __future__ import annotations

import collections
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable, TextIO

__all__ = ["Events", "GradeRunner", "watch_files", "read_lines", "KeyReader", "KEY_NAMES"]

# Watching: changes are grouped until the folder has been quiet this long, so
# an editor's several writes for one save (truncate + write, temp + rename,
# all within a few ms) make one check. watchfiles needs one to two of these
# steps to report a change, so it is kept short.
DEBOUNCE_MS = 20
MAX_GROUP_MS = 500
CANCEL_EVERY_S = 0.02

# Escape sequences of the keys the pager uses, by name.
KEY_NAMES = {
    b"\x1b[A": "up",
    b"\x1b[B": "down",
    b"\x1b[5~": "pgup",
    b"\x1b[6~": "pgdn",
    b"\x1bOA": "up",
    b"\x1bOB": "down",
    b"\x1b[H": "home",
    b"\x1b[F": "end",
}

Event = tuple[Any, ...]
_Job = tuple[Any, "Callable[[], Any]", "Callable[[Any], None] | None"]


class Events:
    """One queue for every source; file changes already waiting are merged into one event."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Event] = queue.Queue()
        self._deferred: list[Event] = []

    def put(self, event: Event) -> None:
        self._queue.put(event)

    def push_back(self, event: Event) -> None:
        """Handle ``event`` again before anything newer (it arrived while something else was asked)."""
        self._deferred.append(event)

    def next(self) -> Event:
        if self._deferred:
            return self._deferred.pop(0)
        while True:
            try:
                event = self._queue.get(timeout=0.25)  # a timeout keeps Ctrl-C responsive
                break
            except queue.Empty:
                continue
        if event[0] != "files":
            return event
        paths = set(event[1])
        while True:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                break
            if more[0] == "files":
                paths |= more[1]
            else:
                self._deferred.append(more)
                break
        return ("files", paths)


def watch_files(folder: Path, events: Events, stop: threading.Event, debounce_ms: int = DEBOUNCE_MS) -> threading.Thread:
    """Report saved ``.py`` files under ``folder`` until ``stop`` is set."""

    def watch() -> None:
        try:
            import watchfiles

            for changes in watchfiles.watch(
                folder,
                watch_filter=lambda change, path: path.endswith(".py"),
                debounce=MAX_GROUP_MS,
                step=debounce_ms,
                stop_event=stop,
                rust_timeout=1000,
                yield_on_timeout=False,
                raise_interrupt=False,
            ):
                events.put(("files", {os.path.realpath(p) for _, p in changes}))
        except Exception as exc:  # an unsupported file system, too many watches, ...
            if not stop.is_set():
                events.put(("watch-failed", f"{type(exc).__name__}: {exc}"))

    thread = threading.Thread(target=watch, name="tutor-watch", daemon=True)
    thread.start()
    return thread


def read_lines(stdin: TextIO, events: Events, stop: threading.Event) -> threading.Thread:
    """Manual mode: every line of ``stdin`` is an event; its end is ``("eof",)``."""

    def read() -> None:
        while not stop.is_set():
            try:
                line = stdin.readline()
            except (OSError, ValueError):
                line = ""
            if not line:
                events.put(("eof",))
                return
            events.put(("line", line.rstrip("\r\n")))

    thread = threading.Thread(target=read, name="tutor-lines", daemon=True)
    thread.start()
    return thread


class KeyReader:
    """Single keys from a terminal in cbreak mode; can be paused (for the editor) and resumed."""

    def __init__(self, fd: int, events: Events) -> None:
        self.fd = fd
        self.events = events
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="tutor-keys", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1)
        self._thread = None

    def _read(self) -> None:
        stop = self._stop
        if os.name == "nt":
            import msvcrt

            while not stop.is_set():
                if msvcrt.kbhit():  # type: ignore[attr-defined]
                    self.events.put(("key", msvcrt.getwch()))  # type: ignore[attr-defined]
                else:
                    time.sleep(0.03)
            return
        import select

        while not stop.is_set():
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.1)
            except (OSError, ValueError):
                return
            if not ready or stop.is_set():
                continue
            try:
                data = os.read(self.fd, 64)
            except OSError:
                data = b""
            if not data:
                self.events.put(("eof",))
                return
            if data.startswith(b"\x1b") and len(data) > 1:
                name = KEY_NAMES.get(data)
                if name:
                    self.events.put(("key", name))
                continue  # another function key: not ours
            for ch in data.decode("utf-8", errors="ignore"):
                self.events.put(("key", ch))


class GradeRunner:
    """Runs checks one at a time on a thread of its own; each ends as a ``("graded", ...)`` event.

    Why a thread: a check of a slow answer takes seconds, and a new save during
    it must be seen at once so the stale check can be cancelled (the grader's
    ``cancel`` kills the child running it) and the new content graded.
    ``token`` says which request a result answers; the caller ignores results
    it no longer wants. Remote checks (``tutor check`` handed over a socket)
    go through the same runner, so only the session's own check is ever
    cancelled.
    """

    def __init__(self, grader: Any, events: Events) -> None:
        self.grader = grader
        self.events = events
        self._jobs: collections.deque[_Job] = collections.deque()
        self._background: collections.deque[_Job] = collections.deque()
        self._ready = threading.Condition()
        self._closed = False
        self._lock = threading.Lock()
        self._running: Any = None
        self._running_background = False
        self._preempted = False
        self._thread = threading.Thread(target=self._serve, name="tutor-grade", daemon=True)
        self._thread.start()

    def submit(self, token: Any, work: Callable[[], Any], done: Callable[[Any], None] | None = None, *,
               background: bool = False) -> None:
        """Run ``work()``; its result (or the exception it raised) goes to ``done``, else to the queue.

        ``background`` work (re-grading lost progress) runs only when no other
        waits, and gives way to any that comes: it is cancelled and runs again
        later, so the learner's own check never waits behind it.
        """
        with self._ready:
            (self._background if background else self._jobs).append((token, work, done))
            self._ready.notify()
        if not background and callable(getattr(self.grader, "cancel", None)):
            with self._lock:
                if self._running is None or not self._running_background:
                    return
                self._preempted = True
                running = self._running
            self.cancel(running)

    def cancel(self, token: Any) -> None:
        """Stop the check for ``token`` if it is running (its result is then of no use).

        The grader's ``cancel`` kills the child of the job in flight; a check
        still preparing its inputs has no child yet, so this keeps cancelling
        every few milliseconds until the check is over. The lock is held
        around each kill: the running check cannot change meanwhile, so
        another request's child is never hit.
        """
        cancel = getattr(self.grader, "cancel", None)
        if not callable(cancel):
            return

        def keep_cancelling() -> None:
            while True:
                with self._lock:
                    if self._running != token:
                        return
                    cancel()
                time.sleep(CANCEL_EVERY_S)

        threading.Thread(target=keep_cancelling, name="tutor-cancel", daemon=True).start()

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify()

    def _take(self) -> tuple[_Job, bool] | None:
        with self._ready:
            while not (self._closed or self._jobs or self._background):
                self._ready.wait()
            if self._closed:
                return None
            if self._jobs:
                return self._jobs.popleft(), False
            return self._background.popleft(), True

    def _serve(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                return
            job, background = taken
            token, work, done = job
            with self._lock:
                self._running, self._running_background, self._preempted = token, background, False
            try:
                result: Any = work()
            except BaseException as exc:  # handed to the session, which says what went wrong
                result = exc
            finally:
                with self._lock:
                    preempted = background and self._preempted
                    self._running = None
            if preempted:
                with self._ready:
                    self._background.appendleft(job)  # again, once the learner's check is done
                continue
            if done is not None:
                done(result)
            else:
                self.events.put(("graded", token, result))
