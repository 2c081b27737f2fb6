"""Shared fixtures: the real CLI as a subprocess, the real engine, the test packs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKS = ROOT / "tests" / "packs"


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if cuda_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


def run_tutor(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
              timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The real `tutor` command, as a user runs it."""
    full_env = {**os.environ, "TUTOR_LANG": "en", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tutor", *args], cwd=cwd or ROOT, env=full_env,
        capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture(scope="session")
def grader() -> Any:
    """One warm engine for the whole test session (the sandbox start costs seconds)."""
    from tutor.grading.engine import Grader

    with Grader(device="cpu", jobs=1, lang="en") as g:
        yield g


def make_workspace(root: Path, pack_dir: Path, answers: dict[str, str]) -> Path:
    """A learner workspace for ``pack_dir`` with the given exercise files written."""
    from tutor.pack.loader import load_pack
    from tutor.workspace import Workspace

    pack = load_pack(pack_dir)
    ws = Workspace.create(root, pack, str(pack_dir))
    for task_id, code in answers.items():
        ws.exercise_path(task_id).write_text(code, encoding="utf-8")
    return root


def grade_json(*args: str, cwd: Path | None = None) -> tuple[int, list[dict[str, Any]], str]:
    proc = run_tutor("grade", *args, "--format", "json", cwd=cwd)
    data = json.loads(proc.stdout) if proc.stdout.strip() else []
    return proc.returncode, data, proc.stderr


def course_answers(folder: Path) -> dict[str, list[dict[str, str]]]:
    """Answers for the built-in course kept one file per lesson (task id -> entries), so lessons
    can be written and reviewed on their own; a task may appear in one file only."""
    import yaml

    found: dict[str, list[dict[str, str]]] = {}
    for path in sorted(folder.glob("*.yaml")):
        for task, entries in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            assert task not in found, f"{path.name}: {task} is listed in another file too"
            found[task] = entries
    return found


def grade_course_answers(tmp: pytest.TempPathFactory, answers: dict[str, list[dict[str, str]]],
                         ) -> tuple[int, dict[tuple[str, int], dict[str, Any]], str]:
    """Workspace k holds the k-th answer of every task that has one; one CLI call grades them
    all. Returns the exit code, each (task, k)'s verdict, and stderr."""
    from tutor.pack.loader import builtin_course

    depth = max(len(entries) for entries in answers.values())
    roots = []
    for k in range(depth):
        files = {task: entries[k]["code"] for task, entries in answers.items() if k < len(entries)}
        roots.append(str(make_workspace(tmp.mktemp(f"answers{k}"), builtin_course(), files)))
    code, data, stderr = grade_json(*roots, "--seed", "11")
    by_root = {w["workspace"]: {v["task"]: v for v in w["tasks"]} for w in data}
    verdicts = {(task, k): by_root[root][task] for k, root in enumerate(roots) for task in by_root.get(root, {})}
    return code, verdicts, stderr
