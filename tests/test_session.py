"""The guided session (``tutor start``): in-process with a fake grader, then in a real terminal.

The in-process tests drive :func:`tutor.ui.session.run_session` in manual mode
(lines from a ``StringIO`` or a pipe) with a grader that decides from the
file's text, so they test the loop and what it records without torch. The
terminal tests run the real ``tutor start`` under pexpect; they skip until
the CLI has ``start``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

from tutor.pack.loader import load_pack
from tutor.ui.session import run_session
from tutor.verdict import CaseInfo, CheckResult, Status, Verdict
from tutor.workspace import Progress, Workspace

MINI = Path(__file__).parent / "packs" / "mini"
TASK = "views/first-row"
RIGHT = "def solve(x):\n    return x[0]\n"
COPY = "def solve(x):\n    return x[0].clone()\n"


class FakeGrader:
    """Grades ``views/first-row``-like tasks by reading the file: no torch, no sandbox."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def grade(self, pack, task_id, path, seed=None, tried=None):
        text = Path(path).read_text()
        self.calls.append((task_id, text))
        base = dict(task=task_id, score=0, max_score=1, device="cpu", seed=7, duration_ms=3,
                    cases=[CaseInfo(0, False, {"x": "float32[5, 4]"}), CaseInfo(1, True, {"x": "float32[3, 2]"})])
        if "NotImplementedError" in text:
            return Verdict(status=Status.ERROR, error='Traceback (most recent call last):\n  File "'
                           f'{path}", line 5, in solve\n    raise NotImplementedError\nNotImplementedError',
                           **base)
        if ".clone()" in text:
            checks = [
                CheckResult("result", True, 0), CheckResult("result", True, 1),
                CheckResult("aliasing", False, 0, "aliasing: the result is a copy; expected a view of x",
                            {"kind": "aliasing", "path": "result", "expected_shares": ["x"], "got_shares": []}),
                CheckResult("aliasing", False, 1, "aliasing: the result is a copy; expected a view of x",
                            {"kind": "aliasing", "path": "result", "expected_shares": ["x"], "got_shares": []}),
            ]
            return Verdict(status=Status.FAILED, checks=checks, **base)
        if "return x[0]" in text:
            base["score"] = 1
            checks = [CheckResult(n, True, c) for n in ("result", "aliasing") for c in (0, 1)]
            return Verdict(status=Status.PASSED, checks=checks, **base)
        return Verdict(status=Status.FAILED, checks=[CheckResult("result", False, 0, "result: wrong")], **base)


class SlowRebuildGrader(FakeGrader):
    """Like FakeGrader, but a check of a task other than the one on screen waits for a flag file."""

    def grade(self, pack, task_id, path, seed=None, tried=None):
        if task_id != "more/first-row":
            flag = Path.cwd() / "go"
            while not flag.exists():
                time.sleep(0.05)
        return super().grade(pack, task_id, path, seed)


def make_workspace(tmp_path: Path, pack_dir: Path = MINI):
    pack = load_pack(pack_dir)
    ws = Workspace.create(tmp_path / "ws", pack, str(pack_dir))
    return ws, pack


def two_lesson_pack(tmp_path: Path) -> Path:
    """The mini pack plus a second lesson that requires the first and has two tasks."""
    root = tmp_path / "pack"
    shutil.copytree(MINI, root)
    text = (MINI / "01-views.yaml").read_text()
    second = text.replace("id: views", "id: more").replace("tasks:", "requires: [views]\ntasks:")
    task_block = second[second.index("  - id: first-row"):]
    second += task_block.replace("id: first-row", "id: second-row")
    (root / "02-more.yaml").write_text(second)
    return root


def session(ws, pack, lines: str, lang: str = "en", grader=None, **kwargs):
    grader = grader or FakeGrader()
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None, force_terminal=False)
    code = run_session(ws, pack, grader, lang, console=console, interactive=False, stdin=io.StringIO(lines), **kwargs)
    return code, out.getvalue(), grader


def write(ws, text: str, task: str = TASK) -> None:
    ws.exercise_path(task).write_text(text)


