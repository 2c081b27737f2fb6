"""The result channel, held by the harness alone.

The child reports to the grader on a pipe that the zygote forwards without
reading. Learner code must not be able to add to that stream, so:

* the channel lives on a high, close-on-exec fd at or above the child's
  ``RLIMIT_NOFILE``: nothing can ``dup2`` onto it (the kernel refuses a target
  above the limit), so it cannot be redirected or replaced;
* only this object knows the fd; the restricted dialect keeps ``os``, ``gc``
  and frames out of the learner's reach, so it cannot be named either;
* the final frame (``done`` or ``load_error``) ends the process: the harness
  flushes the streams it saved before any learner code ran (through their
  type's own ``flush``, so a replaced ``sys.stdout`` or a patched method is
  not called), writes the frame, tells the zygote on the progress pipe and
  calls ``os._exit``. No ``atexit`` handler, ``__del__`` or stream ``flush``
  the learner defined runs after the last frame; the zygote kills the child
  as soon as it reads that mark, too.

The grader still trusts none of it: it refuses frames out of order,
duplicated, or more than the cases (``tutor.grading.outcome``).

Worker side: standard library only.
"""

from __future__ import annotations

import io
import os
import sys
from typing import Any

from tutor.jail import frames

#: Kinds after which the child has nothing more to say.
FINAL = frozenset({"done", "load_error"})
#: Progress marks for the zygote: a case starts (its time limit restarts), the run is over.
CASE_START = b"s"
DONE = b"d"

_exit = os._exit
_write = os.write
_flush_text = io.TextIOWrapper.flush


class Report:
    """Writes frames to the grader on the result channel; nothing else goes there."""

    __slots__ = ("_fd", "_progress", "_streams")

    def __init__(self, fd: int, progress: int) -> None:
        self._fd = fd
        self._progress = progress
        # The real streams, saved before any learner code exists.
        self._streams = tuple(s for s in (sys.stdout, sys.stderr) if isinstance(s, io.TextIOWrapper))

    def send(self, header: dict[str, Any], blob: bytes = b"") -> None:
        kind = header.get("kind")
        if kind in FINAL:
            self._flush()
        frames.write_frame(self._fd, header, blob)
        if kind in FINAL:
            self._mark(DONE)
            _exit(0)

    def case_start(self) -> None:
        """A case begins: its time limit restarts (the zygote reads the mark). No frame goes to
        the grader: cases run in order, so the one running is the first without a result."""
        self._mark(CASE_START)

    def _flush(self) -> None:
        for stream in self._streams:
            try:
                _flush_text(stream)
            except (OSError, ValueError):
                pass

    def _mark(self, mark: bytes) -> None:
        try:
            _write(self._progress, mark)
        except OSError:
            pass
