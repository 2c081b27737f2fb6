"""``--format text``: a summary for a terminal.

One table per workspace (task, status in colour, points, why it did not
pass), its total, and a grand total when there are several workspaces.
``renderables`` gives rich objects for a console the caller owns (the UI);
``render`` gives them as a string, without colour unless asked.

Learner text (messages, workspace names) is never read as rich markup.
"""

from __future__ import annotations

import io

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from tutor.i18n import Message
from tutor.reports.common import (
    fmt_points,
    grand_total,
    headline,
    task_max,
    task_points,
    total_max,
    total_points,
)
from tutor.verdict import Status, WorkspaceResult

WIDTH = 100

STYLES = {
    Status.PASSED: "bold green",
    Status.FAILED: "bold red",
    Status.ERROR: "bold magenta",
    Status.TIMEOUT: "bold yellow",
    Status.CRASHED: "bold magenta",
    Status.REFUSED: "bold magenta",
}

STATUS_WORDS = {
    Status.PASSED: Message("passed", "通过"),
    Status.FAILED: Message("failed", "未通过"),
    Status.ERROR: Message("error", "出错"),
    Status.TIMEOUT: Message("timeout", "超时"),
    Status.CRASHED: Message("crashed", "崩溃"),
    Status.REFUSED: Message("refused", "被拒绝"),
}

COL_TASK = Message("Task", "任务")
COL_STATUS = Message("Status", "状态")
COL_POINTS = Message("Points", "得分")
COL_WHY = Message("Why", "原因")
TOTAL = Message(
    "Total: {score}/{max} points, {passed} of {tasks} tasks passed",
    "合计：{score}/{max} 分，{tasks} 个任务中通过 {passed} 个",
)
GRAND_TOTAL = Message(
    "All {count} workspaces: {score}/{max} points",
    "全部 {count} 个工作区：{score}/{max} 分",
)
WARNING = Message("warning: {text}", "警告：{text}")


def workspace_table(ws: WorkspaceResult, lang: str = "en") -> RenderableType:
    table = Table(title=Text(ws.workspace or "", style="bold"), title_justify="left", expand=False)
    table.add_column(COL_TASK(lang), no_wrap=True)
    table.add_column(COL_STATUS(lang), no_wrap=True)
    table.add_column(COL_POINTS(lang), justify="right", no_wrap=True)
    table.add_column(COL_WHY(lang), overflow="fold")
    for v in ws.verdicts:
        table.add_row(
            Text(v.task),
            Text(STATUS_WORDS[v.status](lang), style=STYLES[v.status]),
            Text(f"{fmt_points(task_points(v))}/{fmt_points(task_max(v))}"),
            Text(headline(v)),
        )
    parts: list[RenderableType] = [table]
    total = TOTAL(
        lang,
        score=fmt_points(total_points(ws)),
        max=fmt_points(total_max(ws)),
        passed=ws.passed,
        tasks=len(ws.verdicts),
    )
    parts.append(Text(total, style="bold"))
    parts += [Text(WARNING(lang, text=w), style="yellow") for w in ws.warnings]
    return Group(*parts)


def renderables(results: list[WorkspaceResult], lang: str = "en") -> list[RenderableType]:
    out = [workspace_table(ws, lang) for ws in results]
    if len(results) > 1:
        score, top = grand_total(results)
        out.append(
            Text(GRAND_TOTAL(lang, count=len(results), score=fmt_points(score), max=fmt_points(top)), style="bold")
        )
    return out


def render(
    results: list[WorkspaceResult], *, lang: str = "en", color: bool = False, width: int = WIDTH
) -> str:
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        soft_wrap=False,
    )
    for i, item in enumerate(renderables(results, lang)):
        if i:
            console.print()
        console.print(item)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"
