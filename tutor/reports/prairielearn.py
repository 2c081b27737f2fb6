"""``--format prairielearn``: PrairieLearn's external-grader ``results.json`` for one submission.

``{gradable, score, message, output, tests: [{name, description, points,
max_points, message, output}]}``. ``score`` is the fraction of points earned
(0..1); every test carries both ``points`` and ``max_points`` so PrairieLearn
shows the per-test table. ``gradable`` is always true: a task that does not
load scores 0 like any other failure.
"""

from __future__ import annotations

import json
from typing import Any

from tutor.reports.common import (
    failure_text,
    fmt_points,
    fraction,
    json_safe,
    learner_stdout,
    one_workspace,
    task_max,
    task_points,
    total_max,
    total_points,
    truncate,
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
        "message": truncate(failure_text(v), MAX_TEXT),
        "output": truncate(learner_stdout(v), MAX_TEXT),
    }


def results_json(ws: WorkspaceResult) -> dict[str, Any]:
    score, top = total_points(ws), total_max(ws)
    if top > 0:
        frac = fraction(score, top)
    else:
        frac = 1.0 if all(v.passed for v in ws.verdicts) else 0.0
    message = f"Points {fmt_points(score)}/{fmt_points(top)}: {ws.passed} of {len(ws.verdicts)} tasks passed."
    return json_safe(
        {
            "gradable": True,
            "score": frac,
            "message": message,
            "output": "\n".join(f"Warning: {w}" for w in ws.warnings),
            "tests": [_test(v) for v in ws.verdicts],
        }
    )


def render(results: list[WorkspaceResult]) -> str:
    ws = one_workspace(results, "prairielearn")
    return json.dumps(results_json(ws), indent=2, ensure_ascii=False) + "\n"
