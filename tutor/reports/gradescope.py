"""``--format gradescope``: Gradescope's ``results.json`` for one submission.

Top level: ``score`` (the total, which Gradescope takes over the sum of the
tests), ``execution_time`` (seconds), ``output`` with ``output_format``,
``test_output_format`` and ``test_name_format`` (all ``text``: Gradescope
renders nothing in them, so ``<task>.py`` stays visible), ``visibility``,
``stdout_visibility`` and ``extra_data``; one test per task with ``name`` (the
task id), ``number`` (``"lesson.task"`` ordinals), ``score``, ``max_score``,
``status``, ``output``, ``output_format``, ``tags`` (the status and each failed
``check:aspect``), ``visibility`` and ``extra_data``.
Control characters the learner printed are written out (``\\x1b``), never
passed on.

``not_gradable`` is the file for a submission tutor could not grade: score 0
and a failing test that says so and why, so the student sees that the
autograder failed rather than an empty 0.

Students read the ``output`` fields. They hold the verdict's messages and
nothing more: hidden cases' messages carry no values, and a task with hidden
cases never shows the learner's printed output (it could print the inputs).
"""

from __future__ import annotations

import json
from typing import Any

from tutor.reports.common import (
    failure_text,
    json_safe,
    fmt_points,
    learner_stdout,
    one_workspace,
    reason_text,
    ordinals,
    points,
    task_max,
    task_points,
    total_max,
    total_points,
    truncate,
    visible_text,
)
from tutor.verdict import Verdict, WorkspaceResult

# Per-test output shown to students; Gradescope pages get slow on huge outputs.
MAX_OUTPUT = 8000
MAX_STDOUT = 2000
# Gradescope's formats: "text" renders no HTML, Markdown or ANSI.
TEXT = "text"


def _extra(v: Verdict) -> dict[str, Any]:
    return {
        "task": v.task,
        "status": v.status.value,
        "seed": v.seed,
        "device": v.device,
        "duration_ms": v.duration_ms,
        "pack": None if v.pack is None else {"id": v.pack.id, "version": v.pack.version, "hash": v.pack.hash},
        "versions": dict(v.versions),
    }


def _test_output(v: Verdict) -> str:
    parts = []
    if v.title:
        parts.append(v.title)
    parts.append(failure_text(v) or "All checks passed.")
    if 0 < v.score < v.max_score:
        parts.append(f"Points: {fmt_points(task_points(v))}/{fmt_points(task_max(v))}")
    out = learner_stdout(v)
    if out.strip():
        parts.append("Your code printed:\n" + truncate(out, MAX_STDOUT))
    return visible_text(truncate("\n\n".join(parts), MAX_OUTPUT))


def task_entry(v: Verdict, number: str) -> dict[str, Any]:
    return {
        "name": v.task,
        "number": number,
        "score": task_points(v),
        "max_score": task_max(v),
        "status": "passed" if v.passed else "failed",
        "output": _test_output(v),
        "output_format": TEXT,
        "tags": tags(v),
        "visibility": "visible",
        "extra_data": _extra(v),
    }


def tags(v: Verdict) -> list[str]:
    """The task's status and what failed, ``check:aspect`` (``result:shape``): Gradescope
    keeps tags per test, so an instructor can find every shape mistake of a class."""
    failed = [f"{c.name}:{c.aspect}" if c.aspect else c.name for c in v.failed_checks()]
    return [v.status.value, *dict.fromkeys(failed)]


def results_json(ws: WorkspaceResult) -> dict[str, Any]:
    numbers = ordinals(ws)
    score, top = total_points(ws), total_max(ws)
    lines = [f"Points {fmt_points(score)}/{fmt_points(top)}: {ws.passed} of {len(ws.verdicts)} tasks passed."]
    lines += [f"Warning: {w}" for w in ws.warnings]
    first = ws.verdicts[0] if ws.verdicts else None
    return {
        "score": score,
        "execution_time": points(sum(v.duration_ms for v in ws.verdicts) / 1000),
        "output": visible_text("\n".join(lines)),
        "output_format": TEXT,
        "test_output_format": TEXT,
        "test_name_format": TEXT,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {
            "workspace": ws.workspace,
            "max_score": top,
            "passed": ws.passed,
            "total": len(ws.verdicts),
            "warnings": list(ws.warnings),
            "seed": first.seed if first else None,
            "device": first.device if first else None,
            "pack": _extra(first)["pack"] if first else None,
            "versions": dict(first.versions) if first else {},
        },
        "tests": [task_entry(v, numbers[v.task]) for v in ws.verdicts],
    }


GRADING_FAILED = "The autograder could not grade this submission"


def not_gradable(reason: str) -> dict[str, Any]:
    """A valid ``results.json`` saying grading failed, and why, where the student looks."""
    reason = reason_text(reason)
    return {
        "score": 0,
        "output": f"{GRADING_FAILED}: {reason}\nYour instructor can see the details in the autograder output.",
        "output_format": TEXT,
        "test_output_format": TEXT,
        "test_name_format": TEXT,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"error": reason},
        "tests": [
            {"name": GRADING_FAILED, "status": "failed", "output": reason, "output_format": TEXT, "visibility": "visible"}
        ],
    }


def render_not_gradable(reason: str) -> str:
    return json.dumps(not_gradable(reason), indent=2, ensure_ascii=False) + "\n"


def render(results: list[WorkspaceResult]) -> str:
    ws = one_workspace(results, "gradescope")
    return json.dumps(json_safe(results_json(ws)), indent=2, ensure_ascii=False) + "\n"
