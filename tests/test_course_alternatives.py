"""Right answers written in another style than the reference must pass: the course grades what
its prompts ask, not the reference's spelling. One file per lesson in tests/course_alternatives/,
graded in one real batch through the CLI."""

from __future__ import annotations

import json

import pytest
import yaml

from conftest import ROOT, grade_json, make_workspace
from tutor.pack.loader import builtin_course, load_pack

ALT_DIR = ROOT / "tests" / "course_alternatives"


def _alternatives() -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for path in sorted(ALT_DIR.glob("*.yaml")):
        for task, entries in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            assert task not in found, f"{path.name}: {task} is listed in another file too"
            found[task] = entries
    return found


ALTERNATIVES = _alternatives()
CASES = [(task, k) for task, entries in sorted(ALTERNATIVES.items()) for k in range(len(entries))]


def test_alternatives_name_tasks_of_the_course() -> None:
    assert set(ALTERNATIVES) <= set(load_pack(builtin_course()).task_ids())


@pytest.fixture(scope="module")
def alternative_batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Workspace k holds the k-th alternative of every task that has one; one CLI call grades them all."""
    depth = max(len(ALTERNATIVES[task]) for task, _ in CASES)
    roots = []
    for k in range(depth):
        answers = {task: ALTERNATIVES[task][k]["code"] for task, j in CASES if j == k}
        roots.append(make_workspace(tmp_path_factory.mktemp(f"alt{k}"), builtin_course(), answers))
    code, data, stderr = grade_json(*map(str, roots), "--seed", "11")
    assert "Traceback" not in stderr
    return {w["workspace"]: {v["task"]: v for v in w["tasks"]} for w in data} | {"_roots": [str(r) for r in roots]}


@pytest.mark.parametrize("task, k", CASES, ids=[f"{t}#{k}" for t, k in CASES])
def test_alternative_passes(alternative_batch: dict, task: str, k: int) -> None:
    verdict = alternative_batch[alternative_batch["_roots"][k]][task]
    failed = [c for c in verdict["checks"] if not c["passed"]]
    assert verdict["status"] == "passed", f"{task}: {json.dumps(failed)[:400]} {json.dumps(verdict['error'])[:300]}"
