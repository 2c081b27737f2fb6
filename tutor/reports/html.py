"""``tutor report --html``: one self-contained page about a class, readable from disk.

The page has no script and loads nothing: the plots are matplotlib SVG inlined
in the HTML, the style sheet is inline, so it opens from an email attachment
or a CI artifact on a machine without network. matplotlib is imported only
here (it is slow to import and nothing else needs it). Every text taken from
a verdict is escaped: learner output can hold anything.
"""

from __future__ import annotations

import io
from html import escape

from tutor.i18n import Message
from tutor.measures import fmt_bytes, fmt_flops
from tutor.reports.analytics import ClassStats, TaskStats
from tutor.reports.common import fmt_points

_T = {
    "title": Message("Class report", "班级报告"),
    "summary": Message(
        "{students} students, {tasks} tasks, median score {median}%.",
        "{students} 名学生，{tasks} 个练习，成绩中位数 {median}%。",
    ),
    "scores": Message("Score distribution", "成绩分布"),
    "score_axis": Message("score (% of the maximum)", "成绩（占满分的百分比）"),
    "students_axis": Message("students", "学生人数"),
    "pass_rates": Message("Pass rate of the hardest tasks", "通过率最低的练习"),
    "pass_axis": Message("students who passed (%)", "通过的学生（%）"),
    "errors": Message("Most frequent error types", "最常见的错误类型"),
    "no_errors": Message("No run ended in an error, a time limit, a crash or a refusal.", "没有运行以错误、超时、崩溃或被拒绝结束。"),
    "tasks": Message("Tasks: what failed most", "各练习：最常失败的检查"),
    "task": Message("task", "练习"),
    "passed": Message("passed", "通过"),
    "failed_most": Message("failed most (check.aspect: students)", "最常失败（检查.方面：人数）"),
    "error_col": Message("errors (type: students)", "错误（类型：人数）"),
    "time": Message("median time to pass", "通过所用时间中位数"),
    "hints": Message("hints per student", "人均提示数"),
    "attempts": Message("median attempts", "尝试次数中位数"),
    "efficiency": Message("efficiency: right but over the limit · median FLOPs · median new memory",
                          "效率：正确但超出上限 · 浮点运算中位数 · 新分配内存中位数"),
    "students": Message("Students", "学生"),
    "student": Message("student", "学生"),
    "score": Message("score", "成绩"),
    "no_progress": Message(
        "Time to pass and hints need the workspaces' progress files (.tutor/progress.json) beside the report's paths.",
        "通过时间与提示次数需要各工作区的进度文件（.tutor/progress.json），且路径与报告中的一致。",
    ),
}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 72rem; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: .9rem; } td, th { padding: .25rem .6rem; text-align: left;
  border-bottom: 1px solid #eee; vertical-align: top; } th { background: #f6f6f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; } .charts figure { margin: 0; }
.s-passed { color: #1a7f37; } .s-failed { color: #b35900; } .s-error, .s-timeout, .s-crashed, .s-refused { color: #c62828; }
.note { color: #666; font-size: .9rem; }
.bar { width: 5rem; height: .45rem; background: #eee; margin-top: .2rem; } .bar div { height: 100%; background: #54a24b; }
"""

# How many tasks the pass-rate chart shows.
HARDEST = 15

_SYMBOL = {"passed": "✓", "failed": "✗", "error": "!", "timeout": "⏱", "crashed": "☠", "refused": "⛔"}


def _svg(figure: object) -> str:
    """The figure as inline SVG, without the XML prologue (it is embedded, not a file)."""
    import matplotlib

    buffer = io.StringIO()
    # Text stays text (searchable, and any script renders in the browser's fonts); a fixed
    # salt makes the same data give the same page.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "tutor"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight")  # type: ignore[attr-defined]
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _charts(stats: ClassStats, lang: str) -> list[str]:
    # Figure objects, not pyplot: no GUI backend, no global state.
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    charts = []

    fig = Figure(figsize=(5.2, 3.2))
    ax = fig.subplots()
    ax.hist([100 * s for s in stats.scores], bins=10, range=(0, 100), color="#4c78a8", edgecolor="white")
    ax.set_xlabel(_T["score_axis"](lang))
    ax.set_ylabel(_T["students_axis"](lang))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(_T["scores"](lang))
    charts.append(_svg(fig))

    errors = stats.error_types().most_common(8)
    if errors:
        fig = Figure(figsize=(5.2, max(2.2, 0.32 * len(errors) + 0.8)))
        ax = fig.subplots()
        ax.barh([name for name, _ in errors][::-1], [n for _, n in errors][::-1], color="#e45756")
        ax.set_xlabel(_T["students_axis"](lang))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(_T["errors"](lang))
        charts.append(_svg(fig))
    # The hardest few, hardest first: where the class struggles is what an instructor looks
    # for; every task's rate is in the task table.
    ranked = sorted(stats.tasks, key=lambda t: t.pass_rate)[:HARDEST]
    fig = Figure(figsize=(6.4, max(2.4, 0.2 * len(ranked) + 0.9)))
    ax = fig.subplots()
    ax.barh([t.task for t in ranked][::-1], [100 * t.pass_rate for t in ranked][::-1], color="#54a24b")
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel(_T["pass_axis"](lang))
    ax.set_title(_T["pass_rates"](lang))
    charts.append(_svg(fig))
    return charts


def _counts(counter: object, top: int = 4) -> str:
    return "<br>".join(f"<code>{escape(name)}</code>: {n}" for name, n in counter.most_common(top))  # type: ignore[attr-defined]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def _efficiency_cell(task: TaskStats) -> str:
    if not task.flops:
        return "<td class=num>–</td>"
    flops, alloc = task.median_flops, task.median_alloc_bytes
    return (f"<td class=num>{task.wasteful}/{task.graded} · {escape(fmt_flops(int(flops or 0)))}"
            f" · {escape(fmt_bytes(int(alloc or 0)))}</td>")


def _task_row(task: TaskStats, progress: bool, measured: bool = False) -> str:
    cells = [
        f"<td><code>{escape(task.task)}</code><br>{escape(task.title)}</td>",
        f"<td class=num>{task.passed}/{task.graded}"
        f"<div class=bar><div style='width:{100 * task.pass_rate:.0f}%'></div></div></td>",
        f"<td>{_counts(task.failures)}</td>",
        f"<td>{_counts(task.errors)}</td>",
    ]
    if measured:
        cells.append(_efficiency_cell(task))
    if progress:
        median_attempts = sorted(task.attempts)[len(task.attempts) // 2] if task.attempts else None
        cells += [
            f"<td class=num>{_duration(task.median_seconds_to_pass)}</td>",
            f"<td class=num>{'–' if task.mean_hints is None else f'{task.mean_hints:.1f}'}</td>",
            f"<td class=num>{'–' if median_attempts is None else median_attempts}</td>",
        ]
    return "<tr>" + "".join(cells) + "</tr>"


def render(stats: ClassStats, lang: str = "en") -> str:
    t = {key: message(lang) for key, message in _T.items()}
    scores = sorted(stats.scores)
    median = round(100 * scores[len(scores) // 2]) if scores else 0
    task_head = [t["task"], t["passed"], t["failed_most"], t["error_col"]]
    if stats.measured:
        task_head.append(t["efficiency"])
    if stats.has_progress:
        task_head += [t["time"], t["hints"], t["attempts"]]
    task_ids = [task.task for task in stats.tasks]
    student_rows = "".join(
        f"<tr><td>{escape(s.student)}</td><td class=num>{fmt_points(s.score)}/{fmt_points(s.max_score)}</td>"
        f"<td class=num>{s.passed}/{s.total}</td>"
        + "".join(
            f"<td class=s-{escape(s.statuses.get(task, ''))} title='{escape(task)}'>"
            f"{_SYMBOL.get(s.statuses.get(task, ''), '')}</td>"
            for task in task_ids
        )
        + "</tr>"
        for s in sorted(stats.students, key=lambda s: s.student)
    )
    figures = "".join(f"<figure>{svg}</figure>" for svg in _charts(stats, lang))
    errors_note = "" if stats.error_types() else f"<p class=note>{escape(t['no_errors'])}</p>"
    progress_note = "" if stats.has_progress else f"<p class=note>{escape(t['no_progress'])}</p>"
    return f"""<!DOCTYPE html>
<html lang="{'zh' if lang == 'zh' else 'en'}">
<head><meta charset="utf-8"><title>{escape(t['title'])}</title><style>{_STYLE}</style></head>
<body>
<h1>{escape(t['title'])}</h1>
<p>{escape(t['summary'].format(students=len(stats.students), tasks=len(stats.tasks), median=median))}</p>
<div class=charts>{figures}</div>{errors_note}
<h2>{escape(t['tasks'])}</h2>{progress_note}
<table id=tasks><thead><tr>{''.join(f'<th>{escape(h)}</th>' for h in task_head)}</tr></thead>
<tbody>{''.join(_task_row(task, stats.has_progress, stats.measured) for task in stats.tasks)}</tbody></table>
<h2>{escape(t['students'])}</h2>
<table id=students><thead><tr><th>{escape(t['student'])}</th><th>{escape(t['score'])}</th><th>{escape(t['passed'])}</th>
{''.join(f"<th title='{escape(task)}'>{i + 1}</th>" for i, task in enumerate(task_ids))}</tr></thead>
<tbody>{student_rows}</tbody></table>
</body>
</html>
"""
