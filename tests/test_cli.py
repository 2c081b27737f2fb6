"""The CLI contract: exit codes, one-line located errors, fast paths, and the learner commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import PACKS, ROOT, make_workspace, run_tutor

MINI = PACKS / "mini"
BROKEN = """format: 1
id: Bad_Id
title: 5
tasks:
  - id: t1
    title: x
    bogus: 1
    starter: |
      def solve(x):
          return x +
    solution: |
      def solve(x):
          return x
    cases:
      - {x: {shape: [2, 2], dist: weird}}
"""


def test_broken_lesson_is_refused_with_every_error_located(tmp_path: Path) -> None:
    lesson = tmp_path / "broken.yaml"
    lesson.write_text(BROKEN)
    proc = run_tutor("lesson", "validate", str(lesson))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert f"{lesson}:2:5: " in lines[0]  # the id, at its node
    assert any(f"{lesson}:3:8:" in line and "text" in line for line in lines)
    assert any(f"{lesson}:7:5:" in line and "bogus" in line for line in lines)
    assert any(f"{lesson}:10:21:" in line and "syntax error" in line for line in lines)  # mapped into the YAML
    assert any(f"{lesson}:15:35:" in line and "weird" in line for line in lines)


def test_validate_json_for_ci(tmp_path: Path) -> None:
    lesson = tmp_path / "broken.yaml"
    lesson.write_text(BROKEN)
    proc = run_tutor("lesson", "validate", "--json", str(lesson))
    assert proc.returncode == 2
    report = json.loads(proc.stdout.splitlines()[0])
    assert report["valid"] is False and report["errors"][0]["line"] == 2


def test_usage_mistakes_exit_2_with_one_line() -> None:
    for args in (["frob"], ["check", "--device", "tpu"], ["list", "--pack", "/nope"], ["check", "--bogus"]):
        proc = run_tutor(*args)
        assert proc.returncode == 2, args
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, (args, proc.stderr)


def test_help_and_list_import_no_torch(tmp_path: Path) -> None:
    probe = (
        "import sys, io, contextlib\n"
        "from tutor.entry import main\n"
        "sys.argv = ['tutor'] + sys.argv[1:]\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main()\n    except SystemExit:\n        pass\n"
        "print(sorted(m for m in ('torch', 'pydantic') if m in sys.modules))\n"
    )
    env_run = lambda *a: subprocess.run([sys.executable, "-c", probe, *a], capture_output=True, text=True, cwd=tmp_path)
    env_run("list")  # the first list fills the index cache
    assert env_run("list").stdout.strip() == "[]"
    assert "torch" not in env_run("--help").stdout


def test_fast_list_matches_the_full_cli(tmp_path: Path) -> None:
    make_workspace(tmp_path, MINI, {})
    fast = run_tutor("list", cwd=tmp_path)
    full = subprocess.run([sys.executable, "-c", "from tutor.cli import main; main()", "list"],
                          capture_output=True, text=True, cwd=tmp_path, env={"TUTOR_LANG": "en", "PATH": "/usr/bin:/bin"})
    assert fast.returncode == full.returncode == 0
    assert fast.stdout == full.stdout
    assert "views/first-row" in fast.stdout and "0 of 1" in fast.stdout


def test_learner_commands_in_a_workspace(tmp_path: Path) -> None:
    make_workspace(tmp_path, MINI, {})
    shown = run_tutor("show", "views/first-row", cwd=tmp_path)
    assert shown.returncode == 0 and "exercises/views/first-row.py" in shown.stdout
    hint = run_tutor("hint", "views/first-row", cwd=tmp_path)
    assert "Indexing returns a view" in hint.stdout
    locked = run_tutor("solution", "views/first-row", cwd=tmp_path)
    assert locked.returncode == 1 and "return x[0]" not in locked.stdout + locked.stderr
    exercise = tmp_path / "exercises" / "views" / "first-row.py"
    exercise.write_text("def solve(x):\n    return x[0]\n")
    checked = run_tutor("check", cwd=tmp_path)  # the current task, by default
    assert checked.returncode == 0, checked.stdout + checked.stderr
    progress = json.loads((tmp_path / ".tutor" / "progress.json").read_text())
    record = progress["tasks"]["views/first-row"]
    assert record["passed"] and record["attempts"] == 1 and record["hints_used"] == 1
    opened = run_tutor("solution", "views/first-row", cwd=tmp_path)
    assert opened.returncode == 0 and "x[0]" in opened.stdout
    reset = run_tutor("reset", "views/first-row", cwd=tmp_path)
    assert reset.returncode == 0
    assert "NotImplementedError" in exercise.read_text()
    backups = list(exercise.parent.glob("first-row.py.bak-*"))
    assert len(backups) == 1 and "return x[0]" in backups[0].read_text()
    listed = run_tutor("list", cwd=tmp_path)
    assert "1 of 1" in listed.stdout


def test_chinese_everywhere(tmp_path: Path) -> None:
    make_workspace(tmp_path, MINI, {"views/first-row": "def solve(x):\n    return x[0].clone()\n"})
    proc = run_tutor("check", "views/first-row", "--lang", "zh", cwd=tmp_path)
    assert proc.returncode == 1
    assert "副本" in proc.stdout  # the aliasing message and the task's feedback, in Chinese
    listed = run_tutor("list", "--lang", "zh", cwd=tmp_path)
    assert "视图与存储" in listed.stdout


def test_python_dash_m_tutor_is_the_same_command() -> None:
    proc = subprocess.run([sys.executable, "-m", "tutor", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and "grade" in proc.stdout


def test_help_speaks_the_learners_language() -> None:
    zh = run_tutor("check", "--help", env={"TUTOR_LANG": "zh"})
    en = run_tutor("check", "--help")
    assert zh.returncode == en.returncode == 0
    assert "评分一个练习" in zh.stdout and "Grade one task once" in en.stdout
