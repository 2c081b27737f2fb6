"""``--format exercism``: an Exercism test-runner ``results.json`` (version 3) for one workspace.

``{version: 3, status, message, tests: [{name, test_code, status, message,
output, task_id}]}`` in task order (Exercism shows the first failure).
``status`` is ``pass`` when every task passed, ``error`` when every task
errored (nothing could run; ``message`` then holds each task's error, the
exception's type and message included), else ``fail``. Paths of the grading
machine are written relative to the solution, as ``<solution-dir>/...``.

``test_code`` is the call the task makes of the learner's function
(``Verdict.call``, e.g. ``solve(x)``), under the case it failed on (else its
first visible case) when the code got that far: ``# case 1 (x: float32[5, 4])``
(cases counted from 1, as everywhere people read them). ``output`` is the learner's printed output, at most
500 characters, and empty for tasks with hidden cases. ``task_id`` is the
task's 1-based position in the workspace (Exercism's task ids are numbers).

Exercism's runner must exit 0 whatever the tests did; ``tutor grade --format
exercism`` does once the file is written, and when it could not grade at all
it writes ``not_gradable``: status ``error`` with the reason.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tutor.reports.common import (
    case_label,
    failure_text,
    json_safe,
    learner_stdout,
    one_workspace,
    reason_text,
    overall_status,
    short_status,
    truncate,
    visible_text,
)
from tutor.verdict import CaseInfo, Verdict, WorkspaceResult

MAX_OUTPUT = 500
MAX_MESSAGE = 65535
OUTPUT_TRUNCATED = "\nOutput was truncated. Please limit to 500 chars"
SOLUTION_DIR = "<solution-dir>"
DEFAULT_ENTRY = "solve"  # the lesson format's default entry, for verdicts recorded before `call`


def relative_paths(text: str, root: str) -> str:
    """``text`` with the workspace's absolute path (as given and resolved) written ``<solution-dir>``."""
    if not root:
        return text
    for prefix in dict.fromkeys([os.path.realpath(root), os.path.abspath(root), root]):
        text = text.replace(prefix.rstrip("/") + "/", SOLUTION_DIR + "/")
    return text


def _case(v: Verdict) -> CaseInfo | None:
    failed = [c.case for c in v.failed_checks() if c.case is not None]
    by_index = {c.index: c for c in v.cases}
    if failed and failed[0] in by_index:
        return by_index[failed[0]]
    visible = [c for c in v.cases if not c.hidden]
    return (visible or v.cases or [None])[0]


def task_call(v: Verdict) -> str:
    """The task's call of the learner's function, on the case that matters."""
    case = _case(v)
    call = v.call or (f"{DEFAULT_ENTRY}({', '.join(case.args)})" if case else f"{DEFAULT_ENTRY}()")
    if case is None:
        return call
    label = case_label(v, case.index)  # a hidden case's label already shows its shapes
    shapes = ", ".join(f"{k}: {d}" for k, d in case.args.items())
    if shapes and not case.hidden:
        label += f" ({shapes})"
    return f"# {label}\n{call}"


def _text(text: str, root: str) -> str:
    return visible_text(relative_paths(text, root))


def _test(v: Verdict, task_id: int, root: str) -> dict[str, Any]:
    output = learner_stdout(v)
    return {
        "name": v.task,
        "test_code": task_call(v),
        "status": short_status(v),
        "message": _text(failure_text(v), root) or None,
        "output": _text(truncate(output, MAX_OUTPUT, OUTPUT_TRUNCATED), root) if output else None,
        "task_id": task_id,
    }


def results_json(ws: WorkspaceResult) -> dict[str, Any]:
    status = overall_status(ws) if ws.verdicts else "error"
    message = None
    if status == "error":
        parts = [f"{v.task}: {failure_text(v)}" for v in ws.verdicts] or ["there were no tasks to grade"]
        message = truncate(_text("\n\n".join(parts), ws.workspace), MAX_MESSAGE)
    return json_safe(
        {
            "version": 3,
            "status": status,
            "message": message,
            "tests": [_test(v, i, ws.workspace) for i, v in enumerate(ws.verdicts, 1)],
        }
    )


def not_gradable(reason: str) -> dict[str, Any]:
    """The file for a solution tutor could not grade: status ``error`` and why."""
    reason = reason_text(reason)
    return {"version": 3, "status": "error", "message": f"The solution could not be graded: {reason}", "tests": []}


def render_not_gradable(reason: str) -> str:
    return json.dumps(not_gradable(reason), indent=2, ensure_ascii=False) + "\n"


def render(results: list[WorkspaceResult]) -> str:
    ws = one_workspace(results, "exercism")
    return json.dumps(results_json(ws), indent=2, ensure_ascii=False) + "\n"
