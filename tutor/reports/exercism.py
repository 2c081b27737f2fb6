"""``--format exercism``: an Exercism test-runner ``results.json`` (version 3) for one workspace.

``{version: 3, status, message, tests: [{name, test_code, status, message,
output, task_id}]}`` in task order. ``status`` is ``pass`` when every task
passed, ``error`` when every task errored (nothing could run; ``message``
says why), else ``fail``. ``output`` is the learner's printed output, at most
500 characters, and empty for tasks with hidden cases. ``task_id`` is the
task's 1-based position in the workspace (Exercism's task ids are numbers);
``test_code`` the command that re-grades it.
"""

from __future__ import annotations

import json
from typing import Any

from tutor.reports.common import (
    failure_text,
    headline,
    json_safe,
    learner_stdout,
    one_workspace,
    overall_status,
    short_status,
    truncate,
)
from tutor.verdict import Verdict, WorkspaceResult

MAX_OUTPUT = 500


def _test(v: Verdict, task_id: int) -> dict[str, Any]:
    output = learner_stdout(v)
    return {
        "name": v.task,
        "test_code": f"tutor check {v.task}",
        "status": short_status(v),
        "message": failure_text(v) or None,
        "output": truncate(output, MAX_OUTPUT, "\n... (output truncated)") if output else None,
        "task_id": task_id,
    }


def results_json(ws: WorkspaceResult) -> dict[str, Any]:
    status = overall_status(ws)
    message = None
    if status == "error":
        message = "; ".join(dict.fromkeys(headline(v) for v in ws.verdicts)) or "nothing could run"
    return json_safe(
        {
            "version": 3,
            "status": status,
            "message": message,
            "tests": [_test(v, i) for i, v in enumerate(ws.verdicts, 1)],
        }
    )


def render(results: list[WorkspaceResult]) -> str:
    ws = one_workspace(results, "exercism")
    return json.dumps(results_json(ws), indent=2, ensure_ascii=False) + "\n"
