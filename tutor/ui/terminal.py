"""The terminal while the session runs: cbreak mode, signals, and a screen that fits.

Keys arrive one at a time with no echo (Ctrl-C still interrupts), and the
terminal is restored on every way out: quit, Ctrl-C, SIGTERM, SIGHUP, an
exception, and around Ctrl-Z and the editor.

:class:`Screen` draws a page that never scrolls: the document (task, then
what is below it) is cut to the rows the terminal has, above a footer that
always shows, and redrawn in place from the top-left corner. A redraw
therefore replaces the previous one instead of pushing copies into the
scrollback, and a long verdict, intro or list is read by paging, not lost
above the top.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TextIO

from rich.console import Console, RenderableType

from tutor.ui.events import Events, KeyReader

__all__ = ["Terminal", "Screen", "render_lines"]

CLEAR = "\x1b[H\x1b[2J"
HOME = "\x1b[H"
CLEAR_LINE_END = "\x1b[K"
CLEAR_BELOW = "\x1b[J"


class Terminal:
    """cbreak mode and single keys from ``stdin``; restored on every way out."""

    def __init__(self, stdin: TextIO, events: Events) -> None:
        self.fd = stdin.fileno()
        self.events = events
        self.saved: Any = None
        self.keys = KeyReader(self.fd, events)
        self._old_handlers: dict[int, Any] = {}

    def _enter(self) -> None:
        if os.name == "nt":
            return
        import termios
        import tty

        if self.saved is None:
            self.saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)

    def _leave(self) -> None:
        if os.name == "nt" or self.saved is None:
            return
        import termios

        try:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
        except termios.error:
            pass

    def start(self) -> None:
        self._enter()
        self._install_signals()
        self.keys.start()

    def stop(self) -> None:
        self.keys.stop()
        self._leave()
        self._restore_signals()

    @contextmanager
    def suspended(self) -> Iterator[None]:
        """Give the terminal back (for the editor), then take it again."""
        self.keys.stop()
        self._leave()
        try:
            yield
        finally:
            self._enter()
            self.keys.start()

    # -- signals: leave the terminal sane on SIGTERM, Ctrl-Z and fg

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread() or os.name == "nt":
            return

        def on_term(signum: int, frame: Any) -> None:
            raise SystemExit(128 + signum)

        def on_tstp(signum: int, frame: Any) -> None:
            self._leave()
            signal.signal(signal.SIGTSTP, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTSTP)

        def on_cont(signum: int, frame: Any) -> None:
            signal.signal(signal.SIGTSTP, on_tstp)
            self._enter()
            self.events.put(("redraw",))

        def on_winch(signum: int, frame: Any) -> None:
            self.events.put(("redraw",))

        for signum, handler in (
            (signal.SIGTERM, on_term),
            (signal.SIGHUP, on_term),
            (signal.SIGTSTP, on_tstp),
            (signal.SIGCONT, on_cont),
            (signal.SIGWINCH, on_winch),
        ):
            try:
                self._old_handlers[signum] = signal.signal(signum, handler)
            except (OSError, ValueError):
                pass

    def _restore_signals(self) -> None:
        for signum, handler in self._old_handlers.items():
            try:
                signal.signal(signum, handler)
            except (OSError, ValueError):
                pass
        self._old_handlers.clear()


def render_lines(console: Console, items: list[RenderableType]) -> list[str]:
    """``items`` as the terminal lines they take at the console's width, styles kept."""
    lines: list[str] = []
    for item in items:
        with console.capture() as capture:
            console.print(item)
        lines.extend(capture.get().rstrip("\n").split("\n"))
    return lines


class Screen:
    """A page of the document above a footer, drawn in place; remembers where the learner scrolled."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.offset = 0

    def page_height(self, footer_rows: int) -> int:
        """Document rows on one page: the terminal's, less the footer and the row saying what is below."""
        return max(self.console.height - footer_rows - 1, 3)

    def scroll(self, how: str, footer_rows: int) -> None:
        page = self.page_height(footer_rows)
        step = {"down": 1, "up": -1, "pgdn": page - 1, "pgup": -(page - 1), "home": -(10**9), "end": 10**9}[how]
        self.offset = max(self.offset + step, 0)

    def draw(self, document: list[str], footer: list[str], more: Callable[[int], str], *, clear: bool = False) -> None:
        """Show ``document`` from the current offset, ``more(n)`` when n lines are below, then ``footer``."""
        page = self.page_height(len(footer))
        self.offset = max(min(self.offset, len(document) - page), 0)
        shown = document[self.offset : self.offset + page]
        below = max(len(document) - self.offset - page, 0)
        out = [CLEAR if clear else HOME]
        for line in shown:
            out.append(line + CLEAR_LINE_END + "\n")
        out.append(CLEAR_BELOW)
        out.append("\n" * max(page - len(shown), 0))
        out.append("\n".join(line + CLEAR_LINE_END for line in [more(below) if below else "", *footer]))
        file = self.console.file
        file.write("".join(out))
        file.flush()