# ---------------------------------------------------------------- manual mode, in-process


def test_opens_at_first_task_with_intro_prompt_cases_and_file(tmp_path):
    ws, pack = make_workspace(tmp_path)
    code, out, grader = session(ws, pack, "q\n")
    assert code == 0
    assert "A view shares its base's storage." in out  # the lesson intro, first time
    assert "Return the first row of x as a view." in out
    assert "x: float32[5, 4] (random normal)" in out
    assert "3 hidden random cases" in out
    assert "first-row.py" in out
    assert "Manual mode" in out
    assert grader.calls == []  # nothing graded until asked
    assert Progress.load(ws).get(TASK).opened_at is not None


def test_intro_only_the_first_time(tmp_path):
    ws, pack = make_workspace(tmp_path)
    session(ws, pack, "q\n")
    _, out, _ = session(ws, pack, "q\n")
    assert "A view shares its base's storage." not in out
    assert "Return the first row of x as a view." in out


def test_enter_checks_failure_then_pass(tmp_path):
    ws, pack = make_workspace(tmp_path)
    script = "\n"  # the untouched starter: not graded, not counted
    code, out, grader = session(ws, pack, script + "q\n")
    assert "Not started yet" in out and "NotImplementedError" not in out
    assert grader.calls == [] and Progress.load(ws).get(TASK).attempts == 0
    write(ws, "")
    _, out, grader = session(ws, pack, "\nq\n")
    assert "first-row.py is empty: write the function `solve` in it" in out and grader.calls == []

    write(ws, COPY)
    _, out, grader = session(ws, pack, "\nq\n")
    assert "✗ aliasing" in out
    assert "shares storage with x" in out
    assert "it is a view" in out
    record = Progress.load(ws).get(TASK)
    assert record.attempts == 1 and not record.passed and record.last_status == "failed"

    write(ws, RIGHT)
    _, out, grader = session(ws, pack, "c\nq\n")
    assert grader.calls == [(TASK, RIGHT)]
    assert "Passed" in out
    record = Progress.load(ws).get(TASK)
    assert record.passed and record.attempts == 2 and record.seconds_to_first_pass is not None


def test_hints_in_order_then_no_more(tmp_path):
    ws, pack = make_workspace(tmp_path)
    _, out, _ = session(ws, pack, "h\nh\nq\n")
    assert "Hint 1 of 1" in out
    assert "Indexing returns a view." in out
    assert "That was the last hint." in out
    assert Progress.load(ws).get(TASK).hints_used == 1
    # On return, hints already taken are shown with the task.
    _, out, _ = session(ws, pack, "q\n")
    assert "Indexing returns a view." in out


def test_solution_and_next_only_after_a_pass(tmp_path):
    ws, pack = make_workspace(tmp_path)
    _, out, _ = session(ws, pack, "s\nn\nq\n")
    assert "The reference unlocks once this task passes." in out
    assert "Pass this task first" in out
    assert "return x[0]" not in out.split("reference unlocks")[1]
    write(ws, RIGHT)
    _, out, _ = session(ws, pack, "\ns\nn\nq\n")
    assert "The reference solution, for comparison" in out
    assert "Course complete: Mini pack" in out  # the mini pack has one task
    assert "Lesson complete" not in out  # the course screen says it all


def test_session_ends_when_everything_is_done(tmp_path):
    ws, pack = make_workspace(tmp_path)
    Progress.load(ws).record_attempt(TASK, "passed")
    code, out, _ = session(ws, pack, "")
    assert code == 0
    assert "1 of 1 tasks done" in out


