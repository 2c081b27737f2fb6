"""``--format prairielearn``: PrairieLearn's external-grader ``results.json`` for one submission.

``{gradable, score, message, output, tests: [{name, description, points,
max_points, message, output}]}``. ``score`` is the fraction of points earned
(0..1); every test carries both ``points`` and ``max_points`` so
``<pl-external-grader-results>`` shows the per-test table.

``gradable`` is false (PrairieLearn marks the submission invalid and uses up no
attempt) when nothing could run: every task's code raised, would not load,
timed out, crashed or was refused (``common.overall_status`` is ``error``),
and when tutor could not grade at all (``not_gradable``). ``format_errors``
then lists why. PrairieLearn reads the file only when the grader exits 0,
which ``tutor grade --format prairielearn`` does once the file is written.
"""

from __future__ import annotations

import json
from typing import Any

from tutor.reports.common import (
    failure_text,
    fmt_points,
    fraction,
    headline,
    json_safe,
    learner_stdout,
    one_workspace,
    reason_text,
    overall_status,
    task_max,
    task_points,
    total_max,
    total_points,
    truncate,
    visible_text,
)
from tutor.verdict import Verdict, WorkspaceResult

# PrairieLearn rejects results over 1 MB; keep each test well under it.
MAX_TEXT = 8000


def _test(v: Verdict) -> dict[str, Any]:
    return {
        "name": v.task,
        "description": v.title or v.task,
        "points": task_points(v),
        "max_points": task_max(v),
        "message": visible_text(truncate(failure_text(v), MAX_TEXT)),
        "output": visible_text(truncate(learner_stdout(v), MAX_TEXT)),
    }


def results_json(ws: WorkspaceResult) -> dict[str, Any]:
    score, top = total_points(ws), total_max(ws)
    if top > 0:
        frac = fraction(score, top)
    else:
        frac = 1.0 if all(v.passed for v in ws.verdicts) else 0.0
    message = f"Points {fmt_points(score)}/{fmt_points(top)}: {ws.passed} of {len(ws.verdicts)} tasks passed."
    data: dict[str, Any] = {
        "gradable": True,
        "score": frac,
        "message": message,
        "output": visible_text("\n".join(f"Warning: {w}" for w in ws.warnings)),
        "tests": [_test(v) for v in ws.verdicts],
    }
    if ws.verdicts and overall_status(ws) == "error":
        data["gradable"] = False
        data["format_errors"] = [visible_text(f"{v.task}: {headline(v)}") for v in ws.verdicts]
        data["message"] = "Nothing could run, so this submission was not graded (no attempt used)."
    return json_safe(data)


def not_gradable(reason: str) -> dict[str, Any]:
    """The file for a submission tutor could not grade: not gradable, and why."""
    reason = reason_text(reason)
    return {"gradable": False, "score": 0, "message": f"The grader could not grade this submission: {reason}",
            "format_errors": [reason], "tests": []}


def render_not_gradable(reason: str) -> str:
    return json.dumps(not_gradable(reason), indent=2, ensure_ascii=False) + "\n"


def render(results: list[WorkspaceResult]) -> str:
    ws = one_workspace(results, "prairielearn")
    return json.dumps(results_json(ws), indent=2, ensure_ascii=False) + "\n"
