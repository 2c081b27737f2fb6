"""``--format github``: what GitHub Actions and GitHub Classroom read.

- ``summary_markdown``: a job-summary table (task | status | points), for
  ``$GITHUB_STEP_SUMMARY``;
- ``notices``: the two annotations GitHub Classroom's reporter
  (``classroom-resources/autograding-grading-reporter``, ``src/notify-classroom.js``)
  writes from the runner result, byte for byte: ``Autograding complete`` /
  ``Points X/Y`` and ``Autograding report`` / ``{"totalPoints":X,"maxPoints":Y}``,
  where X is the reporter's own sum of the tests' ``score`` in floating point,
  written as JavaScript writes numbers (``js_number``): a fractional total may
  read ``0.30000000000000004``, exactly what Classroom records;
- ``classroom_result``: a grader runner's result (version 1, with the keys and
  order ``autograding-command-grader`` emits), and ``classroom_result_b64``:
  its compact JSON in base64, the ``result`` step output that the reporter
  reads back from ``<ID>_RESULTS``. ``grading_failed`` is the result for a run
  that produced no report: one failing test that says why, and a
  ``max_score`` so that Classroom still records 0 points.

The reporter's console table counts passed tests, not points
((passed / tests) * max_score): with unequal task points or partial credit it
differs from the notices; the notices are what Classroom records.

``render`` gives the notices, then the Markdown.
"""

from __future__ import annotations

import base64
import json
import re
from decimal import Decimal
from typing import Any

from tutor.reports.common import (
    clean_text,
    failure_text,
    fmt_points,
    headline,
    json_safe,
    overall_status,
    points,
    short_status,
    split_task,
    task_max,
    task_points,
    total_max,
    total_points,
    truncate,
    visible_text,
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


def js_number(x: float) -> str:
    """``x`` as JavaScript's ``String(x)`` writes it (ECMA-262 Number::toString).

    Python's ``repr`` gives the same shortest digits; only the layout differs
    (``1e-07`` is ``1e-7``, ``1e+16`` is ``10000000000000000``, ``2.0`` is ``2``).
    """
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(float(x))).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    k, n = len(text), exponent + len(text)  # digits, and where the decimal point goes
    if k <= n <= 21:
        body = text + "0" * (n - k)
    elif 0 < n <= 21:
        body = f"{text[:n]}.{text[n:]}"
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + text
    else:
        e = n - 1
        mantissa = text[0] + (f".{text[1:]}" if k > 1 else "")
        body = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return ("-" if sign else "") + body


def reporter_totals(result: dict[str, Any]) -> tuple[float, float] | None:
    """``(totalPoints, maxPoints)`` as the reporter adds them up from one runner result,
    or None when it writes no notices (``max_score`` 0 or missing)."""
    if not result.get("max_score"):
        return None
    total: float = 0
    for test in result.get("tests", []):
        total += test["score"]
    return total, result["max_score"]


def notices(ws: WorkspaceResult) -> str:
    """The two notice lines, exactly as GitHub Classroom's reporter writes them for this result."""
    return notices_for(classroom_result(ws))


def notices_for(result: dict[str, Any]) -> str:
    totals = reporter_totals(result)
    if totals is None:
        return ""
    score, top = totals
    report = f'{{"totalPoints":{js_number(score)},"maxPoints":{js_number(top)}}}'
    return "\n".join(
        [
            notice("Autograding complete", f"Points {js_number(score)}/{js_number(top)}"),
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
        "message": visible_text(truncate(failure_text(v), MAX_MESSAGE)),
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


def grading_failed(why: str, max_score: float = 0) -> dict[str, Any]:
    """The runner result when tutor wrote no report: one failing test that says why.

    ``max_score`` is what the work was worth (the pack's total); at least 1, so
    the reporter still writes ``Points 0/...`` and Classroom records a 0
    instead of nothing.
    """
    why = visible_text(why.strip()) or "tutor grade wrote no report"
    top = points(max_score) if max_score > 0 else 1
    return {
        "version": 1,
        "status": "error",
        "max_score": top,
        "tests": [
            {
                "name": "tutor grade",
                "status": "error",
                "score": 0,
                "message": truncate(why, MAX_MESSAGE),
                "test_code": "tutor grade .",
                "filename": "",
                "line_no": 0,
                "duration": 0,
            }
        ],
    }


def encode_result(result: dict[str, Any]) -> str:
    """Base64 of the compact JSON (``JSON.stringify``'s layout): the step output ``result``."""
    compact = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(compact.encode("utf-8")).decode("ascii")


def classroom_result_b64(ws: WorkspaceResult) -> str:
    return encode_result(classroom_result(ws))


# ---------------------------------------------------------------- the format


def render(results: list[WorkspaceResult]) -> str:
    """Per workspace: its notices, then its job-summary Markdown."""
    return "\n".join(notices(ws) + "\n\n" + summary_markdown(ws) for ws in results)