def test_reset_keeps_the_old_file(tmp_path):
    ws, pack = make_workspace(tmp_path)
    write(ws, COPY)
    _, out, _ = session(ws, pack, "r\nq\n")
    path = ws.exercise_path(TASK)
    assert "raise NotImplementedError" in path.read_text()
    backups = list(path.parent.glob("first-row.py.bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == COPY
    assert "is back to its starter" in out and backups[0].name in out


def test_missing_file_is_explained(tmp_path):
    ws, pack = make_workspace(tmp_path)
    ws.exercise_path(TASK).unlink()
    _, out, grader = session(ws, pack, "\nq\n")
    assert "does not exist" in out and grader.calls == []


def test_grader_exception_does_not_end_the_session(tmp_path):
    class Broken(FakeGrader):
        def grade(self, *args, **kwargs):
            raise RuntimeError("worker died")

    ws, pack = make_workspace(tmp_path)
    write(ws, COPY)
    code, out, _ = session(ws, pack, "\nh\nq\n", grader=Broken())
    assert code == 0
    assert "Could not check this task: worker died" in out
    assert "Indexing returns a view." in out  # the session went on


def test_list_and_jump_and_locked_lessons(tmp_path):
    ws, pack = make_workspace(tmp_path, two_lesson_pack(tmp_path))
    _, out, _ = session(ws, pack, "l\n2\nl 3\nl nope\nq\n")
    assert "0 of 3 tasks done" in out
    assert "locked: finish views first" in out
    assert "more/first-row is locked" in out
    assert "There is no task 3" not in out and "more/second-row is locked" in out
    assert "There is no task nope" in out
    # Once the first lesson passes, its successor opens and `l 2` jumps there.
    Progress.load(ws).record_attempt(TASK, "passed")
    _, out, _ = session(ws, pack, "l 2\nq\n")
    assert "more/first-row · First row" in out
    assert Progress.load(ws).get("more/first-row").opened_at is not None


def test_next_goes_to_the_next_pending_task(tmp_path):
    ws, pack = make_workspace(tmp_path, two_lesson_pack(tmp_path))
    write(ws, RIGHT)
    _, out, _ = session(ws, pack, "\nn\nq\n")
    assert "Next: more/first-row · First row  (press n to go on)" in out
    assert out.rstrip().count("more/first-row · First row") >= 1
    # The new lesson's intro, first time it is opened.
    assert out.count("A view shares its base's storage.") == 2


def test_resume_opens_at_the_first_unfinished_task(tmp_path):
    ws, pack = make_workspace(tmp_path, two_lesson_pack(tmp_path))
    Progress.load(ws).record_attempt(TASK, "passed")
    _, out, _ = session(ws, pack, "q\n")
    assert "more/first-row · First row" in out
    assert "views/first-row · First row" not in out


def test_unknown_command_and_eof(tmp_path):
    ws, pack = make_workspace(tmp_path)
    code, out, _ = session(ws, pack, "x\nhello\n")  # then end of input
    assert code == 0
    assert "Unknown command 'x'" in out and "Unknown command 'hello'" in out
    assert "Progress saved" in out


def test_chinese(tmp_path):
    ws, pack = make_workspace(tmp_path)
    write(ws, COPY)
    _, out, _ = session(ws, pack, "\nh\ns\nq\n", lang="zh")
    assert "视图与原张量共享存储。" in out  # intro
    assert "以视图的形式返回 x 的第一行。" in out
    assert "还没通过" in out
    assert "与 x 共享存储" in out
    assert "提示 1/1" in out and "索引返回视图。" in out
    assert "通过此练习后才能查看参考答案。" in out
    assert "手动模式" in out
    assert "进度已保存" in out


class Piped:
    """A manual-mode session on a thread, fed line by line, its output read as it comes."""

    def __init__(self, ws, pack, grader=None, lang: str = "en", **kwargs) -> None:
        self.grader = grader or FakeGrader()
        read_fd, self.write_fd = os.pipe()
        self.out = io.StringIO()
        console = Console(file=self.out, width=200, color_system=None)
        self.result: list[int] = []
        stdin = os.fdopen(read_fd, "r")
        self.thread = threading.Thread(target=lambda: self.result.append(run_session(
            ws, pack, self.grader, lang, console=console, interactive=False, stdin=stdin, **kwargs)), daemon=True)
        self.thread.start()

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.time() + timeout
        while text not in self.out.getvalue() and time.time() < deadline:
            time.sleep(0.05)
        assert text in self.out.getvalue(), self.out.getvalue()
        return self.out.getvalue()

    def send(self, line: str) -> None:
        os.write(self.write_fd, line.encode() + b"\n")

    def finish(self) -> str:
        self.send("q")
        os.close(self.write_fd)
        self.thread.join(timeout=30)
        assert self.result == [0]
        return self.out.getvalue()


def test_damaged_progress_is_rebuilt_in_the_background(tmp_path):
    ws, pack = make_workspace(tmp_path, two_lesson_pack(tmp_path))
    write(ws, RIGHT)
    ws.progress_file.write_text("{ not json")
    run = Piped(ws, pack)
    out = run.wait_for("Recovered 1 passed tasks")
    out = run.finish()
    assert "damaged" in out and "in the background" in out
    assert [c[0] for c in run.grader.calls] == [TASK]  # starters are not re-graded
    progress = Progress.load(ws)
    assert TASK in progress.done() and not progress.needs_rebuild
    # The session opened at once, before the rebuild was done.
    assert out.index("views/first-row · First row") < out.index("Recovered 1 passed tasks")


def test_start_task_option(tmp_path):
    ws, pack = make_workspace(tmp_path, two_lesson_pack(tmp_path))
    _, out, _ = session(ws, pack, "q\n", start_task="more/second-row")
    assert "more/second-row" in out


def test_watch_regrades_on_save_with_debounce(tmp_path):
    """Non-TTY with watching on: saves are graded without Enter; a burst of writes is one check."""
    ws, pack = make_workspace(tmp_path)
    grader = FakeGrader()
    read_fd, write_fd = os.pipe()
    stdin = os.fdopen(read_fd, "r")
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None)
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(
            run_session(ws, pack, grader, "en", console=console, interactive=False, watch=True, stdin=stdin)
        ),
        daemon=True,
    )
    thread.start()
    try:
        time.sleep(0.6)  # let the watcher start
        path = ws.exercise_path(TASK)
        # An editor's multi-write save: truncate, then write in pieces.
        with open(path, "w") as f:
            f.flush()
            f.write(COPY[:10])
            f.flush()
            f.write(COPY[10:])
        deadline = time.time() + 10
        while not grader.calls and time.time() < deadline:
            time.sleep(0.05)
        assert grader.calls, out.getvalue()
        time.sleep(0.5)
        assert grader.calls[-1] == (TASK, COPY)
        assert len(grader.calls) == 1
        # An atomic save (temp file + rename), as many editors do.
        tmp = path.with_name(".first-row.py.swp-tmp")
        tmp.write_text(RIGHT)
        os.replace(tmp, path)
        deadline = time.time() + 10
        while len(grader.calls) < 2 and time.time() < deadline:
            time.sleep(0.05)
        assert grader.calls[-1] == (TASK, RIGHT)
        # Touching a backup or another file does not re-grade.
        n = len(grader.calls)
        path.with_name("first-row.py.bak-x").write_text("junk")
        time.sleep(0.5)
        assert len(grader.calls) == n
    finally:
        os.write(write_fd, b"q\n")
        os.close(write_fd)
        thread.join(timeout=10)
    assert result == [0]
    assert "Passed" in out.getvalue()
    assert Progress.load(ws).get(TASK).passed


