"""``tutor start``: the guided loop of read, edit, save, read the verdict.

The session opens at the first unfinished task (with its lesson's intro the
first time), watches the exercise folder and re-grades the current task's
file on every save, and takes single keys in a terminal:

    h hint · n next task (after a pass) · l list and jump · r reset ·
    s reference (after a pass) · c check now · e $EDITOR · q quit

When standard input is not a terminal, or watching the folder fails, it works
in manual mode: lines are read from standard input, an empty line checks, and
the same letters are commands (``l 3`` jumps straight to task 3).

Everything the loop does goes through one queue of events (keys, lines,
changed files), handled one at a time on the main thread, so the grading call
is a plain ``grader.grade(pack, task_id, path)``; tests drive the loop with a
fake grader and a ``StringIO`` for standard input.

The terminal is put in cbreak mode (keys arrive one at a time, no echo, Ctrl-C
still interrupts) and is restored on every way out: quit, Ctrl-C, SIGTERM,
an exception, and around Ctrl-Z and the editor.
"""

from __future__ import annotations

import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, TextIO

from rich.console import Console, Group, RenderableType
from rich.markdown import Markdown
from rich.panel import Panel
from rich.text import Text

from tutor.i18n import Message
from tutor.ui.course import LOCKED, first_task, next_task, task_rows, unmet_requires
from tutor.ui.list_view import ListView
from tutor.ui.task_view import LessonIntro, TaskView, display_path
from tutor.ui.verdict_view import ReferenceView, VerdictView

__all__ = ["run_session", "rebuild_progress", "Session", "KEYS"]

# Watching: changes are grouped until the folder has been quiet this long, so
# an editor's several writes for one save (truncate + write, temp + rename,
# all within a few ms) make one check. watchfiles needs one to two of these
# steps to report a change, so it is kept short: a warm check is on screen in
# well under 150 ms (measured ~60-100 ms). A file caught empty (an editor that
# truncates, then writes) is read again a moment later, and content already
# graded is never graded twice for one save.
DEBOUNCE_MS = 20
EMPTY_RETRY_S = 0.05
MAX_GROUP_MS = 500


class M:
    """Every string this module prints."""

    key_hint = Message("hint", "提示")
    key_next = Message("next task", "下一题")
    key_list = Message("list", "列表")
    key_reset = Message("reset", "重置")
    key_solution = Message("solution", "参考答案")
    key_check = Message("check", "检查")
    key_editor = Message("editor", "编辑器")
    key_quit = Message("quit", "退出")
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
    grade_failed = Message("Could not check this task: {why}", "无法检查此练习：{why}")
    no_file = Message(
        "{path} does not exist: press r to write the starter again.",
        "{path} 不存在：按 r 重新写入初始代码。",
    )
    unchanged = Message(
        "The file has not changed since the last check (c checks again).",
        "文件自上次检查以来没有变化（按 c 再次检查）。",
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
    all_done = Message(
        "Every task is done: the course is complete. Well done!",
        "所有练习都已完成：课程结束。做得好！",
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
        "Re-grading your files to recover which tasks pass…", "正在重新检查你的文件以恢复已通过的练习……"
    )
    rebuilt = Message("Recovered {n} passed tasks.", "已恢复 {n} 个已通过的练习。")


# Command letters and what they do; Enter checks as well.
KEYS = ("h", "n", "l", "r", "s", "c", "e", "q")


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
) -> int:
    """Run the guided session until the learner quits; returns the exit code (0).

    ``interactive``: single keys in a terminal (True) or lines from ``stdin``
    (False); default: True when standard input and the console are terminals.
    ``watch``: re-grade on save (default: when interactive). ``start_task``
    opens that task instead of the first unfinished one.
    """
    session = Session(
        workspace,
        pack,
        grader,
        lang,
        console=console,
        interactive=interactive,
        watch=watch,
        stdin=stdin,
        debounce_ms=debounce_ms,
    )
    return session.run(start_task)


