"""``tutor list``: every lesson with a progress bar, every task with its status.

A task is done (passed at least once), pending, or locked (its lesson
``requires`` lessons not yet finished). Attempts, hints used and the time to
the first pass come from the workspace's progress. Numbers in the first column
are what the session's ``l`` asks for to jump to a task.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.text import Text

from tutor.i18n import Message
from tutor.ui.course import DONE, LOCKED, PENDING, TaskRow, task_rows
from tutor.ui.text import join_words

__all__ = ["ListView", "format_seconds", "progress_bar"]


class M:
    """Every string this module prints."""

    title = Message("{pack}: {done} of {total} tasks done", "{pack}：已完成 {done}/{total} 个练习")
    done = Message("done", "完成")
    pending = Message("pending", "未完成")
    locked = Message("locked", "未解锁")
    locked_by = Message("locked: finish {lessons} first", "未解锁：请先完成 {lessons}")
    col_task = Message("task", "练习")
    col_title = Message("title", "标题")
    col_status = Message("status", "状态")
    col_attempts = Message("tries", "尝试")
    col_hints = Message("hints", "提示")
    col_time = Message("time", "用时")
    current = Message("▶ current", "▶ 当前")
    all_done = Message("Every task is done. Well done!", "所有练习都已完成，做得好！")
    seconds = Message("{n}s", "{n}秒")
    minutes = Message("{m}m {s}s", "{m}分{s}秒")
    hours = Message("{h}h {m}m", "{h}小时{m}分")


_STATUS = {
    DONE: ("✓", "green", M.done),
    PENDING: ("·", "", M.pending),
    LOCKED: ("🔒", "dim", M.locked),
}


def console_width(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def format_seconds(seconds: float | None, lang: str) -> str:
    if seconds is None:
        return ""
    total = int(round(seconds))
    if total < 60:
        return M.seconds(lang, n=total)
    if total < 3600:
        return M.minutes(lang, m=total // 60, s=total % 60)
    return M.hours(lang, h=total // 3600, m=(total % 3600) // 60)


def progress_bar(done: int, total: int, width: int = 24) -> Text:
    """A bar that reads without colour too: ``━━━━━━──────``."""
    filled = round(width * done / total) if total else 0
    bar = Text("━" * filled, style="green")
    bar.append("─" * (width - filled), style="dim")
    return bar


class ListView:
    """The pack's lessons and tasks with the learner's progress.

    ``progress`` is a :class:`tutor.workspace.Progress` (or None: nothing done
    yet); ``current`` marks the task the session is on.
    """

    def __init__(self, pack: Any, progress: Any, lang: str = "en", *, current: str | None = None) -> None:
        self.pack, self.progress, self.lang, self.current = pack, progress, lang, current
        self.rows: list[TaskRow] = task_rows(pack, progress)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lang = self.lang
        n_done = sum(1 for r in self.rows if r.status == DONE)
        yield Text(
            M.title(lang, pack=self.pack.meta.title.get(lang), done=n_done, total=len(self.rows)),
            style="bold",
        )
        for lesson in self.pack.lessons:
            rows = [r for r in self.rows if r.lesson is lesson]
            yield Text("")
            yield self._lesson_header(lesson, rows)
            yield self._tasks(rows, options.max_width)
        if self.rows and n_done == len(self.rows):
            yield Text("")
            yield Text(M.all_done(lang), style="bold green")

    # Plain lines rather than rich Tables: a list of ~50 tasks renders in a few
    # milliseconds this way (a Table measures every cell), and `tutor list`
    # must answer fast.

    def _lesson_header(self, lesson: Any, rows: list[TaskRow]) -> Text:
        lang = self.lang
        done = sum(1 for r in rows if r.status == DONE)
        line = Text(f"{lesson.id}", style="bold cyan")
        line.append(f" · {lesson.title.get(lang)}  ", style="bold")
        line.append_text(progress_bar(done, len(rows), 24))
        line.append(f"  {done}/{len(rows)}")
        if rows and rows[0].locked_by:
            line.append("  " + M.locked_by(lang, lessons=join_words(rows[0].locked_by, lang)), style="yellow")
        return line

    def _widths(self) -> list[int]:
        lang = self.lang
        status = max(console_width(f"{m} {w(lang)}") for m, _, w in _STATUS.values())
        if any(r.task_id == self.current for r in self.rows):
            status += 2 + console_width(M.current(lang))
        return [
            max(len(str(len(self.rows))), 1),
            max([console_width(M.col_task(lang))] + [len(r.task_id) for r in self.rows]),
            max([console_width(M.col_title(lang))] + [console_width(r.task.title.get(lang)) for r in self.rows]),
            max(status, console_width(M.col_status(lang))),
            console_width(M.col_attempts(lang)),
            console_width(M.col_hints(lang)),
            max(console_width(M.col_time(lang)), 6),
        ]

    def _tasks(self, rows: list[TaskRow], max_width: int) -> Group:
        """The task lines; in a narrow terminal the counts go first, then the lesson part of ids
        (the lesson's header line above names it), and titles shrink only after that."""
        lang = self.lang
        widths = self._widths()
        columns = list(range(len(widths)))
        short_ids = False

        def spare() -> int:
            return max_width - (sum(widths[i] for i in columns) + 2 * (len(columns) - 1))

        compact = False
        if spare() < 0:
            columns = [0, 1, 2, 3]
        if spare() < 0:  # the status as its mark alone: ✓ · 🔒, and ▶ on the current task
            compact = True
            widths[3] = max(console_width(M.col_status(lang)), 5)
        if spare() < 0:
            short_ids = True
            widths[1] = max([console_width(M.col_task(lang))] + [len(r.task.id) for r in self.rows])
        if spare() < 0:
            widths[2] = max(widths[2] + spare(), 12)
        header = ["#", M.col_task(lang), M.col_title(lang), M.col_status(lang), M.col_attempts(lang),
                  M.col_hints(lang), M.col_time(lang)]
        lines = [_row([Text(header[i]) for i in columns], [widths[i] for i in columns], columns, style="dim")]
        for row in rows:
            mark, style, word = _STATUS[row.status]
            status = Text(mark if compact else f"{mark} {word(lang)}", style=style)
            if row.task_id == self.current:
                status.append(" ▶" if compact else "  " + M.current(lang), style="bold cyan")
            cells = [
                Text(str(row.number), style="dim"),
                Text(row.task.id if short_ids else row.task_id, style="bold" if row.task_id == self.current else style),
                _fit(row.task.title.get(lang), widths[2], style),
                status,
                Text(str(row.attempts) if row.attempts else ""),
                Text(str(row.hints_used) if row.hints_used else ""),
                Text(format_seconds(row.seconds_to_first_pass, lang)),
            ]
            lines.append(_row([cells[i] for i in columns], [widths[i] for i in columns], columns))
        return Group(*lines)


def _fit(text: str, width: int, style: str) -> Text:
    cell = Text(text, style=style)
    if console_width(text) > width:
        cell.truncate(width, overflow="ellipsis")
    return cell


_RIGHT = {0, 4, 5, 6}  # columns aligned right: the number, attempts, hints, time


def _row(cells: list[Text], widths: list[int], columns: list[int], style: str = "") -> Text:
    """One fixed-width line; wide (CJK) characters count double, as a terminal shows them."""
    line = Text(style=style, no_wrap=True, overflow="ellipsis")
    for i, (cell, width, column) in enumerate(zip(cells, widths, columns)):
        pad = " " * max(width - console_width(cell.plain), 0)
        if i:
            line.append("  ")
        if column in _RIGHT:
            line.append(pad)
        line.append_text(cell)
        if column not in _RIGHT:
            line.append(pad)
    line.rstrip()
    return line