def test_a_letter_after_list_is_a_command(tmp_path):
    ws, pack = make_workspace(tmp_path)
    code, out, _ = session(ws, pack, "l\nh\nq\n")
    assert "Indexing returns a view." in out and "There is no task" not in out


def test_watch_failure_falls_back_to_manual_checks(tmp_path, monkeypatch):
    import watchfiles

    def broken(*args, **kwargs):
        raise OSError("inotify watch limit reached")
        yield  # a generator, like the real one

    monkeypatch.setattr(watchfiles, "watch", broken)
    ws, pack = make_workspace(tmp_path)
    write(ws, RIGHT)
    grader = FakeGrader()
    read_fd, write_fd = os.pipe()
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    result: list[int] = []
    stdin = os.fdopen(read_fd, "r")
    thread = threading.Thread(
        target=lambda: result.append(
            run_session(ws, pack, grader, "en", console=console, interactive=False, watch=True, stdin=stdin)
        ),
        daemon=True,
    )
    thread.start()
    try:
        deadline = time.time() + 10
        while "Watching files does not work here" not in out.getvalue() and time.time() < deadline:
            time.sleep(0.05)
        assert "inotify watch limit reached" in out.getvalue()
        os.write(write_fd, b"\n")
        deadline = time.time() + 10
        while not grader.calls and time.time() < deadline:
            time.sleep(0.05)
    finally:
        os.write(write_fd, b"q\n")
        os.close(write_fd)
        thread.join(timeout=10)
    assert result == [0] and grader.calls == [(TASK, RIGHT)]
    assert "Passed" in out.getvalue()


