"""The learner's loop in a real terminal (pexpect), second pass: what a newcomer trips over.

Each ``tutor start`` here is the real command with the real sandbox; the
scenarios are combined so the slow part (a warm worker) is paid for few
times. Expectations wait generously and never time anything: a loaded
2-core machine only makes them slower, not different.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_session import MINI, RIGHT, TASK, _save, two_lesson_pack

pexpect = pytest.importorskip("pexpect")

BIN = Path(sys.executable).parent
TUTOR = BIN / "tutor"
LOOP = "import torch\n\ndef solve(x):\n    while True:\n        pass\n"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _env(lang: str = "en", **extra: str) -> dict[str, str]:
    env = dict(os.environ, TUTOR_LANG=lang, TERM="xterm", **extra)
    env.pop("EDITOR", None)
    env.pop("VISUAL", None)
    # A PATH without this venv: `tutor` is not a command here (a new terminal, the venv not active).
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != BIN) or "/usr/bin"
    return env


def _plain(text: str) -> str:
    return ANSI.sub("", text)


def _start(folder: Path, *args: str, lang: str = "en", dims: tuple[int, int] = (40, 120), **extra: str):
    # Started by its relative path, as the README's command does (../.venv/bin/tutor start). The
    # shell resolves it in `folder`; pexpect itself would resolve it against pytest's own cwd.
    command = shlex.join([os.path.relpath(TUTOR, folder), "start", *args])
    return pexpect.spawn("/bin/sh", ["-c", f"exec {command}"], cwd=str(folder), env=_env(lang, **extra),
                         encoding="utf-8", timeout=180, dimensions=dims)


def test_terminal_new_save_cancels_the_check_one_session_and_check_handed_over(tmp_path):
    pack = two_lesson_pack(tmp_path)
    folder = tmp_path / "learner"
    folder.mkdir()
    child = _start(folder, "--pack", str(pack))
    exercise = folder / "exercises" / "views" / "first-row.py"
    try:
        child.expect("A view shares its base's storage")  # the intro, on a screen of its own
        child.send("\r")
        child.expect("Return the first row of x as a view")
        child.expect("quit")
        time.sleep(0.5)
        _save(exercise, LOOP)
        child.expect("Checking views/first-row")
        time.sleep(1.0)
        _save(exercise, RIGHT)  # the fix, while the loop still runs
        child.expect("Passed")
        assert "time limit" not in _plain(child.before)  # the stale check never reported
        child.expect("quit")

        # A second session in the same folder: one line, exit 2.
        second = subprocess.run([str(TUTOR), "start", "--pack", str(pack)], cwd=folder, env=_env(),
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        assert "already running" in second.stderr and len(second.stderr.strip().splitlines()) == 1

        # `tutor check` from another terminal is answered by this session's warm grader:
        # it never imports torch itself (a torch that cannot be imported proves it).
        broken = tmp_path / "no-torch"
        (broken / "torch").mkdir(parents=True)
        (broken / "torch" / "__init__.py").write_text("raise ImportError('no torch in the client')\n")
        check = subprocess.run([str(TUTOR), "check", TASK], cwd=folder, env=_env(PYTHONPATH=str(broken)),
                               capture_output=True, text=True, timeout=120)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "Passed" in check.stdout and "more/first-row" in check.stdout

        child.send("q")
        child.expect("Progress saved")
        # Messages name the command that works here, not a bare `tutor`.
        child.expect(re.escape(f"Run `{os.path.relpath(TUTOR, folder)} start` to continue"))
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    record = json.loads((folder / ".tutor" / "progress.json").read_text())["tasks"][TASK]
    assert record["passed"] and record["attempts"] == 2  # the stale check was not counted; the handed-over one was
    assert f"`{os.path.relpath(TUTOR, folder)} start`" in (folder / "README.md").read_text()
    # With the session gone, `tutor check` grades by itself as before.
    alone = subprocess.run([str(TUTOR), "check", TASK], cwd=folder, env=_env(), capture_output=True, text=True,
                           timeout=300)
    assert alone.returncode == 0 and "Passed" in alone.stdout


def test_terminal_chinese_encodings_intro_again_and_hints(tmp_path):
    folder = tmp_path / "learner"
    folder.mkdir()
    child = _start(folder, "--pack", str(MINI), lang="zh", dims=(40, 60))
    exercise = folder / "exercises" / "views" / "first-row.py"
    try:
        child.expect("第 1 课，共 1 课")
        child.expect("视图与原张量共享存储。")
        child.send("\r")
        child.expect("以视图的形式返回 x 的第一行。")
        child.expect("你的文件：")  # a full-width colon, no half-width one
        child.expect("退出")
        # The starter's docstring is in the workspace's language.
        assert '"""以视图的形式返回 x 的第一行。"""' in exercise.read_text(encoding="utf-8")
        child.send("c")
        child.expect("还没有开始")  # the untouched starter
        # A file Python runs must be graded: a BOM, then a GBK coding line.
        time.sleep(0.5)
        _save(exercise, codecs.BOM_UTF8 + RIGHT.encode())
        child.expect("通过")
        child.expect("退出")
        gbk = "# -*- coding: gbk -*-\n# 取第一行\ndef solve(x):\n    return x[0]\n"
        _save(exercise, gbk.encode("gbk"))
        child.expect("你的文件")  # redrawn for the new content
        child.expect("通过")
        # A byte that is not text: a line and a column, no traceback.
        _save(exercise, b"def solve(x):\n    return x[0]  # \xff\n")
        child.expect(r"first-row\.py:2:\d+")
        child.expect("UTF-8")
        # `i` shows the intro again; Enter goes back to the task.
        child.send("i")
        child.expect("视图与原张量共享存储。")
        child.send("\r")
        child.expect("你的文件")
        # Hints stop at the last one.
        child.send("h")
        child.expect("提示 1/1")
        child.send("h")
        child.expect("已经是最后一条提示了")
        child.send("q")
        child.expect("进度已保存")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    record = json.loads((folder / ".tutor" / "progress.json").read_text())["tasks"][TASK]
    assert record["hints_used"] == 1 and record["passed"]


# ---------------------------------------------------------------- commands that need no session


def _tutor(folder: Path, *args: str, lang: str = "en", dims: tuple[int, int] = (40, 60)) -> str:
    child = pexpect.spawn(str(TUTOR), list(args), cwd=str(folder), env=_env(lang), encoding="utf-8", timeout=120,
                          dimensions=dims)
    child.expect(pexpect.EOF)
    child.close()
    return _plain(child.before)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_list_at_60_columns_and_piped_keeps_titles(tmp_path, lang):
    subprocess.run([str(TUTOR), "init"], cwd=tmp_path, env=_env(lang), check=True, capture_output=True, timeout=120)
    out = _tutor(tmp_path, "list", lang=lang)
    titles = {"en": ["Legacy type names", "The default dtype", "Moving data to a device"],
              "zh": ["旧式类型名", "默认数据类型", "把数据搬到设备上"]}[lang]
    for title in titles:
        assert title in out, out
    assert all(len(line) <= 60 for line in out.splitlines() if "·" in line and "🔒" not in line)
    piped = subprocess.run([str(TUTOR), "list"], cwd=tmp_path, env=_env(lang, COLUMNS="60"), capture_output=True,
                           text=True, timeout=120).stdout
    for title in titles:
        assert title in piped


def test_list_says_progress_is_being_rebuilt(tmp_path):
    subprocess.run([str(TUTOR), "init"], cwd=tmp_path, env=_env(), check=True, capture_output=True, timeout=120)
    (tmp_path / ".tutor" / "progress.json").write_text('{"version": 1, "rebuild_pending": true, "tasks": {}}')
    run = subprocess.run([str(TUTOR), "list"], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "Rebuilding progress" in run.stderr


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_help_and_usage_errors_in_the_language(tmp_path, lang):
    out = _tutor(tmp_path, "check", "--help", lang=lang, dims=(40, 120))
    words = {"en": ["Usage:", "Options:", "Show this message and exit."],
             "zh": ["用法：", "选项：", "显示此帮助并退出。"]}[lang]
    for word in words:
        assert word in out
    if lang == "zh":
        assert "Usage" not in out and "Show this message" not in out
    wrong = subprocess.run([str(TUTOR), "reset"], cwd=tmp_path, env=_env(lang), capture_output=True, text=True,
                           timeout=120)
    assert wrong.returncode == 2
    assert ("缺少参数 'task'。" if lang == "zh" else "Missing argument 'task'.") in wrong.stderr


def test_hint_and_solution_default_to_the_current_task(tmp_path):
    subprocess.run([str(TUTOR), "init", "--pack", str(MINI)], cwd=tmp_path, env=_env(), check=True,
                   capture_output=True, timeout=120)
    first = _tutor(tmp_path, "hint")
    assert "Hint 1 of 1" in first and "Indexing returns a view." in first
    again = _tutor(tmp_path, "hint")
    assert "seen all 1" in again and "`" not in again  # the recap is rendered, not raw Markdown
    progress = json.loads((tmp_path / ".tutor" / "progress.json").read_text())
    assert progress["tasks"][TASK]["hints_used"] == 1  # capped at the number of hints
    locked = subprocess.run([str(TUTOR), "solution"], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                            timeout=120)
    assert locked.returncode == 1 and "opens once your answer passes" in locked.stderr


def test_readme_first_command_leaves_a_working_tutor(tmp_path):
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    first = re.search(r"```bash\n(.+?)\n```", readme).group(1)
    assert ". .venv/bin/activate" in first and first.endswith("&& tutor start")
    # What the activation does, in a real shell: `tutor` is a command there afterwards.
    shell = pexpect.spawn("bash", ["--norc", "--noprofile"], cwd=str(tmp_path), env=_env(), encoding="utf-8",
                          timeout=120)
    try:
        shell.sendline("tutor --help >/dev/null 2>&1; echo BEFORE-$?")
        shell.expect(r"BEFORE-(\d+)")
        assert shell.match.group(1) != "0"  # not on PATH yet
        shell.sendline(f". {BIN / 'activate'} && tutor list --pack {MINI}; echo AFTER-$?")
        shell.expect("First row")
        shell.expect("AFTER-0")
        shell.sendline("exit")
        shell.expect(pexpect.EOF)
    finally:
        shell.close(force=True)