def rebuild_progress(workspace: Any, pack: Any, grader: Any, progress: Any, console: Console, lang: str) -> int:
    """Recover lost progress by re-grading every exercise file that differs from its starter.

    Returns how many tasks pass. Call when ``progress.needs_rebuild``.
    """
    console.print(Text(M.rebuild(lang), style="yellow"))
    passed = 0
    with console.status(""):
        for lesson, task in pack.tasks():
            task_id = f"{lesson.id}/{task.id}"
            path = workspace.exercise_path(task_id)
            try:
                if path.read_text(encoding="utf-8") == task.starter:
                    continue
            except (OSError, UnicodeDecodeError):
                continue
            verdict = grader.grade(pack, task_id, path)
            status = getattr(verdict.status, "value", verdict.status)
            progress.record_regrade(task_id, status)
            passed += status == "passed"
    progress.finish_rebuild()
    console.print(Text(M.rebuilt(lang, n=passed), style="yellow"))
    return passed


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
        self.stdin = stdin if stdin is not None else sys.stdin
        if interactive is None:
            interactive = _isatty(self.stdin) and self.console.is_terminal
        self.interactive = bool(interactive)
        self.watching = self.interactive if watch is None else bool(watch)
        self.debounce_ms = debounce_ms
        self.progress = Progress.load(workspace, lang)
        self.events: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.deferred: list[tuple[Any, ...]] = []
        # The task on screen and what the learner has seen of it.
        self.current: str | None = None
        self.verdict: Any = None
        self.show_intro = False
        self.show_reference = False
        self.notice: Text | None = None
        self.seen_content: bytes | None = None  # last graded, or written by us
        self.pending_choice = False  # manual mode: the next line picks a task
        self._threads: list[Any] = []
        self._stop = threading.Event()
        self._terminal: _Terminal | None = None

    # ------------------------------------------------------------ running

    def run(self, start_task: str | None = None) -> int:
        for warning in self.progress.warnings:
            self.console.print(Text(warning, style="yellow"))
        if self.progress.needs_rebuild:
            rebuild_progress(self.workspace, self.pack, self.grader, self.progress, self.console, self.lang)
        current = start_task if start_task and self.pack.find(start_task) else first_task(self.pack, self.progress)
        if current is None:
            self.console.print(ListView(self.pack, self.progress, self.lang))
            return 0
        warm = getattr(self.grader, "warm", None)
        if callable(warm):
            try:
                warm()  # expected not to block: starts the worker while the learner reads
            except Exception:
                pass
        try:
            with self._input():
                self._open(current)
                self._loop()
        except (_Quit, KeyboardInterrupt):
            pass
        finally:
            self._stop.set()
        self.console.print(Text(M.bye(self.lang), style="dim"))
        return 0

    @contextmanager
    def _input(self) -> Iterator[None]:
        """Start the event sources; stop them and restore the terminal however we leave."""
        if self.interactive:
            self._terminal = _Terminal(self.stdin, self.events)
            self._terminal.start()
        else:
            reader = threading.Thread(target=self._read_lines, name="tutor-lines", daemon=True)
            reader.start()
        if self.watching:
            self._start_watcher()
        try:
            yield
        finally:
            self._stop.set()
            if self._terminal is not None:
                self._terminal.stop()

    def _read_lines(self) -> None:
        while not self._stop.is_set():
            try:
                line = self.stdin.readline()
            except (OSError, ValueError):
                line = ""
            if not line:
                self.events.put(("eof",))
                return
            self.events.put(("line", line.rstrip("\r\n")))

    def _start_watcher(self) -> None:
        folder = self.workspace.exercises_dir
        stop = self._stop

        def watch() -> None:
            try:
                import watchfiles

                for changes in watchfiles.watch(
                    folder,
                    watch_filter=lambda change, path: path.endswith(".py"),
                    debounce=MAX_GROUP_MS,
                    step=self.debounce_ms,
                    stop_event=stop,
                    rust_timeout=1000,
                    yield_on_timeout=False,
                    raise_interrupt=False,
                ):
                    self.events.put(("files", {os.path.realpath(p) for _, p in changes}))
            except Exception as exc:  # an unsupported file system, too many watches, ...
                if not stop.is_set():
                    self.events.put(("watch-failed", f"{type(exc).__name__}: {exc}"))

        thread = threading.Thread(target=watch, name="tutor-watch", daemon=True)
        thread.start()

    def _loop(self) -> None:
        while True:
            event = self._next_event()
            kind = event[0]
            if kind == "files":
                self._on_files(event[1])
            elif kind == "key":
                self._on_command(event[1])
            elif kind == "line":
                self._on_line(event[1])
            elif kind == "eof":
                raise _Quit
            elif kind == "watch-failed":
                self.watching = False
                self._notice(M.watch_failed(self.lang, why=event[1]), style="yellow")
            elif kind == "redraw":
                self._redraw()

    def _next_event(self) -> tuple[Any, ...]:
        """The next event; file changes already waiting are merged into one."""
        if self.deferred:
            return self.deferred.pop(0)
        while True:
            try:
                event = self.events.get(timeout=0.25)  # a timeout keeps Ctrl-C responsive
                break
            except queue.Empty:
                continue
        if event[0] == "files":
            paths = set(event[1])
            while True:
                try:
                    more = self.events.get_nowait()
                except queue.Empty:
                    break
                if more[0] == "files":
                    paths |= more[1]
                else:
                    self.deferred.append(more)
                    break
            event = ("files", paths)
        return event

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
        if content == self.seen_content:
            return
        self._grade()

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
            self._grade()
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
            self._grade()
        elif key == "h":
            self._hint()
        elif key == "n":
            self._next()
        elif key == "l":
            self._list()
        elif key == "r":
            self._reset()
        elif key == "s":
            self._solution()
        elif key == "e":
            self._edit()
        elif key in ("q", "\x04"):  # q, or Ctrl-D in cbreak mode
            raise _Quit
        elif key.isprintable() and not key.isspace():
            self._notice(M.unknown(self.lang, what=key), style="yellow", footer=True)

    # ------------------------------------------------------------ actions

    def _task(self) -> tuple[Any, Any]:
        found = self.pack.find(self.current)
        assert found is not None
        return found

    def _path(self) -> Path:
        return self.workspace.exercise_path(self.current)

    def _open(self, task_id: str) -> None:
        lesson, task = self.pack.find(task_id)
        first_time = not any(
            self.progress.get(f"{lesson.id}/{t.id}").opened_at for t in lesson.tasks
        )
        self.progress.record_open(task_id)
        self.current = task_id
        self.verdict = None
        self.show_intro = first_time and bool(lesson.intro.get(self.lang) or lesson.summary.get(self.lang))
        self.show_reference = False
        self.notice = None
        self.seen_content = None
        self.pending_choice = False
        if self.interactive:
            self._redraw()
        else:
            self._print(*self._task_screen(), self._footer())

    def _grade(self) -> None:
        lang = self.lang
        path = self._path()
        try:
            content = path.read_bytes()
        except OSError:
            self._notice(M.no_file(lang, path=display_path(path)), style="red", footer=True)
            return
        self.seen_content = content
        try:
            with self.console.status(M.grading(lang, task=self.current), spinner="dots"):
                verdict = self.grader.grade(self.pack, self.current, path)
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            why = str(exc) or type(exc).__name__
            self._notice(M.grade_failed(lang, why=why), style="red", footer=True)
            return
        status = getattr(verdict.status, "value", verdict.status)
        self.progress.record_attempt(self.current, status)
        self.verdict = verdict
        self.show_intro = False
        self.show_reference = False
        self.notice = None
        if self.interactive:
            self._redraw()
        else:
            self._print(self._verdict_view(), self._footer())

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
        panel = self._hint_panel(min(n, len(task.hints)))
        if self.interactive:
            self._redraw()
        else:
            self._print(panel)

    def _hint_panel(self, n: int) -> Panel:
        _, task = self._task()
        return Panel(
            Markdown(task.hints[n - 1].get(self.lang)),
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
            everything = all(r.status == "done" for r in rows)
            self._notice((M.all_done if everything else M.only_locked)(self.lang), style="bold green")
            return
        self._open(upcoming)

    def _list(self) -> None:
        self.progress.reload()
        view = ListView(self.pack, self.progress, self.lang, current=self.current)
        if self.interactive:
            self.console.clear()
            self.console.print(view)
            choice = self._read_line_keys(M.choose(self.lang))
            if choice:
                self._choose(choice)
            else:
                self._redraw()
        else:
            self._print(view, Text(M.choose(self.lang), style="bold"))
            self.pending_choice = True

    def _choose(self, what: str) -> None:
        lang = self.lang
        self.progress.reload()
        rows = task_rows(self.pack, self.progress)
        row = next((r for r in rows if str(r.number) == what or r.task_id == what), None)
        if row is None:
            self._notice(M.no_such_task(lang, what=what), style="yellow", footer=True)
            return
        if row.status == LOCKED:
            lessons = ", ".join(unmet_requires(self.pack, row.lesson, self.progress.done()))
            self._notice(M.locked(lang, task=row.task_id, lessons=lessons), style="yellow", footer=True)
            return
        self._open(row.task_id)

    def _reset(self) -> None:
        lang = self.lang
        _, task = self._task()
        path = self._path()
        backup = self.workspace.reset(self.current, task.starter)
        self.seen_content = task.starter.encode("utf-8")
        self.verdict = None
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
        if self.interactive:
            self._redraw()

    # ------------------------------------------------------------ drawing

    def _task_screen(self) -> list[RenderableType]:
        """The task part of the screen: intro (first time), the task, hints taken."""
        lesson, task = self._task()
        items: list[RenderableType] = []
        lessons = self.pack.lessons
        if self.show_intro:
            items.append(LessonIntro(lesson, self.lang, number=lessons.index(lesson) + 1, total=len(lessons)))
        items.append(
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
        )
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
            next_key="n",
        )

    def _screen(self) -> Group:
        items = self._task_screen()
        if self.verdict is not None:
            items.append(self._verdict_view())
        elif self.show_reference:
            _, task = self._task()
            items.append(ReferenceView(task, self.lang))
        if self.notice is not None:
            items.append(self.notice)
        items.append(self._footer())
        return Group(*items)

    def _footer(self) -> Text:
        lang = self.lang
        passed = self._passed()
        keys = [("h", M.key_hint)]
        if passed:
            keys.append(("n", M.key_next))
        keys += [("l", M.key_list), ("r", M.key_reset)]
        if passed:
            keys.append(("s", M.key_solution))
        keys += [("c", M.key_check), ("e", M.key_editor), ("q", M.key_quit)]
        line = Text()
        path = display_path(self._path())
        if self.watching:
            line.append(M.watching(lang, path=path), style="dim")
        elif self.interactive:
            line.append(M.manual_keys(lang, path=path), style="dim")
        else:
            line.append(M.manual(lang, path=path), style="dim")
        line.append("\n")
        for i, (key, word) in enumerate(keys):
            if i:
                line.append(" · ", style="dim")
            line.append(key, style="bold reverse")
            line.append(f" {word(lang)}")
        return line

    def _redraw(self) -> None:
        if self.current is None:
            return
        if not self.interactive:
            self._print(self._footer())
            return
        self.console.clear()
        self.console.print(self._screen())

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

    def _read_line_keys(self, prompt: str) -> str | None:
        """A line typed key by key (cbreak mode): echoed, Backspace works, Esc cancels."""
        self.console.print(Text(prompt, style="bold"), end="")
        buffer = ""
        while True:
            event = self._next_event()
            if event[0] == "eof":
                self.deferred.append(event)
                return None
            if event[0] != "key":
                self.deferred.append(event)
                continue
            key = event[1]
            if key in ("\r", "\n"):
                self.console.print()
                return buffer.strip()
            if key == "\x1b":
                self.console.print()
                return None
            if key in ("\x7f", "\b"):
                if buffer:
                    buffer = buffer[:-1]
                    self.console.file.write("\b \b")
                    self.console.file.flush()
                continue
            if key.isprintable():
                buffer += key
                self.console.file.write(key)
                self.console.file.flush()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class _Terminal:
    """Single keys from a terminal, in cbreak mode, restored on every way out."""

    def __init__(self, stdin: TextIO, events: queue.Queue) -> None:
        self.stdin = stdin
        self.events = events
        self.fd = stdin.fileno()
        self.saved: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._old_handlers: dict[int, Any] = {}

    # -- modes

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
        self._start_reader()

    def stop(self) -> None:
        self._stop_reader()
        self._leave()
        self._restore_signals()

    @contextmanager
    def suspended(self) -> Iterator[None]:
        """Give the terminal back (for the editor), then take it again."""
        self._stop_reader()
        self._leave()
        try:
            yield
        finally:
            self._enter()
            self._start_reader()

    # -- the reader thread

    def _start_reader(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="tutor-keys", daemon=True)
        self._thread.start()

    def _stop_reader(self) -> None:
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
                continue  # an arrow or function key: not ours
            for ch in data.decode("utf-8", errors="ignore"):
                self.events.put(("key", ch))

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

        for signum, handler in (
            (signal.SIGTERM, on_term),
            (signal.SIGHUP, on_term),
            (signal.SIGTSTP, on_tstp),
            (signal.SIGCONT, on_cont),
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