# ---------------------------------------------------------------- key mode in a real pty, fake grader

DRIVER = """
import os, sys, termios
sys.path.insert(0, {tests!r})
from test_session import FakeGrader, SlowRebuildGrader, MINI
from pathlib import Path
from tutor.pack.loader import load_pack
from tutor.workspace import Workspace
from tutor.ui.session import run_session
before = termios.tcgetattr(0)
pack_dir = Path(os.environ.get("DRIVE_PACK", MINI))
pack = load_pack(pack_dir)
ws = Workspace.create(os.getcwd(), pack, str(pack_dir))
grader = SlowRebuildGrader() if os.environ.get("DRIVE_SLOW_REBUILD") else FakeGrader()
try:
    code = run_session(ws, pack, grader, os.environ.get("DRIVE_LANG", "en"))
finally:
    print("TERMINAL", "RESTORED" if termios.tcgetattr(0) == before else "BROKEN", flush=True)
sys.exit(code)
"""


def _drive(folder: Path, dims: tuple[int, int] = (60, 120), **env_extra: str):
    pexpect = pytest.importorskip("pexpect")
    env = dict(os.environ, TERM="xterm", **env_extra)
    for name in ("EDITOR", "VISUAL"):
        if name not in env_extra:
            env.pop(name, None)
    code = DRIVER.format(tests=str(Path(__file__).parent))
    return pexpect.spawn(sys.executable, ["-c", code], cwd=str(folder), env=env, encoding="utf-8",
                         timeout=60, dimensions=dims)


def _quit(child) -> None:
    """q, and the driver says the terminal is as it found it."""
    pexpect = pytest.importorskip("pexpect")
    child.send("q")
    child.expect("TERMINAL RESTORED")
    child.expect(pexpect.EOF)


