"""Right answers written in another style than the reference must pass: the course grades what
its prompts ask, not the reference's spelling. One file per lesson in tests/course_alternatives/,
graded in one real batch through the CLI."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT, course_answers, grade_course_answers
from tutor.pack.loader import builtin_course, load_pack

ALT_DIR = ROOT / "tests" / "course_alternatives"
ALTERNATIVES = course_answers(ALT_DIR)
CASES = [(task, k) for task, entries in sorted(ALTERNATIVES.items()) for k in range(len(entries))]


def test_alternatives_name_tasks_of_the_course() -> None:
    assert set(ALTERNATIVES) <= set(load_pack(builtin_course()).task_ids())


@pytest.fixture(scope="module")
def alternative_batch(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], dict]:
    _, verdicts, stderr = grade_course_answers(tmp_path_factory, ALTERNATIVES)
    assert "Traceback" not in stderr
    return verdicts


@pytest.mark.parametrize("task, k", CASES, ids=[f"{t}#{k}" for t, k in CASES])
def test_alternative_passes(alternative_batch: dict, task: str, k: int) -> None:
    verdict = alternative_batch[task, k]
    failed = [c for c in verdict["checks"] if not c["passed"]]
    assert verdict["status"] == "passed", f"{task}: {json.dumps(failed)[:400]} {json.dumps(verdict['error'])[:300]}"
