"""``--format csv``: a gradebook, one row per workspace.

Columns: ``student``, one per task id (the union over all workspaces, in the
order first seen) holding that task's points, then ``total`` and ``max``. A
task a workspace was not graded on is an empty cell.

``student`` comes from the workspace's path by an ``id_from`` rule: ``name``
(the default: the workspace folder's name, e.g. ``alice`` for
``subs/alice/``), ``parent`` (the folder above it, for ``subs/alice/hw1/``),
``path`` (the path as graded), or a regular expression whose first group (or
whole match) is the id, searched in the path (``'subs/([^/]+)-hw1'``). Two
workspaces with the same id are refused: the gradebook would merge them.

A cell that a spreadsheet would read as a formula (starting with ``= + - @``)
gets a leading ``'``. ``bom=True`` starts the file with a UTF-8 byte-order
mark, so a spreadsheet opened by double-click reads "Zoë" as UTF-8.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import PurePath

from tutor.reports.common import fmt_points, task_points, total_max, total_points
from tutor.verdict import WorkspaceResult

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ID_RULES = ("name", "parent", "path")
BOM = "\ufeff"


def columns(results: list[WorkspaceResult]) -> list[str]:
    return list(dict.fromkeys(v.task for ws in results for v in ws.verdicts))


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def student_id(workspace: str, id_from: str = "name") -> str:
    """The student a workspace path belongs to, by the rule ``id_from``; ValueError when it does not apply."""
    path = PurePath(workspace)
    if id_from == "name":
        return path.name or workspace
    if id_from == "parent":
        return path.parent.name or workspace
    if id_from == "path":
        return workspace
    try:
        pattern = re.compile(id_from)
    except re.error as exc:
        raise ValueError(f"--id-from {id_from!r} is neither {', '.join(ID_RULES)} nor a regular expression: {exc}") from None
    m = pattern.search(PurePath(workspace).as_posix())
    if m is None:
        raise ValueError(f"--id-from {id_from!r} does not match the workspace {workspace}")
    return m.group(1) if pattern.groups else m.group(0)


def rows(results: list[WorkspaceResult], id_from: str = "name") -> list[list[str]]:
    tasks = columns(results)
    out = [["student", *tasks, "total", "max"]]
    seen: dict[str, str] = {}
    for ws in results:
        student = student_id(ws.workspace, id_from)
        if student in seen:
            raise ValueError(
                f"{seen[student]} and {ws.workspace} both give the student id {student!r};"
                " choose another --id-from (path, parent or a regular expression)"
            )
        seen[student] = ws.workspace
        scores = {v.task: fmt_points(task_points(v)) for v in ws.verdicts}
        out.append(
            [
                _cell(student),
                *(scores.get(t, "") for t in tasks),
                fmt_points(total_points(ws)),
                fmt_points(total_max(ws)),
            ]
        )
    return out


def render(results: list[WorkspaceResult], *, id_from: str = "name", bom: bool = False) -> str:
    buf = io.StringIO()
    if bom:
        buf.write(BOM)
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows(rows(results, id_from))
    return buf.getvalue()