def test_pty_keys_watch_and_terminal_restored(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    child = _drive(tmp_path)
    exercise = tmp_path / "exercises" / "views" / "first-row.py"
    try:
        child.expect("Lesson 1 of 1")  # the intro first, on a screen of its own
        child.expect("A view shares its base's storage")
        child.expect("back to the task")
        child.send("\r")
        child.expect("Return the first row of x as a view")
        child.expect("Watching")
        child.expect("quit")
        child.send("c")  # check now: the untouched starter is not graded
        child.expect("Not started yet")
        child.expect("quit")
        time.sleep(0.3)
        _save(exercise, COPY)  # a save is checked without a key
        child.expect("Not yet")
        child.expect("it is a view")
        child.expect("quit")
        child.send("s")
        child.expect("unlocks once this task passes")
        child.send("h")
        child.expect("Hint 1 of 1")
        child.expect("Indexing returns a view")
        child.expect("quit")
        _save(exercise, "")
        child.expect("first-row.py is empty: write the function `solve`")
        _save(exercise, RIGHT)
        child.expect("Passed")
        child.expect("Course complete")  # the mini pack's only task: the course is done
        child.expect("quit")
        child.send("s")
        child.expect("The reference solution")
        child.expect("quit")
        child.send("l")
        child.expect("1 of 1 tasks done")
        child.expect("Enter to go back")
        child.send("9")
        child.send("\x7f")  # backspace
        child.send("1\r")
        child.expect(r"views/first-row\S* · \S*First row")
        child.expect("quit")
        child.send("r")
        child.expect("your old file is kept as")
        child.expect("quit")
        assert "NotImplementedError" in exercise.read_text()
        child.send("q")
        child.expect("Progress saved")
        child.expect("TERMINAL RESTORED")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    record = Progress.load(Workspace(tmp_path)).get(TASK)
    assert record.passed and record.hints_used == 1 and record.attempts == 2


def test_pty_page_fits_the_terminal_redrawn_in_place_and_paged(tmp_path):
    """In a 14-row terminal: every redraw starts at the top-left and never scrolls; long pages page."""
    pexpect = pytest.importorskip("pexpect")
    rows = 14
    child = _drive(tmp_path, dims=(rows, 80))
    child.logfile_read = seen = io.StringIO()
    try:
        child.expect("back to the task")
        child.send("\r")
        child.expect("First row")  # the task's heading at the top, then its prompt and file
        child.expect("Your file")
        child.expect("more lines: space")  # cases and checks do not fit in 14 rows
        child.send(" ")
        child.expect("aliasing: which inputs")  # the next page: what is checked
        for key in "hhl":
            child.send(key)
            child.expect("quit|Enter to go back")
        child.send("\x1b")
        child.expect("quit")
        _quit(child)
    finally:
        child.close(force=True)
    pages = seen.getvalue().split("\x1b[H")[1:-1]  # each redraw, up to the next; the last one ends with the goodbye
    assert len(pages) >= 5
    for page in pages:
        assert page.count("\n") <= rows - 1  # nothing scrolled into the scrollback


def test_pty_damaged_progress_rebuilt_in_the_background_while_list_says_so(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    pack = two_lesson_pack(tmp_path)
    folder = tmp_path / "learner"
    folder.mkdir()
    from tutor.workspace import Workspace as W

    ws = W.create(folder, load_pack(pack), str(pack))
    write(ws, RIGHT)
    ws.progress_file.write_text("{ not json")
    child = _drive(folder, DRIVE_PACK=str(pack), DRIVE_SLOW_REBUILD="1")
    try:
        child.expect("in the background")
        child.expect("back to the task")
        child.send("\r")
        child.expect("First row")  # the session is usable at once
        child.expect("quit")
        listing = subprocess.run([str(TUTOR), "list"], cwd=folder, capture_output=True, text=True, timeout=120,
                                 env=dict(os.environ, TUTOR_LANG="en"))
        assert "Rebuilding progress" in listing.stderr and "0 of 3 tasks done" in listing.stdout
        (folder / "go").write_text("")  # let the re-grade finish
        child.expect("Recovered 1 passed tasks")
        _quit(child)
    finally:
        child.close(force=True)
    listing = subprocess.run([str(TUTOR), "list"], cwd=folder, capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, TUTOR_LANG="en"))
    assert "Rebuilding" not in listing.stderr and "1 of 3 tasks done" in listing.stdout


@pytest.mark.parametrize("lang, words", [("en", ["Lesson complete: Views and storage", "Press n for the next lesson"]),
                                          ("zh", ["本课完成：视图与存储", "按 n 进入下一课"])])
def test_pty_lesson_complete_screen(tmp_path, lang, words):
    pexpect = pytest.importorskip("pexpect")
    pack = two_lesson_pack(tmp_path)
    child = _drive(tmp_path, DRIVE_PACK=str(pack), DRIVE_LANG=lang)
    try:
        child.expect("Lesson 1 of 2|共 2 课")  # the intro
        child.send("\r")
        child.expect("First row|第一行")
        time.sleep(0.5)
        _save(tmp_path / "exercises" / "views" / "first-row.py", RIGHT)
        for word in words:
            child.expect(word)
        child.send("n")
        child.expect("more/first-row")
        _quit(child)
    finally:
        child.close(force=True)


def test_pty_editor_key_suspends_and_resumes(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    editor = tmp_path / "fake-editor.py"
    editor.write_text(
        "import sys, termios\n"
        "attrs = termios.tcgetattr(0)\n"
        "print('EDITOR SEES', 'COOKED' if attrs[3] & termios.ICANON else 'CBREAK', flush=True)\n"
        f"open(sys.argv[1], 'w').write({RIGHT!r})\n"
    )
    child = _drive(tmp_path, EDITOR=f"{sys.executable} {editor}")
    try:
        child.expect("quit")
        child.send("e")
        child.expect("EDITOR SEES COOKED")  # the terminal was given back to the editor
        child.expect("Passed")  # its save was checked
        child.expect("quit")
        _quit(child)
    finally:
        child.close(force=True)


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_pty_interrupts_restore_the_terminal(tmp_path, how):
    pexpect = pytest.importorskip("pexpect")
    child = _drive(tmp_path)
    try:
        child.expect("quit")
        if how == "ctrl-c":
            child.sendintr()
        else:
            child.kill(signal.SIGTERM)
        child.expect("TERMINAL RESTORED")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def test_pty_ctrl_z_gives_the_terminal_back_and_fg_takes_it_again(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    import termios

    child = _drive(tmp_path)
    try:
        child.expect("quit")
        assert not termios.tcgetattr(child.child_fd)[3] & termios.ICANON  # cbreak
        child.sendcontrol("z")
        deadline = time.time() + 10
        while not termios.tcgetattr(child.child_fd)[3] & termios.ICANON and time.time() < deadline:
            time.sleep(0.05)
        assert termios.tcgetattr(child.child_fd)[3] & termios.ICANON  # stopped: cooked again
        os.kill(child.pid, signal.SIGCONT)
        child.expect("quit")  # redrawn
        assert not termios.tcgetattr(child.child_fd)[3] & termios.ICANON
        child.send("h")
        child.expect("Indexing returns a view")
        _quit(child)
    finally:
        child.close(force=True)


def test_pty_no_editor_set(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    child = _drive(tmp_path)
    try:
        child.expect("quit")
        child.send("e")
        child.expect("Set \\$EDITOR")
        child.send("n")
        child.expect("Pass this task first")
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


# ---------------------------------------------------------------- a real terminal (pexpect)

TUTOR = Path(sys.executable).parent / "tutor"


def _has_start() -> bool:
    if not TUTOR.exists():
        return False
    try:
        run = subprocess.run([str(TUTOR), "start", "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return run.returncode == 0 and "--pack" in run.stdout


needs_start = pytest.mark.skipif(not _has_start(), reason="`tutor start` is not in the CLI yet")


def _spawn(folder: Path, *args: str, timeout: float = 60):
    pexpect = pytest.importorskip("pexpect")
    env = dict(os.environ, TUTOR_LANG="en", COLUMNS="100", LINES="50", TERM="xterm")
    env.pop("EDITOR", None)
    env.pop("VISUAL", None)
    child = pexpect.spawn(
        str(TUTOR), ["start", "--pack", str(MINI), *args], cwd=str(folder), env=env,
        encoding="utf-8", timeout=timeout, dimensions=(50, 100),
    )
    return child


def _save(path: Path, text: str | bytes) -> None:
    """Save as an editor does: a temp file renamed over the exercise."""
    tmp = path.with_name("." + path.name + ".tmp-save")
    tmp.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    os.replace(tmp, path)


@needs_start
def test_terminal_full_loop(tmp_path):
    folder = tmp_path / "learner"
    folder.mkdir()
    child = _spawn(folder)
    try:
        child.expect("A view shares its base's storage")  # the lesson intro, on its own screen
        child.send("\r")
        child.expect("Return the first row of x as a view")
        child.expect("quit")  # the footer: the loop is ready
        exercise = folder / "exercises" / "views" / "first-row.py"
        assert exercise.exists() and (folder / ".tutor").is_dir()
        time.sleep(0.5)
        _save(exercise, COPY)
        child.expect("Not yet", timeout=120)  # the first check starts the worker: allow time
        child.expect("shares storage with x")
        child.send("h")
        child.expect("Indexing returns a view")
        _save(exercise, RIGHT)
        child.expect("Passed", timeout=60)
        child.send("l")
        child.expect("1 of 1 tasks done")
        child.send("\x1b")  # back from the list
        child.send("q")
        child.expect(pytest.importorskip("pexpect").EOF)
    finally:
        child.close(force=True)
    progress = json.loads((folder / ".tutor" / "progress.json").read_text())
    record = progress["tasks"][TASK]
    assert record["passed"] and record["hints_used"] == 1 and record["attempts"] >= 2


@needs_start
def test_terminal_resume_at_next_task(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    pack = two_lesson_pack(tmp_path)
    folder = tmp_path / "learner"
    folder.mkdir()
    env = dict(os.environ, TUTOR_LANG="en", TERM="xterm")
    env.pop("EDITOR", None)

    def spawn():
        return pexpect.spawn(str(TUTOR), ["start", "--pack", str(pack)], cwd=str(folder), env=env,
                             encoding="utf-8", timeout=120, dimensions=(50, 100))

    child = spawn()
    try:
        child.expect("views/first-row")
        child.expect("quit")
        time.sleep(0.5)
        _save(folder / "exercises" / "views" / "first-row.py", RIGHT)
        child.expect("Passed")
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    child = spawn()
    try:
        child.expect("more/first-row")
        child.expect("quit")
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


@needs_start
def test_terminal_kill_9_keeps_progress(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    folder = tmp_path / "learner"
    folder.mkdir()
    child = _spawn(folder, timeout=120)
    try:
        child.expect("quit")
        exercise = folder / "exercises" / "views" / "first-row.py"
        time.sleep(0.5)
        _save(exercise, COPY)
        child.expect("Not yet")
        child.send("h")
        child.expect("Indexing returns a view")
        _save(exercise, RIGHT)
        child.expect("Passed")
        os.kill(child.pid, signal.SIGKILL)
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    progress = json.loads((folder / ".tutor" / "progress.json").read_text())
    record = progress["tasks"][TASK]
    assert record["passed"] and record["hints_used"] == 1 and record["attempts"] >= 2
    # And the next start sees it: everything is done in the mini pack.
    child = _spawn(folder)
    try:
        child.expect("1 of 1 tasks done")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


@needs_start
def test_terminal_not_a_tty_uses_manual_mode(tmp_path):
    folder = tmp_path / "learner"
    folder.mkdir()
    env = dict(os.environ, TUTOR_LANG="en")
    first = subprocess.run(
        [str(TUTOR), "start", "--pack", str(MINI)], cwd=folder, env=env, input="q\n",
        capture_output=True, text=True, timeout=120,
    )
    assert first.returncode == 0, first.stderr
    assert "Manual mode" in first.stdout
    (folder / "exercises" / "views" / "first-row.py").write_text(RIGHT)
    second = subprocess.run(
        [str(TUTOR), "start", "--pack", str(MINI)], cwd=folder, env=env, input="\nq\n",
        capture_output=True, text=True, timeout=180,
    )
    assert second.returncode == 0, second.stderr
    assert "Passed" in second.stdout
    assert json.loads((folder / ".tutor" / "progress.json").read_text())["tasks"][TASK]["passed"]


def test_a_learners_check_preempts_a_background_regrade():
    """The re-grade of lost progress gives way: cancelled, run again after the learner's check."""
    from tutor.ui.events import Events, GradeRunner

    class Grader:
        def __init__(self) -> None:
            self.cancelled = threading.Event()

        def cancel(self) -> None:
            self.cancelled.set()

    grader = Grader()
    events = Events()
    runner = GradeRunner(grader, events)
    started = threading.Event()
    runs: list[str] = []
    results: list[str] = []

    def background() -> str:
        runs.append("background")
        started.set()
        if len(runs) == 1:
            assert grader.cancelled.wait(60)  # killed, as a long re-grade would be
            return "cancelled"
        return "re-graded"

    runner.submit(("rebuild", TASK), background, results.append, background=True)
    assert started.wait(30)
    runner.submit(1, lambda: runs.append("mine") or "verdict")
    assert events.next() == ("graded", 1, "verdict")
    deadline = time.time() + 30
    while not results and time.time() < deadline:
        time.sleep(0.05)
    runner.close()
    assert runs == ["background", "mine", "background"] and results == ["re-graded"]
