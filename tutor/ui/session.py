"""``tutor start``: the guided loop of read, edit, save, read the verdict; its state machine.

Like rustlings' ``watch/state.rs``: this module holds what the learner sees
and what each event does to it. Events come from :mod:`tutor.ui.events` (saved
files, keys, lines, finished checks); the terminal and the page that fits it
are :mod:`tutor.ui.terminal`'s.

The session opens at the first unfinished task (its lesson's intro first, on
a screen of its own), watches the exercise folder and checks the current
task's file on every save, and takes single keys in a terminal:

    h hint · n next task (after a pass) · l list and jump · i lesson intro ·
    r reset · s reference (after a pass) · c check now · e $EDITOR · q quit;
    space / b (or the arrow and page keys) scroll a page that does not fit

A check runs on a thread of its own: a save during a check cancels it (its
child is killed) and checks the new content, and a verdict is only shown for
the content still in the file.

When standard input is not a terminal, or watching the folder fails, it works
in manual mode: lines are read from standard input, an empty line checks
(and waits for the verdict), and the same letters are commands (``l 3``
jumps straight to task 3). Everything is printed in order, nothing redrawn.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, TextIO

from rich.console import Console, RenderableType
from rich.panel import Panel
from rich.text import Text

from tutor.i18n import Message
from tutor.ui.course import LOCKED, first_task, next_task, task_rows, unmet_requires
from tutor.ui.events import DEBOUNCE_MS, Events, GradeRunner, read_lines, watch_files
from tutor.ui.list_view import ListView
from tutor.ui.milestones import CourseComplete, LessonComplete, lesson_done
from tutor.ui.task_view import LessonIntro, TaskView, display_path
from tutor.ui.terminal import Screen, Terminal, render_lines
from tutor.ui.text import install_cjk_wrapping, join_words, markdown
from tutor.ui.verdict_view import ReferenceView, VerdictView
from tutor.workspace.starters import starter_state, starter_text

__all__ = ["run_session", "Session", "KEYS"]

# A file caught empty (an editor that truncates, then writes) is read again a
# moment later, and content already graded is never graded twice for one save.
EMPTY_RETRY_S = 0.05


class M:
    """Every string this module prints."""

    key_hint = Message("hint", "提示")
    key_next = Message("next task", "下一题")
    key_list = Message("list", "列表")
    key_intro = Message("intro", "课程介绍")
    key_reset = Message("reset", "重置")
    key_solution = Message("solution", "参考答案")
    key_check = Message("check", "检查")
    key_editor = Message("editor", "编辑器")
    key_quit = Message("quit", "退出")
    key_back = Message("back to the task", "回到练习")
    more = Message("↓ {n} more lines: space for the next page, b for the one before",
                   "↓ 还有 {n} 行：空格翻到下一页，b 翻回上一页")
    watching = Message("Watching {path}: save it to check.", "正在监视 {path}：保存即检查。")
    manual = Message(
        "Manual mode: save {path}, then press Enter to check. Type a letter and Enter for the"
        " other commands.",
        "手动模式：保存 {path} 后按回车检查。其他命令请输入对应字母再按回车。",
    )
    manual_keys = Message(
        "Manual mode: save {path}, then press Enter or c to check.",
        "手动模式：保存 {path} 后按回车或 c 检查。",
    )
    watch_failed = Message(
        "Watching files does not work here ({why}); switching to manual checks.",
        "这里无法监视文件（{why}）；改为手动检查。",
    )
    grading = Message("Checking {task}…", "正在检查 {task}……")
    restarted = Message("Checking {task} again: you saved while it was being checked…",
                        "你在检查期间又保存了，正在重新检查 {task}……")
    grade_failed = Message("Could not check this task: {why}", "无法检查此练习：{why}")
    no_file = Message(
        "{path} does not exist: press r to write the starter again.",
        "{path} 不存在：按 r 重新写入初始代码。",
    )
    not_started = Message(
        "Not started yet: {path} still holds the starter. Write your code in it and save.",
        "还没有开始：{path} 仍是初始代码。在其中写下你的代码并保存。",
    )
    empty = Message(
        "{path} is empty: write the function `{entry}` in it and save (r puts the starter back).",
        "{path} 是空的：在其中写出函数 `{entry}` 并保存（按 r 恢复初始代码）。",
    )
    undecodable = Message(
        "{path}:{line}:{column}: not {encoding} text; save the file as UTF-8.",
        "{path}:{line}:{column}：不是 {encoding} 文本；请以 UTF-8 保存文件。",
    )
    hint_title = Message("Hint {n} of {total}", "提示 {n}/{total}")
    no_hints = Message("This task has no hints.", "此练习没有提示。")
    no_more_hints = Message("That was the last hint.", "已经是最后一条提示了。")
    pass_first = Message(
        "Pass this task first, or press l to pick another one.",
        "请先通过此练习，或按 l 选择其他练习。",
    )
    solution_locked = Message(
        "The reference unlocks once this task passes.", "通过此练习后才能查看参考答案。"
    )
    only_locked = Message(
        "No task is open right now: the remaining lessons are locked.",
        "目前没有可做的练习：剩下的课程尚未解锁。",
    )
    reset_done = Message(
        "{path} is back to its starter; your old file is kept as {backup}.",
        "{path} 已恢复为初始代码；你原来的文件保存为 {backup}。",
    )
    reset_same = Message("{path} is back to its starter.", "{path} 已恢复为初始代码。")
    choose = Message(
        "Task number or id to open (Enter to go back): ",
        "输入要打开的练习编号或 id（直接回车返回）：",
    )
    no_such_task = Message("There is no task {what}.", "没有练习 {what}。")
    locked = Message(
        "{task} is locked: finish {lessons} first.", "{task} 尚未解锁：请先完成 {lessons}。"
    )
    no_intro = Message("This lesson has no intro.", "本课没有介绍。")
    no_editor = Message(
        "Set $EDITOR (for example: export EDITOR=nano), or open {path} in your editor.",
        "请设置 $EDITOR（例如 export EDITOR=nano），或在你的编辑器中打开 {path}。",
    )
    editor_failed = Message("Could not run {editor}: {why}", "无法运行 {editor}：{why}")
    unknown = Message(
        "Unknown command {what!r}: press one of the keys below.",
        "未知命令 {what!r}：请按下方列出的按键。",
    )
    bye = Message(
        "Progress saved. Run `tutor start` to continue.", "进度已保存。运行 `tutor start` 继续。"
    )
    rebuild = Message(
        "Re-grading your files in the background to recover which tasks pass…",
        "正在后台重新检查你的文件，以恢复已通过的练习……",
    )
    rebuilt = Message("Recovered {n} passed tasks.", "已恢复 {n} 个已通过的练习。")


# Command letters and what they do; Enter checks as well.
KEYS = ("h", "n", "l", "i", "r", "s", "c", "e", "q")
_SCROLL = {" ": "pgdn", "b": "pgup", "down": "down", "up": "up", "pgdn": "pgdn", "pgup": "pgup",
           "home": "home", "end": "end", "j": "down", "k": "up"}


def run_session(
    workspace: Any,
    pack: Any,
    grader: Any,
    lang: str,
    console: Console | None = None,
    interactive: bool | None = None,
    *,
    watch: bool | None = None,
    stdin: TextIO | None = None,
    start_task: str | None = None,
    debounce_ms: int = DEBOUNCE_MS,
    serve: bool = False,
) -> int:
    """Run the guided session until the learner quits; returns the exit code (0).

    ``interactive``: single keys in a terminal (True) or lines from ``stdin``
    (False); default: True when standard input and the console are terminals.
    ``watch``: re-grade on save (default: when interactive). ``start_task``
    opens that task instead of the first unfinished one. ``serve``: answer
    ``tutor check`` from other terminals with this session's warm grader.
    """
    session = Session(workspace, pack, grader, lang, console=console, interactive=interactive, watch=watch,
                      stdin=stdin, debounce_ms=debounce_ms)
    return session.run(start_task, serve=serve)


class _Quit(Exception):
    pass


class Session:
    """The loop's state and its event handlers; see :func:`run_session`."""

    def __init__(
        self,
        workspace: Any,
        pack: Any,
        grader: Any,
        lang: str,
        *,
        console: Console | None = None,
        interactive: bool | None = None,
        watch: bool | None = None,
        stdin: TextIO | None = None,
        debounce_ms: int = DEBOUNCE_MS,
    ) -> None:
        from tutor.workspace import Progress

        self.workspace, self.pack, self.grader, self.lang = workspace, pack, grader, lang
        self.console = console or Console()
        install_cjk_wrapping()
        self.stdin = stdin if stdin is not None else sys.stdin
        if interactive is None:
            interactive = _isatty(self.stdin) and self.console.is_terminal
        self.interactive = bool(interactive)
        self.watching = self.interactive if watch is None else bool(watch)
        self.debounce_ms = debounce_ms
        self.progress = Progress.load(workspace, lang)
        self.events = Events()
        self.runner = GradeRunner(grader, self.events)
        self.screen = Screen(self.console)
        # What the learner sees: a mode, the task, and what is below it.
        self.mode = "task"  # "task", "intro" (the lesson intro, paged) or "list" (paged, with a prompt)
        self.current: str | None = None
        self.verdict: Any = None
        self.show_reference = False
        self.milestone: RenderableType | None = None  # lesson or course complete, after a pass
        self.notice: Text | None = None
        self.typed = ""  # list mode: the task number being typed
        self.seen_content: bytes | None = None  # last graded, or written by us
        # The check in flight: its token and the content it grades.
        self.checking: tuple[int, bytes] | None = None
        self._tokens = 0
        self.restarted = False
        self.pending_choice = False  # manual mode: the next line picks a task
        self.rebuilding: set[str] = set()
        self.rebuilt = 0
        self._stop = threading.Event()
        self._terminal: Terminal | None = None
        self._clear_next = True

    # ------------------------------------------------------------ running

    def run(self, start_task: str | None = None, *, serve: bool = False) -> int:
        for warning in self.progress.warnings:
            self.console.print(Text(warning, style="yellow"))
        current = start_task if start_task and self.pack.find(start_task) else first_task(self.pack, self.progress)
        if current is None and not self.progress.needs_rebuild:
            self.console.print(ListView(self.pack, self.progress, self.lang))
            return 0
        warm = getattr(self.grader, "warm", None)
        if callable(warm):
            try:
                warm()  # expected not to block: starts the worker while the learner reads
            except Exception:
                pass
        server = None
        try:
            with self._input():
                if serve:
                    from tutor.ui.remote import CheckServer

                    server = CheckServer.start(self.workspace, self.pack, self.runner, self.lang)
                if self.progress.needs_rebuild:
                    self._start_rebuild()
                self._open(current or first_task(self.pack, self.progress) or self.pack.task_ids()[0])
                self._loop()
        except (_Quit, KeyboardInterrupt):
            pass
        finally:
            self._stop.set()
            if server is not None:
                server.close()
            if self.checking is not None:
                self.runner.cancel(self.checking[0])
            self.runner.close()
        if self.interactive:
            self.console.print()
        self.console.print(Text(M.bye(self.lang), style="dim"))
        return 0

    @contextmanager
    def _input(self) -> Iterator[None]:
        """Start the event sources; stop them and restore the terminal however we leave."""
        if self.interactive:
            self._terminal = Terminal(self.stdin, self.events)
            self._terminal.start()
        else:
            read_lines(self.stdin, self.events, self._stop)
        if self.watching:
            watch_files(self.workspace.exercises_dir, self.events, self._stop, self.debounce_ms)
        try:
            yield
        finally:
            self._stop.set()
            if self._terminal is not None:
                self._terminal.stop()

    def _loop(self) -> None:
        while True:
            self._handle(self.events.next())

    def _handle(self, event: tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == "files":
            self._on_files(event[1])
        elif kind == "key":
            self._on_key(event[1])
        elif kind == "line":
            self._on_line(event[1])
        elif kind == "graded":
            self._on_graded(event[1], event[2])
        elif kind == "regraded":
            self._on_regraded(event[1], event[2])
        elif kind == "eof":
            raise _Quit
        elif kind == "watch-failed":
            self.watching = False
            self._notice(M.watch_failed(self.lang, why=event[1]), style="yellow")
        elif kind == "redraw":
            self._clear_next = True
            self._redraw()

    # ------------------------------------------------------------ events

    def _on_files(self, paths: set[str]) -> None:
        if self.current is None:
            return
        path = self._path()
        if os.path.realpath(path) not in paths:
            return
        try:
            content = path.read_bytes()
            if not content.strip():
                time.sleep(EMPTY_RETRY_S)  # caught between an editor's truncate and write?
                content = path.read_bytes()
        except OSError:
            return  # mid-rename; the next event has it
        if self.checking is not None:
            if content == self.checking[1]:
                return
        elif content == self.seen_content:
            return
        self._check()

    def _on_key(self, key: str) -> None:
        if self.mode == "list":
            self._on_list_key(key)
            return
        if key in _SCROLL and self.interactive:
            self.screen.scroll(_SCROLL[key], self._footer_rows())
            self._redraw()
            return
        if self.mode == "intro":
            self.mode = "task"
            if key in ("\r", "\n", "\x1b", "i"):
                self._clear_next = True
                self._redraw()
                return
        self._on_command(key)

    def _on_list_key(self, key: str) -> None:
        """The list is on screen with its prompt: digits and letters type, Enter opens, Esc goes back."""
        if key in _SCROLL and key not in ("b", "j", "k"):
            self.screen.scroll(_SCROLL[key], self._footer_rows())
        elif key in ("\r", "\n"):
            what, self.typed, self.mode = self.typed.strip(), "", "task"
            self._clear_next = True
            if what:
                self._choose(what)
                return
        elif key == "\x1b":
            self.typed, self.mode, self._clear_next = "", "task", True
        elif key in ("\x7f", "\b"):
            self.typed = self.typed[:-1]
        elif len(key) == 1 and key.isprintable():
            self.typed += key
        self._redraw()

    def _on_line(self, line: str) -> None:
        text = line.strip()
        if self.pending_choice:
            self.pending_choice = False
            if text.lower() not in KEYS:  # a letter is a command, not a task
                if text:
                    self._choose(text)
                else:
                    self._redraw()
                return
        if not text:
            self._check()
            return
        command, _, arg = text.partition(" ")
        if command.lower() == "l" and arg.strip():
            self._choose(arg.strip())
            return
        if len(command) == 1:
            self._on_command(command.lower())
        else:
            self._notice(M.unknown(self.lang, what=text), style="yellow", footer=True)

    def _on_command(self, key: str) -> None:
        if key in ("\r", "\n", "c"):
            self._check()
        elif key == "h":
            self._hint()
        elif key == "n":
            self._next()
        elif key == "l":
            self._list()
        elif key == "i":
            self._intro()
        elif key == "r":
            self._reset()
        elif key == "s":
            self._solution()
        elif key == "e":
            self._edit()
        elif key in ("q", "\x04"):  # q, or Ctrl-D in cbreak mode
            raise _Quit
        elif len(key) == 1 and key.isprintable() and not key.isspace():
            self._notice(M.unknown(self.lang, what=key), style="yellow", footer=True)

    # ------------------------------------------------------------ checking

    def _check(self) -> None:
        """Check the file as it is now; a check in flight for other content is cancelled."""
        lang = self.lang
        path = self._path()
        try:
            content = path.read_bytes()
        except OSError:
            self._notice(M.no_file(lang, path=display_path(path)), style="red", footer=True)
            return
        _, task = self._task()
        state, why = starter_state(task, content)
        if state != "code":
            self._cancel_check()
            self.seen_content = content
            self.verdict = None
            message = {
                "starter": lambda: M.not_started(lang, path=display_path(path)),
                "empty": lambda: M.empty(lang, path=display_path(path), entry=task.entry),
                "undecodable": lambda: M.undecodable(lang, path=display_path(path), line=why.line,
                                                     column=why.column, encoding=why.encoding),
            }[state]()
            self._notice(message, style="yellow", footer=True)
            return
        self.restarted = self.checking is not None
        self._cancel_check()
        self._tokens += 1
        token = self._tokens
        self.checking = (token, content)
        task_id = self.current
        tried = self.progress.get(task_id).predict_tried
        self.runner.submit(token, lambda: self.grader.grade(self.pack, task_id, path, tried=tried))
        if self.interactive:
            self._redraw()
            return
        # Manual mode reads on only once the verdict is in, as the learner expects.
        self._print(Text(M.grading(lang, task=task_id), style="dim"))
        while self.checking is not None and self.checking[0] == token:
            self._wait_for("graded", "regraded")

    def _wait_for(self, *kinds: str) -> None:
        """Block until one of ``kinds`` arrives and handle it; everything else waits its turn."""
        held = []
        while True:
            event = self.events.next()
            if event[0] in kinds:
                for other in held:
                    self.events.push_back(other)
                self._handle(event)
                return
            held.append(event)

    def _cancel_check(self) -> None:
        if self.checking is not None:
            self.runner.cancel(self.checking[0])
            self.checking = None

    def _on_graded(self, token: int, verdict: Any) -> None:
        if self.checking is None or self.checking[0] != token:
            return  # cancelled: its content is no longer what the learner has
        content = self.checking[1]
        self.checking = None
        self.restarted = False
        try:
            now = self._path().read_bytes()
        except OSError:
            now = None
        if now != content:
            self._check()  # saved again: this verdict is for content that is gone
            return
        self.seen_content = content
        if isinstance(verdict, BaseException):
            if isinstance(verdict, KeyboardInterrupt):
                raise verdict
            why = str(verdict) or type(verdict).__name__
            self._notice(M.grade_failed(self.lang, why=why), style="red", footer=True)
            return
        status = getattr(verdict.status, "value", verdict.status)
        lesson, _ = self._task()
        was_done = lesson_done(lesson, self.progress.done())
        self.progress.record_attempt(self.current, status, verdict.prediction_try)
        self.verdict = verdict
        self.show_reference = False
        self.notice = None
        self.milestone = None
        done = self.progress.done()
        if verdict.passed and not was_done and lesson_done(lesson, done):
            rows = task_rows(self.pack, self.progress)
            if all(r.status == "done" for r in rows):
                self.milestone = CourseComplete(self.pack, self.progress, self.lang)
            else:
                self.milestone = LessonComplete(lesson, self.lang)
        self.screen.offset = 0
        if self.mode == "intro":  # a save while reading the intro: the verdict is what matters now
            self.mode, self._clear_next = "task", True
        if self.interactive:
            self._redraw()
        else:
            self._print(self._verdict_view(), *([self.milestone] if self.milestone else []), self._footer())

    # ------------------------------------------------------------ rebuilding lost progress

    def _start_rebuild(self) -> None:
        """Re-grade, behind the learner's own checks, every file that is not its starter."""
        self._print_or_notice(M.rebuild(self.lang))
        for lesson, task in self.pack.tasks():
            task_id = f"{lesson.id}/{task.id}"
            path = self.workspace.exercise_path(task_id)
            try:
                content = path.read_bytes()
            except OSError:
                continue
            if starter_state(task, content)[0] != "code":
                continue
            self.rebuilding.add(task_id)

            def work(task_id: str = task_id, path: Path = path) -> Any:
                return self.grader.grade(self.pack, task_id, path)

            def done(result: Any, task_id: str = task_id) -> None:
                self.events.put(("regraded", task_id, result))

            self.runner.submit(("rebuild", task_id), work, done, background=True)
        if not self.rebuilding:
            self._finish_rebuild()

    def _on_regraded(self, task_id: str, verdict: Any) -> None:
        self.rebuilding.discard(task_id)
        if not isinstance(verdict, BaseException):
            status = getattr(verdict.status, "value", verdict.status)
            self.progress.record_regrade(task_id, status)
            self.rebuilt += status == "passed"
        if not self.rebuilding:
            self._finish_rebuild()

    def _finish_rebuild(self) -> None:
        self.progress.finish_rebuild()
        self._print_or_notice(M.rebuilt(self.lang, n=self.rebuilt))

    def _print_or_notice(self, message: str) -> None:
        if self.interactive and self.current is not None:
            self._notice(message, style="yellow")
        else:
            self.console.print(Text(message, style="yellow"))

    # ------------------------------------------------------------ actions

    def _task(self) -> tuple[Any, Any]:
        found = self.pack.find(self.current)
        assert found is not None
        return found

    def _path(self) -> Path:
        return self.workspace.exercise_path(self.current)

    def _open(self, task_id: str) -> None:
        lesson, task = self.pack.find(task_id)
        first_time = not any(self.progress.get(f"{lesson.id}/{t.id}").opened_at for t in lesson.tasks)
        self._cancel_check()
        self.progress.record_open(task_id)
        self.current = task_id
        self.verdict = None
        self.show_reference = False
        self.milestone = None
        self.notice = None
        self.seen_content = None
        self.pending_choice = False
        self.screen.offset = 0
        self._clear_next = True
        has_intro = bool(lesson.intro.get(self.lang) or lesson.summary.get(self.lang))
        self.mode = "intro" if first_time and has_intro and self.interactive else "task"
        if self.interactive:
            self._redraw()
        else:
            intro = [self._intro_view()] if first_time and has_intro else []
            self._print(*intro, *self._task_screen(), self._footer())

    def _intro(self) -> None:
        lesson, _ = self._task()
        if not (lesson.intro.get(self.lang) or lesson.summary.get(self.lang)):
            self._notice(M.no_intro(self.lang), style="yellow")
            return
        if self.interactive:
            self.mode, self.screen.offset, self._clear_next = "intro", 0, True
            self._redraw()
        else:
            self._print(self._intro_view())

    def _hint(self) -> None:
        lang = self.lang
        _, task = self._task()
        used = self.progress.get(self.current).hints_used
        if not task.hints:
            self._notice(M.no_hints(lang), style="yellow")
            return
        if used >= len(task.hints):
            self._notice(M.no_more_hints(lang), style="yellow")
            return
        n = self.progress.record_hint(self.current)
        if self.interactive:
            self.notice = None
            self._redraw()
        else:
            self._print(self._hint_panel(min(n, len(task.hints))))

    def _hint_panel(self, n: int) -> Panel:
        _, task = self._task()
        return Panel(
            markdown(task.hints[n - 1].get(self.lang)),
            title=M.hint_title(self.lang, n=n, total=len(task.hints)),
            title_align="left",
            border_style="yellow",
        )

    def _passed(self) -> bool:
        return self.current in self.progress.done() or bool(self.verdict is not None and self.verdict.passed)

    def _next(self) -> None:
        self.progress.reload()
        if not self._passed():
            self._notice(M.pass_first(self.lang), style="yellow")
            return
        upcoming = next_task(self.pack, self.progress, self.current)
        if upcoming is None:
            rows = task_rows(self.pack, self.progress)
            if all(r.status == "done" for r in rows):
                self.milestone = CourseComplete(self.pack, self.progress, self.lang)
                self.notice = None
                if self.interactive:
                    self._redraw()
                else:
                    self._print(self.milestone)
            else:
                self._notice(M.only_locked(self.lang), style="bold yellow")
            return
        self._open(upcoming)

    def _list(self) -> None:
        self.progress.reload()
        if self.interactive:
            self.mode, self.typed, self._clear_next = "list", "", True
            self.screen.offset = self._current_row_offset()
            self._redraw()
        else:
            view = ListView(self.pack, self.progress, self.lang, current=self.current)
            self._print(view, Text(M.choose(self.lang), style="bold"))
            self.pending_choice = True

    def _current_row_offset(self) -> int:
        """Scroll the list so the current task is on the first page."""
        lines = render_lines(self.console, [self._list_view()])
        page = self.screen.page_height(self._footer_rows())
        marker = f" {self.current} "
        for i, line in enumerate(lines):
            if marker in Text.from_ansi(line).plain + " ":
                return max(i - page // 3, 0) if i >= page else 0
        return 0

    def _choose(self, what: str) -> None:
        lang = self.lang
        self.progress.reload()
        rows = task_rows(self.pack, self.progress)
        row = next((r for r in rows if str(r.number) == what or r.task_id == what), None)
        if row is None:
            self._notice(M.no_such_task(lang, what=what), style="yellow", footer=True)
            return
        if row.status == LOCKED:
            lessons = join_words(unmet_requires(self.pack, row.lesson, self.progress.done()), lang)
            self._notice(M.locked(lang, task=row.task_id, lessons=lessons), style="yellow", footer=True)
            return
        self._open(row.task_id)

    def _reset(self) -> None:
        lang = self.lang
        _, task = self._task()
        path = self._path()
        self._cancel_check()
        starter = starter_text(task, lang)
        backup = self.workspace.reset(self.current, starter)
        self.seen_content = starter.encode("utf-8")
        self.verdict = None
        self.milestone = None
        self.notice = None
        if backup is not None:
            message = M.reset_done(lang, path=display_path(path), backup=Path(backup).name)
        else:
            message = M.reset_same(lang, path=display_path(path))
        self._notice(message, style="cyan", footer=True)

    def _solution(self) -> None:
        if not self._passed():
            self._notice(M.solution_locked(self.lang), style="yellow")
            return
        self.show_reference = True
        _, task = self._task()
        if self.interactive:
            self._redraw()
        else:
            self._print(ReferenceView(task, self.lang))

    def _edit(self) -> None:
        lang = self.lang
        path = self._path()
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self._notice(M.no_editor(lang, path=display_path(path)), style="yellow")
            return
        try:
            command = [*shlex.split(editor), str(path)]
        except ValueError as exc:
            self._notice(M.editor_failed(lang, editor=editor, why=exc), style="red")
            return
        try:
            if self._terminal is not None:
                with self._terminal.suspended():
                    subprocess.call(command)
            else:
                subprocess.call(command)
        except OSError as exc:
            self._notice(M.editor_failed(lang, editor=editor, why=exc.strerror or exc), style="red")
            return
        self._clear_next = True
        if self.interactive:
            self._redraw()

    # ------------------------------------------------------------ drawing

    def _intro_view(self) -> LessonIntro:
        lesson, _ = self._task()
        lessons = self.pack.lessons
        return LessonIntro(lesson, self.lang, number=lessons.index(lesson) + 1, total=len(lessons))

    def _list_view(self) -> ListView:
        return ListView(self.pack, self.progress, self.lang, current=self.current)

    def _task_screen(self) -> list[RenderableType]:
        """The task at the top: heading, prompt (cases and checks until a verdict), file; hints taken."""
        lesson, task = self._task()
        items: list[RenderableType] = [
            TaskView(
                lesson,
                task,
                self.lang,
                path=self._path(),
                number=lesson.tasks.index(task) + 1,
                total=len(lesson.tasks),
                compact=self.verdict is not None,
                show_checks=self.verdict is None,
                edit_hint=None if self.verdict is not None else ("watch" if self.watching else "manual"),
            )
        ]
        used = min(self.progress.get(self.current).hints_used, len(task.hints))
        items.extend(self._hint_panel(n) for n in range(1, used + 1))
        return items

    def _verdict_view(self) -> VerdictView:
        _, task = self._task()
        upcoming = next_task(self.pack, self.progress, self.current) if self.verdict.passed else None
        next_pair = None
        if upcoming is not None:
            _, next_model = self.pack.find(upcoming)
            next_pair = (upcoming, next_model.title.get(self.lang))
        return VerdictView(
            self.verdict, self.lang, task=task, next_task=next_pair, show_reference=self.show_reference,
            next_key="n", show_next=self.milestone is None or upcoming is not None,
        )

    def _document(self) -> list[RenderableType]:
        """What the page shows above the footer, in the current mode."""
        if self.mode == "intro":
            return [self._intro_view()]
        if self.mode == "list":
            return [self._list_view()]
        items = self._task_screen()
        if self.verdict is not None:
            items.append(self._verdict_view())
        elif self.show_reference:
            _, task = self._task()
            items.append(ReferenceView(task, self.lang))
        if self.milestone is not None:
            items.append(self.milestone)
        if self.notice is not None:
            items.append(self.notice)
        return items

    def _keys(self) -> list[tuple[str, Message]]:
        if self.mode == "intro":
            return [("Enter", M.key_back), ("q", M.key_quit)]
        passed = self._passed()
        keys = [("h", M.key_hint)]
        if passed:
            keys.append(("n", M.key_next))
        keys += [("l", M.key_list), ("i", M.key_intro), ("r", M.key_reset)]
        if passed:
            keys.append(("s", M.key_solution))
        keys += [("c", M.key_check), ("e", M.key_editor), ("q", M.key_quit)]
        return keys

    def _footer(self) -> Text:
        lang = self.lang
        line = Text()
        path = display_path(self._path())
        if self.checking is not None and self.interactive:
            message = M.restarted if self.restarted else M.grading
            line.append(message(lang, task=self.current), style="bold yellow")
        elif self.watching:
            line.append(M.watching(lang, path=path), style="dim")
        elif self.interactive:
            line.append(M.manual_keys(lang, path=path), style="dim")
        else:
            line.append(M.manual(lang, path=path), style="dim")
        line.append("\n")
        if self.mode == "list":
            line.append(M.choose(lang), style="bold")
            line.append(self.typed)
            return line
        for i, (key, word) in enumerate(self._keys()):
            if i:
                line.append(" · ", style="dim")
            line.append(key, style="bold reverse")
            line.append(f" {word(lang)}")
        return line

    def _footer_rows(self) -> int:
        return len(render_lines(self.console, [self._footer()]))

    def _redraw(self) -> None:
        if self.current is None:
            return
        if not self.interactive:
            self._print(self._footer())
            return

        def more(below: int) -> str:
            return render_lines(self.console, [Text(M.more(self.lang, n=below), style="bold")])[0]

        document = render_lines(self.console, self._document())
        footer = render_lines(self.console, [self._footer()])
        self.screen.draw(document, footer, more, clear=self._clear_next)
        self._clear_next = False

    def _print(self, *items: RenderableType) -> None:
        for item in items:
            self.console.print(item)

    def _notice(self, message: str, style: str = "", footer: bool = False) -> None:
        text = Text(message, style=style)
        if self.interactive:
            self.notice = text  # on screen until the next notice or the next verdict
            self._redraw()
        else:
            self._print(text, *([self._footer()] if footer else []))


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
