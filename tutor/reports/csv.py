"""``--format csv``: a gradebook, one row per workspace.

Columns: ``workspace``, one per task id (the union over all workspaces, in the
order first seen) holding that task's points, then ``total`` and ``max``. A
task a workspace was not graded on is an empty cell. A workspace name that a
spreadsheet would read as a formula (starting with ``= + - @``) gets a
leading ``'``.
"""

from __future__ import annotations

import csv
import io

from tutor.reports.common import fmt_points, task_points, total_max, total_points
from tutor.verdict import WorkspaceResult

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def columns(results: list[WorkspaceResult]) -> list[str]:
    return list(dict.fromkeys(v.task for ws in results for v in ws.verdicts))


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def rows(results: list[WorkspaceResult]) -> list[list[str]]:
    tasks = columns(results)
    out = [["workspace", *tasks, "total", "max"]]
    for ws in results:
        scores = {v.task: fmt_points(task_points(v)) for v in ws.verdicts}
        out.append(
            [
                _cell(ws.workspace),
                *(scores.get(t, "") for t in tasks),
                fmt_points(total_points(ws)),
                fmt_points(total_max(ws)),
            ]
        )
    return out


def render(results: list[WorkspaceResult]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows(rows(results))
    return buf.getvalue()
