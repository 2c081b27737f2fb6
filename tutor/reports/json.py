"""``--format json``: the list of ``WorkspaceResult.to_json()`` objects, and reading it back.

The numbers are the verdicts' own (not rounded): this is the record that
``tutor merge`` and ``tutor replay`` read. The output is strict JSON: a
non-finite float in a check's ``details`` is written as the string ``"nan"``,
``"inf"`` or ``"-inf"``, and undecodable characters as U+FFFD.
"""

from __future__ import annotations

import json
from typing import Any

from tutor.reports.common import json_safe
from tutor.verdict import Verdict, WorkspaceResult


def to_data(results: list[WorkspaceResult]) -> list[dict[str, Any]]:
    return [json_safe(ws.to_json()) for ws in results]


def render(results: list[WorkspaceResult]) -> str:
    return json.dumps(to_data(results), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def parse(text: str) -> list[WorkspaceResult]:
    """Read ``render``'s output back. Also takes one workspace object, or one
    verdict object (``tutor check --format json``, as a workspace named "").

    Raises ValueError with a readable reason on anything else.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    return from_data(data)


def from_data(data: Any) -> list[WorkspaceResult]:
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ValueError("expected a list of workspace results")
    out: list[WorkspaceResult] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise ValueError(f"item {i}: expected an object, got {type(item).__name__}")
        try:
            if "workspace" in item:
                out.append(WorkspaceResult.from_json(item))
            elif "task" in item:
                out.append(WorkspaceResult(workspace="", verdicts=[Verdict.from_json(item)]))
            else:
                raise ValueError("neither a workspace result (no 'workspace') nor a verdict (no 'task')")
        except (KeyError, TypeError, ValueError) as exc:
            where = item.get("workspace", item.get("task", f"item {i}"))
            raise ValueError(f"{where}: not a valid result: {exc}") from None
    return out
