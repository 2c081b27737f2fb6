"""``--format github``: what GitHub Actions and GitHub Classroom read.

- ``summary_markdown``: a job-summary table (task | status | points), for
  ``$GITHUB_STEP_SUMMARY``;
- ``notices``: the two annotations GitHub Classroom's reporter writes,
  ``Autograding complete`` / ``Points X/Y`` and ``Autograding report`` /
  ``{"totalPoints": X, "maxPoints": Y}``;
- ``classroom_result``: a grader runner's result (version 1, as
  ``autograding-command-grader`` emits it), and ``classroom_result_b64``: its
  compact JSON in base64, the ``result`` step output that the Classroom
  reporter reads back from ``<ID>_RESULTS``.

``render`` gives the notices, then the Markdown. Every number comes from
``tutor.reports.common``: the reporter sums the tests' ``score`` fields, and
that sum is exactly the total in the notices and the table.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from tutor.reports.common import (
    clean_text,
    failure_text,
    fmt_points,
    headline,
    json_safe,
    overall_status,
    short_status,
    split_task,
    task_max,
    task_points,
    total_max,
    total_points,
    truncate,
)
from tutor.verdict import Verdict, WorkspaceResult

# The Classroom result travels in an environment variable (one string is at most 128 KiB on Linux).
MAX_MESSAGE = 1000

_ICONS = {"passed": "✅", "failed": "❌"}


# ---------------------------------------------------------------- workflow commands


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def notice(title: str, message: str) -> str:
    return f"::notice title={_escape_property(title)}::{_escape_data(message)}"


def notices(ws: WorkspaceResult) -> str:
    """The two notice lines, as GitHub Classroom's reporter writes them."""
    score, top = total_points(ws), total_max(ws)
    report = json.dumps({"totalPoints": score, "maxPoints": top})
    return "\n".join(
        [
            notice("Autograding complete", f"Points {fmt_points(score)}/{fmt_points(top)}"),
            notice("Autograding report", report),
        ]
    )


# ---------------------------------------------------------------- job summary

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")


def _md(text: str) -> str:
    """Plain text safe inside a Markdown table cell or list item."""
    text = " ".join(clean_text(text).split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def _status_cell(v: Verdict) -> str:
    icon = _ICONS.get(v.status.value, "⚠️")
    return f"{icon} {v.status.value}"


def summary_markdown(ws: WorkspaceResult) -> str:
    score, top = total_points(ws), total_max(ws)
    lines = [
        f"### Autograding: {_md(ws.workspace) if ws.workspace else 'results'}",
        "",
        f"**Points {fmt_points(score)}/{fmt_points(top)}**: {ws.passed} of {len(ws.verdicts)} tasks passed.",
        "",
        "| Task | Status | Points |",
        "| --- | --- | ---: |",
    ]
    for v in ws.verdicts:
        lines.append(f"| {_md(v.task)} | {_status_cell(v)} | {fmt_points(task_points(v))}/{fmt_points(task_max(v))} |")
    lines.append(f"| **Total** | {ws.passed}/{len(ws.verdicts)} passed | **{fmt_points(score)}/{fmt_points(top)}** |")
    failing = [v for v in ws.verdicts if not v.passed]
    if failing:
        lines += ["", "<details><summary>Why tasks did not pass</summary>", ""]
        lines += [f"- **{_md(v.task)}**: {_md(headline(v))}" for v in failing]
        lines += ["", "</details>"]
    if ws.warnings:
        lines += [""] + [f"> ⚠️ {_md(w)}" for w in ws.warnings]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- GitHub Classroom


def _classroom_test(v: Verdict) -> dict[str, Any]:
    lesson, name = split_task(v.task)
    return {
        "name": v.task,
        "status": short_status(v),
        "score": task_points(v),
        "max_score": task_max(v),
        "message": truncate(failure_text(v), MAX_MESSAGE),
        "test_code": f"tutor check {v.task}",
        "filename": f"exercises/{lesson}/{name}.py" if lesson else f"exercises/{name}.py",
        "line_no": 0,
        "duration": v.duration_ms,
    }


def classroom_result(ws: WorkspaceResult) -> dict[str, Any]:
    """A runner result (version 1) whose tests' scores sum to the notices' total."""
    return json_safe(
        {
            "version": 1,
            "status": overall_status(ws),
            "max_score": total_max(ws),
            "tests": [_classroom_test(v) for v in ws.verdicts],
        }
    )


def classroom_result_b64(ws: WorkspaceResult) -> str:
    """Base64 of the compact JSON: the step output ``result`` (read as ``<ID>_RESULTS``)."""
    compact = json.dumps(classroom_result(ws), separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(compact.encode("utf-8")).decode("ascii")


# ---------------------------------------------------------------- the format


def render(results: list[WorkspaceResult]) -> str:
    """Per workspace: its notices, then its job-summary Markdown."""
    return "\n".join(notices(ws) + "\n\n" + summary_markdown(ws) for ws in results)

