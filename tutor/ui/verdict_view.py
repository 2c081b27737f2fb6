"""A verdict, rendered for a learner.

A pass says so briefly, then what was learned and what comes next. A failure
shows each failed check with its message, and, where the check left
``details``, the tensors side by side: expected and got values as two small
grids with the differing elements highlighted, and a table of the facts a
tensor tutor is about (shape, dtype, device, strides, storage offset, which
inputs it shares storage with). Errors show the learner's own traceback, and
printed output comes in a capped panel.

Everything here renders plain data from :mod:`tutor.verdict`; it never
imports torch, and every string it prints is a :class:`~tutor.i18n.Message`.
Learner-controlled text (messages, tracebacks, output) is always a rich
``Text``, never markup, so a ``[0]`` in a traceback stays a ``[0]``.
"""

from __future__ import annotations

import math
import re
import zlib
from typing import Any, Iterable, Sequence

from rich.columns import Columns
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from tutor.i18n import Message
from tutor.measures import fmt_bytes, fmt_flops, fmt_shape
from tutor.reports.common import fmt_points
from tutor.ui.text import colon, join_words, markdown
from tutor.verdict import CaseInfo, CheckResult, Status, Verdict

__all__ = [
    "VerdictView",
    "ReferenceView",
    "TensorDetailsView",
    "AliasingDetailsView",
    "EfficiencyView",
    "status_line",
    "path_label",
    "tidy_description",
    "STDOUT_LINES",
]

STDOUT_LINES = 40  # printed output beyond this is cut, with a note
STDOUT_CHARS = 6000
GRID_ROWS = 8  # a value grid shows at most this many rows and columns,
GRID_COLS = 8  # windowed around the first difference


class M:
    """Every string this module prints."""

    praise = (
        Message("Well done!", "做得好！"),
        Message("Nice work!", "干得漂亮！"),
        Message("Correct!", "正确！"),
        Message("Exactly right.", "完全正确。"),
        Message("That's it!", "就是这样！"),
    )
    passed = Message("Passed", "通过")
    passed_cases = Message("{n}/{n} cases passed", "{n}/{n} 个用例全部通过")
    learned = Message("What you learned", "你学到了什么")
    next_task = Message("Next: {task} · {title}", "下一题：{task} · {title}")
    press_next = Message("  (press {key} to go on)", "  （按 {key} 继续）")
    course_done = Message(
        "That was the last task: the course is complete!", "这是最后一题：课程全部完成！"
    )
    reference = Message("The reference solution, for comparison", "参考答案，供对比")
    not_yet = Message("Not yet", "还没通过")
    failed_count = Message(
        "{failed} of {total} checks did not hold", "{total} 项检查中有 {failed} 项未通过"
    )
    checks = Message("Checks", "检查")
    case_fixed = Message("case {n}", "用例 {n}")
    case_hidden = Message("hidden case {n}", "隐藏用例 {n}")
    whole_task = Message("whole task", "整个任务")
    also_fails = Message("also fails on: {cases}", "在以下用例也未通过：{cases}")
    hidden_note = Message(
        "Hidden cases are random: their values are not shown. Replay this exact run with"
        " `tutor check {task} --seed {seed}`.",
        "隐藏用例是随机生成的，不显示具体数值。用 `tutor check {task} --seed {seed}` 可以重现这次运行。",
    )
    error_title = Message("Your code raised an error", "你的代码抛出了错误")
    traceback = Message("Traceback", "错误回溯")
    error_hint = Message(
        "Read the last line first (the error), then the lines from your file above it.",
        "先读最后一行（错误信息），再看上面指向你文件的那几行。",
    )
    timeout = Message(
        "Time limit exceeded: your code ran too long on a case.",
        "超时：你的代码在某个用例上运行时间过长。",
    )
    timeout_try = Message(
        "Look for a loop that never ends, or a Python loop over elements: tensor operations do"
        " the same work at once.",
        "检查是否有永不结束的循环，或逐元素的 Python 循环：张量运算可以一次完成同样的工作。",
    )
    crashed = Message(
        "The process running your code died (a signal, or out of memory).",
        "运行你代码的进程意外终止（收到信号或内存不足）。",
    )
    crashed_try = Message(
        "Check for a huge tensor (a shape you did not intend) or unbounded recursion.",
        "检查是否创建了过大的张量（形状不对），或是无限递归。",
    )
    refused = Message(
        "The sandbox stopped a forbidden action.", "沙箱阻止了一个不被允许的操作。"
    )
    refused_try = Message(
        "These tasks need only torch: remove file, network, process or torch-internals access.",
        "这些任务只需要 torch：请去掉对文件、网络、进程或 torch 内部接口的访问。",
    )
    details = Message("Details", "详情")
    stdout_title = Message("Your printed output", "你打印的输出")
    stderr_title = Message("Your output on stderr", "你在 stderr 上的输出")
    more_lines = Message("… {n} more lines not shown", "……还有 {n} 行未显示")
    more_chars = Message("… output cut here", "……输出到此截断")
    # Tensor details.
    expected = Message("expected", "期望")
    got = Message("got", "实际")
    property = Message("property", "属性")
    shape = Message("shape", "形状")
    dtype = Message("dtype", "数据类型")
    device = Message("device", "设备")
    stride = Message("strides", "步长")
    offset = Message("storage offset", "存储偏移")
    shares = Message("shares storage with {name}", "与 {name} 共享存储")
    shares_any = Message("shares storage with an input", "与某个输入共享存储")
    yes = Message("yes", "是")
    no = Message("no", "否")
    no_values_hidden = Message("(hidden case: values not shown)", "（隐藏用例：不显示数值）")
    no_values_big = Message("(too large to show)", "（太大，不显示）")
    no_values = Message("(no values)", "（无数值）")
    first_diff = Message(
        "first difference at {index}: expected {expected}, got {got}",
        "第一个差异位于 {index}：期望 {expected}，实际 {got}",
    )
    max_diff = Message(
        "largest difference {diff} (allowed: rtol {rtol}, atol {atol})",
        "最大差异 {diff}（允许：rtol {rtol}，atol {atol}）",
    )
    legend_marked = Message("* marks the elements that differ", "* 标出不同的元素")
    legend_color = Message("highlighted: the elements that differ", "高亮：不同的元素")
    slice_label = Message("slice {index}", "切片 {index}")
    path_result = Message("the result", "返回值")
    path_result_item = Message("the result, {item}", "返回值中的 {item}")
    path_grad = Message("the gradient {name}.grad", "梯度 {name}.grad")
    path_input = Message("input {name} after the call", "调用后的输入 {name}")
    view_expected = Message(
        "The reference's result shares storage with {names}: it is a view. Yours is a copy"
        " (new memory). Indexing, slicing, view(), transpose() and friends return views.",
        "参考答案的结果与 {names} 共享存储：它是一个视图。你的结果是副本（新的内存）。"
        "索引、切片、view()、transpose() 等操作返回视图。",
    )
    copy_expected = Message(
        "Yours shares storage with {names}, the reference's does not: writing to one would"
        " change the other. Make a copy (e.g. .clone()) where the task asks for new memory.",
        "你的结果与 {names} 共享存储，参考答案的不共享：修改其中一个会改变另一个。"
        "任务需要新内存时请复制（例如 .clone()）。",
    )
    both_differ = Message(
        "Storage sharing differs: the reference shares with {expected}, yours with {got}.",
        "共享存储的情况不同：参考答案与 {expected} 共享，你的与 {got} 共享。",
    )
    nothing = Message("nothing", "无")
    duration = Message("{ms} ms", "{ms} 毫秒")
    # Efficiency figures.
    cost = Message("What your answer costs (yours / the reference's / the limit)", "你的答案的开销（你的 / 参考答案的 / 上限）")
    cost_case = Message("case", "用例")
    cost_flops = Message("FLOPs", "浮点运算")
    cost_alloc = Message("new memory", "新分配内存")
    cost_largest = Message("largest tensor", "最大的张量")
    cost_wasteful = Message(
        "Your answer is right, but over the efficiency limits: it earns {score} of {max} points.",
        "你的答案是对的，但超出了效率上限：得 {score} 分（满分 {max}）。",
    )


_STATUS_STYLE = {
    Status.PASSED: "bold green",
    Status.FAILED: "bold red",
    Status.ERROR: "bold red",
    Status.TIMEOUT: "bold yellow",
    Status.CRASHED: "bold magenta",
    Status.REFUSED: "bold magenta",
}
_STATUS_MARK = {
    Status.PASSED: "✓",
    Status.FAILED: "✗",
    Status.ERROR: "✗",
    Status.TIMEOUT: "⏱",
    Status.CRASHED: "✗",
    Status.REFUSED: "⛔",
}


def status_line(verdict: Verdict, lang: str) -> Text:
    """One line: mark, task, and how it went (for lists and headers)."""
    status = Status(verdict.status)
    words = {
        Status.PASSED: M.passed,
        Status.FAILED: M.not_yet,
        Status.ERROR: M.error_title,
        Status.TIMEOUT: M.timeout,
        Status.CRASHED: M.crashed,
        Status.REFUSED: M.refused,
    }[status](lang)
    line = Text()
    line.append(f"{_STATUS_MARK[status]} {words}", style=_STATUS_STYLE[status])
    line.append(f"  {verdict.task}", style="bold")
    if verdict.duration_ms:
        line.append("  " + M.duration(lang, ms=verdict.duration_ms), style="dim")
    return line


def path_label(path: str, lang: str) -> str:
    """``result``, ``result[0]``, ``x.grad``, ``input:x`` in words."""
    if path == "result":
        return M.path_result(lang)
    if path.startswith("result"):
        return M.path_result_item(lang, item=path)
    if path.endswith(".grad"):
        return M.path_grad(lang, name=path[: -len(".grad")])
    if path.startswith("input:"):
        return M.path_input(lang, name=path[len("input:") :])
    return path


class VerdictView:
    """The whole verdict: headline, failed checks with details, errors, output.

    ``task`` (the pack's Task model, optional) supplies the summary on a pass
    and the reference when ``show_reference``; ``next_task`` is
    ``(full_id, title)`` of the task that follows, or None at the end of the
    course (only said on a pass).
    """

    def __init__(
        self,
        verdict: Verdict,
        lang: str = "en",
        *,
        task: Any = None,
        next_task: tuple[str, str] | None = None,
        show_reference: bool = False,
        show_next: bool = True,
        next_key: str | None = None,
        stdout_lines: int = STDOUT_LINES,
    ) -> None:
        self.verdict = verdict
        self.lang = lang
        self.task = task
        self.next_task = next_task
        self.show_reference = show_reference
        self.show_next = show_next
        self.next_key = next_key  # the session's key for "next task", said beside it
        self.stdout_lines = stdout_lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        v, lang = self.verdict, self.lang
        status = Status(v.status)
        yield status_line(v, lang)
        if status is Status.PASSED:
            yield from self._passed()
        elif status is Status.FAILED:
            yield from self._failed(console)
            if v.correct_but_wasteful():
                yield Text(M.cost_wasteful(lang, score=fmt_points(v.score), max=fmt_points(v.max_score)), style="yellow")
        elif status is Status.ERROR:
            yield from self._error()
        else:
            yield from self._stopped(status)
        if v.efficiency and status in (Status.PASSED, Status.FAILED):
            yield EfficiencyView(v, lang)
        for note in v.notes:
            yield Text(note, style="yellow")
        yield from self._output()

    # ------------------------------------------------------------ pass

    def _passed(self) -> RenderResult:
        v, lang = self.verdict, self.lang
        praise = M.praise[zlib.crc32(v.task.encode()) % len(M.praise)](lang)
        line = Text(praise, style="green")
        n_cases = len(v.cases) or len({c.case for c in v.checks if c.case is not None})
        if n_cases:
            line.append("  " + M.passed_cases(lang, n=n_cases), style="dim")
        yield line
        summary = _text_of(getattr(self.task, "summary", None), lang)
        if summary:
            yield Panel(markdown(summary), title=M.learned(lang), title_align="left", border_style="green")
        if self.show_reference and self.task is not None and getattr(self.task, "solution", ""):
            yield ReferenceView(self.task, lang)
        if self.show_next:
            if self.next_task is not None:
                task_id, title = self.next_task
                line = Text(M.next_task(lang, task=task_id, title=title), style="bold cyan")
                if self.next_key:
                    line.append(M.press_next(lang, key=self.next_key), style="cyan")
                yield line
            elif self.task is not None:
                yield Text(M.course_done(lang), style="bold cyan")

    # ------------------------------------------------------------ fail

    def _failed(self, console: Console) -> RenderResult:
        v, lang = self.verdict, self.lang
        failed = v.failed_checks()
        names = _ordered_names(v.checks)
        failed_names = [n for n in names if any(c.name == n for c in failed)]
        yield Text(M.failed_count(lang, failed=len(failed_names), total=len(names)), style="red")
        yield self._checks_line(names)
        cases = {c.index: c for c in v.cases}
        any_hidden = False
        for name in failed_names:
            group = [c for c in failed if c.name == name]
            first = group[0]
            body: list[RenderableType] = []
            # A predict task fails field by field, all on its one case: every field is said.
            shown = group if (first.details or {}).get("kind") == "predict" else [first]
            body += [Text(c.message) for c in shown if c.message]
            case = cases.get(first.case) if first.case is not None else None
            if case is not None and case.args:
                body.append(_case_args(case))
            hidden = case is not None and case.hidden
            any_hidden = any_hidden or hidden
            details = first.details or {}
            if details.get("kind") == "tensor":
                body.append(TensorDetailsView(details, lang, hidden=hidden, first_line=not first.message))
            elif details.get("kind") == "aliasing":
                body.append(AliasingDetailsView(details, lang))
            others = [c for c in group[1:] if c.case != first.case or c.case is None]
            if others:
                labels = _unique(self._case_label(c.case, cases) for c in others)
                body.append(Text(M.also_fails(lang, cases=join_words(labels, lang)), style="dim"))
                any_hidden = any_hidden or any(
                    c.case is not None and cases.get(c.case, _NO_CASE).hidden for c in others
                )
            title = Text(f"✗ {name}", style="bold red")
            title.append(f" · {self._case_label(first.case, cases)}", style="red")
            yield Panel(Group(*body) if body else Text(""), title=title, title_align="left", border_style="red")
        if any_hidden:
            yield Text(M.hidden_note(lang, task=v.task, seed=v.seed), style="dim")

    def _checks_line(self, names: list[str]) -> Text:
        line = Text(M.checks(self.lang) + colon(self.lang), style="bold")
        for i, name in enumerate(names):
            results = [c for c in self.verdict.checks if c.name == name]
            ok = all(c.passed for c in results)
            if i:
                line.append("  ")
            line.append(("✓ " if ok else "✗ ") + name, style="green" if ok else "red")
            with_case = [c for c in results if c.case is not None]
            if with_case and not ok:
                good = sum(1 for c in with_case if c.passed)
                line.append(f" ({good}/{len(with_case)})", style="dim")
        return line

    def _case_label(self, index: int | None, cases: dict[int, CaseInfo]) -> str:
        if index is None:
            return M.whole_task(self.lang)
        info = cases.get(index)
        if info is not None and info.hidden:
            return M.case_hidden(self.lang, n=index + 1)
        return M.case_fixed(self.lang, n=index + 1)

    # ------------------------------------------------------------ error and the rest

    def _error(self) -> RenderResult:
        lang = self.lang
        if self.verdict.error:
            yield Panel(
                _traceback_text(self.verdict.error),
                title=Text(M.traceback(lang), style="bold red"),
                title_align="left",
                border_style="red",
            )
        yield Text(M.error_hint(lang), style="dim")

    def _stopped(self, status: Status) -> RenderResult:
        lang = self.lang
        what, hint = {
            Status.TIMEOUT: (M.timeout, M.timeout_try),
            Status.CRASHED: (M.crashed, M.crashed_try),
            Status.REFUSED: (M.refused, M.refused_try),
        }[status]
        del what  # already the headline
        if self.verdict.error:
            yield Panel(_traceback_text(self.verdict.error), title=M.details(lang), title_align="left",
                        border_style=_STATUS_STYLE[status].split()[-1])
        yield Text("→ " + hint(lang))

    def _output(self) -> RenderResult:
        lang = self.lang
        for stream, title in ((self.verdict.stdout, M.stdout_title), (self.verdict.stderr, M.stderr_title)):
            if stream and stream.strip():
                yield Panel(
                    _capped(stream, self.stdout_lines, lang),
                    title=title(lang),
                    title_align="left",
                    border_style="dim",
                )


class EfficiencyView:
    """``verdict.efficiency``: per case, the learner's FLOPs and new memory beside the reference's and the limits."""

    def __init__(self, verdict: Verdict, lang: str = "en") -> None:
        self.verdict, self.lang = verdict, lang

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lang = self.lang
        cases = {c.index: c for c in self.verdict.cases}
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, padding=(0, 2),
                      title=M.cost(lang), title_justify="left", title_style="bold")
        for label in (M.cost_case, M.cost_flops, M.cost_alloc):
            table.add_column(label(lang), no_wrap=True)
        table.add_column(M.cost_largest(lang))
        for row in self.verdict.efficiency:
            info = cases.get(row.get("case"))
            label = (M.case_hidden if info is not None and info.hidden else M.case_fixed)(lang, n=int(row.get("case", 0)) + 1)
            largest = row.get("largest") or {}
            table.add_row(
                label,
                _cost(row.get("flops"), row.get("reference_flops"), row.get("max_flops"), fmt_flops),
                _cost(row.get("alloc_bytes"), row.get("reference_alloc_bytes"), row.get("max_alloc_bytes"), fmt_bytes),
                Text(f"{fmt_shape(largest['shape'])} {largest['dtype']}" if largest else "–", style="dim"),
            )
        yield table


def _cost(got: Any, reference: Any, limit: Any, fmt: Any) -> Text:
    """``yours / reference / limit``, yours in red when over the limit."""
    over = isinstance(got, int) and isinstance(limit, int) and got > limit
    text = Text(fmt(got) if isinstance(got, int) else "–", style="bold red" if over else "")
    for part in (reference, limit):
        text.append(" / " + (fmt(part) if isinstance(part, int) else "–"), style="dim")
    return text


class ReferenceView:
    """The task's reference solution, for comparing with one's own after a pass."""

    def __init__(self, task: Any, lang: str = "en") -> None:
        self.task, self.lang = task, lang

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = Syntax(self.task.solution.rstrip("\n"), "python", theme="ansi_dark", background_color="default")
        yield Panel(code, title=M.reference(self.lang), title_align="left", border_style="green")


_NO_CASE = CaseInfo(index=-1, hidden=False, args={})


def _text_of(text: Any, lang: str) -> str:
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    return text.get(lang) if hasattr(text, "get") else str(text)


def _ordered_names(checks: Iterable[CheckResult]) -> list[str]:
    return _unique(c.name for c in checks)


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


_LONG_FLOAT = re.compile(r"-?\d+\.\d{5,}(?:[eE][-+]?\d+)?")


def tidy_description(desc: str, limit: int = 240) -> str:
    """A case argument's description, readable: floats to 4 decimals, long ones cut."""
    desc = _LONG_FLOAT.sub(lambda m: f"{float(m.group()):.4f}", desc)
    return desc if len(desc) <= limit else desc[: limit - 1] + "…"


def _case_args(case: CaseInfo) -> Text:
    text = Text()
    for i, (name, desc) in enumerate(case.args.items()):
        if i:
            text.append(", ")
        text.append(name, style="bold")
        text.append(f": {tidy_description(desc)}")
    text.stylize("dim")
    return text


def _traceback_text(error: str) -> Text:
    text = Text(error.rstrip("\n"))
    text.highlight_regex(r'File "[^"]+", line \d+', "bold cyan")
    lines = error.rstrip("\n").split("\n")
    if lines:
        last = lines[-1]
        start = len(text.plain) - len(last)
        text.stylize("bold red", start, len(text.plain))
    return text


def _capped(stream: str, max_lines: int, lang: str) -> Text:
    lines = stream.rstrip("\n").split("\n")
    cut_chars = False
    shown = lines[:max_lines]
    body = "\n".join(shown)
    if len(body) > STDOUT_CHARS:
        body = body[:STDOUT_CHARS]
        cut_chars = True
    text = Text(body)
    if len(lines) > max_lines:
        text.append("\n" + M.more_lines(lang, n=len(lines) - max_lines), style="dim italic")
    elif cut_chars:
        text.append("\n" + M.more_chars(lang), style="dim italic")
    return text


# ---------------------------------------------------------------- tensor details


def _fmt_shape(shape: Any) -> str:
    if shape is None:
        return "?"
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _fmt_scalar(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value == int(value) and abs(value) < 1e6:
            return f"{value:.1f}"
        return f"{value:.6g}"
    return str(value)


class _Formatter:
    """Formats the numbers of one grid alike, as torch's printing does."""

    def __init__(self, values: Iterable[Any]) -> None:
        values = list(values)
        finite = [
            abs(v) for v in values
            if isinstance(v, float) and not isinstance(v, bool) and math.isfinite(v)
        ]  # fmt: skip
        self.scientific = bool(finite) and (
            max(finite) >= 1e5 or min((f for f in finite if f), default=1) < 1e-4
        )
        self.integral = all(f == int(f) for f in finite)
        # A float tensor's whole numbers may arrive as ints (JSON): print them as floats.
        self.floats = bool(finite) or any(isinstance(v, float) for v in values)

    def __call__(self, value: Any) -> str:
        if isinstance(value, bool) or value is None:
            return str(value)
        if isinstance(value, int) and not self.floats:
            return str(value)
        if isinstance(value, (int, float)):
            value = float(value)
            if math.isnan(value):
                return "nan"
            if math.isinf(value):
                return "inf" if value > 0 else "-inf"
            if self.scientific:
                return f"{value:.3e}"
            if self.integral:
                return f"{value:.0f}."
            return f"{value:.4f}"
        if isinstance(value, list) and len(value) == 2 and all(isinstance(x, (int, float)) for x in value):
            return f"{value[0]:.3g}{value[1]:+.3g}j"  # a complex number as [re, im]
        return str(value)


def _depth(values: Any) -> int:
    depth = 0
    while isinstance(values, list):
        depth += 1
        if not values:
            break
        values = values[0]
    return depth


def _at(values: Any, index: Sequence[int]) -> Any:
    for i in index:
        if not isinstance(values, list) or i >= len(values):
            return None
        values = values[i]
    return values


def _window(n: int, center: int, size: int) -> tuple[int, int]:
    if n <= size:
        return 0, n
    start = max(0, min(center - size // 2, n - size))
    return start, start + size


def _flatten(values: Any) -> list[Any]:
    if isinstance(values, list):
        out: list[Any] = []
        for v in values:
            out.extend(_flatten(v))
        return out
    return [values]


class _Grid:
    """One tensor's values as a small indexed table: a 2-D window around the first difference."""

    def __init__(
        self,
        values: Any,
        ndim: int,
        mismatch: Any,
        first_index: Sequence[int] | None,
        style: str,
        marker: str,
    ) -> None:
        self.values, self.ndim, self.mismatch = values, ndim, mismatch
        self.first = list(first_index) if first_index else None
        self.focus = self.first if self.first and len(self.first) == ndim else [0] * ndim
        self.style, self.marker = style, marker

    def caption(self, lang: str) -> str | None:
        if self.ndim <= 2:
            return None
        lead = self.focus[: self.ndim - 2]
        return M.slice_label(lang, index="[" + ", ".join(str(i) for i in lead) + ", :, :]")

    def _bad(self, index: list[int]) -> bool:
        if self.mismatch is not None:
            return bool(_at(self.mismatch, index)) if index else self.mismatch is True
        return self.first is not None and self.first == index

    def table(self) -> Table:
        ndim = self.ndim
        lead = self.focus[: max(0, ndim - 2)]
        plane = _at(self.values, lead)
        # (row labels, column labels, rows of (absolute index, value)).
        rows: list[tuple[str, list[tuple[list[int], Any]]]] = []
        col_labels: list[str] = []
        if ndim == 0 or not isinstance(plane, list):
            rows.append(("", [([], plane)]))
        elif ndim == 1:
            c0, c1 = _window(len(plane), self.focus[-1], GRID_COLS * 2)
            col_labels = [str(c) for c in range(c0, c1)]
            rows.append(("", [([c], plane[c]) for c in range(c0, c1)]))
        else:
            r0, r1 = _window(len(plane), self.focus[-2], GRID_ROWS)
            ncols = max((len(r) for r in plane if isinstance(r, list)), default=0)
            c0, c1 = _window(ncols, self.focus[-1], GRID_COLS)
            col_labels = [str(c) for c in range(c0, c1)]
            for r in range(r0, r1):
                row = plane[r] if isinstance(plane[r], list) else []
                rows.append(
                    (str(r), [([*lead, r, c], row[c]) for c in range(c0, min(c1, len(row)))])
                )
        fmt = _Formatter(value for _, cells in rows for _, value in cells)
        table = Table(
            box=None, show_header=bool(col_labels), pad_edge=False, padding=(0, 1), header_style="dim"
        )
        table.add_column("", style="dim", justify="right")
        for label in col_labels or [""]:
            table.add_column(label, justify="right")
        for label, cells in rows:
            texts = []
            for index, value in cells:
                bad = self._bad(index)
                text = Text(fmt(value) + (self.marker if bad else ""))
                if bad:
                    text.stylize(self.style)
                texts.append(text)
            table.add_row(Text(label), *texts)
        return table


class TensorDetailsView:
    """``details`` of kind ``tensor``: expected vs got grids and the facts table."""

    def __init__(
        self, details: dict[str, Any], lang: str = "en", *, hidden: bool = False, first_line: bool = True
    ) -> None:
        self.details = details
        self.lang = lang
        self.hidden = hidden
        self.first_line = first_line  # False when the check's message already says it

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        d, lang = self.details, self.lang
        expected = d.get("expected") or {}
        got = d.get("got") or {}
        path = d.get("path", "result")
        yield Text(path_label(path, lang), style="bold")
        first = d.get("first_index")
        if self.first_line and first is not None and (d.get("expected_value") is not None or d.get("got_value") is not None):
            yield Text(
                M.first_diff(
                    lang,
                    index=_fmt_shape(first),
                    expected=_fmt_scalar(d.get("expected_value")),
                    got=_fmt_scalar(d.get("got_value")),
                )
            )
        if self.first_line and d.get("max_abs_diff") is not None:
            yield Text(
                M.max_diff(
                    lang,
                    diff=_fmt_scalar(d["max_abs_diff"]),
                    rtol=_fmt_scalar(d.get("rtol")),
                    atol=_fmt_scalar(d.get("atol")),
                ),
                style="dim",
            )
        grids = self._grids(console)
        if grids is not None:
            yield grids
        yield _facts_table(expected, got, lang)

    def _grids(self, console: Console) -> RenderableType | None:
        d, lang = self.details, self.lang
        expected = d.get("expected") or {}
        got = d.get("got") or {}
        if expected.get("values") is None and got.get("values") is None:
            note = M.no_values_hidden if self.hidden else M.no_values_big
            return Text(note(lang), style="dim italic")
        plain = console.color_system is None or console.no_color
        same_shape = expected.get("shape") == got.get("shape")
        mismatch = d.get("mismatch") if same_shape else None
        first = d.get("first_index") if same_shape else None
        any_marked = False
        panels = []
        for side, info, style in (
            (M.expected, expected, "bold green"),
            (M.got, got, "bold white on red"),
        ):
            values = info.get("values")
            if values is None:
                note = M.no_values_hidden if self.hidden else M.no_values_big
                body: RenderableType = Text(note(lang), style="dim italic")
            else:
                ndim = len(info["shape"]) if info.get("shape") is not None else _depth(values)
                marker = "*" if plain and side is M.got else ""
                grid = _Grid(values, ndim, mismatch, first, style, marker)
                table = grid.table()
                caption = grid.caption(lang)
                body = Group(Text(caption, style="dim"), table) if caption else table
                any_marked = any_marked or bool(mismatch) or bool(first)
            title = f"{side(lang)} · {info.get('dtype', '?')}{_fmt_shape(info.get('shape'))}"
            panels.append(Panel(body, title=title, title_align="left", expand=False, border_style="dim"))
        parts: list[RenderableType] = [Columns(panels, padding=(0, 2))]
        if any_marked:
            legend = M.legend_marked if plain else M.legend_color
            parts.append(Text(legend(lang), style="dim"))
        return Group(*parts)


def _facts_table(expected: dict[str, Any], got: dict[str, Any], lang: str) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, padding=(0, 2))
    table.add_column(M.property(lang))
    table.add_column(M.expected(lang))
    table.add_column(M.got(lang))
    table.add_column("", width=1)

    def row(label: str, exp: str, act: str) -> None:
        differs = exp != act
        style = "yellow" if differs else ""
        table.add_row(label, Text(exp), Text(act, style=style), Text("≠" if differs else "", style="bold yellow"))

    row(M.shape(lang), _fmt_shape(expected.get("shape")), _fmt_shape(got.get("shape")))
    row(M.dtype(lang), str(expected.get("dtype", "?")), str(got.get("dtype", "?")))
    row(M.device(lang), str(expected.get("device", "?")), str(got.get("device", "?")))
    if "stride" in expected or "stride" in got:
        row(M.stride(lang), _fmt_shape(expected.get("stride")), _fmt_shape(got.get("stride")))
    if "offset" in expected or "offset" in got:
        row(M.offset(lang), str(expected.get("offset", "?")), str(got.get("offset", "?")))
    if "shares_storage_with" in expected or "shares_storage_with" in got:
        exp_sh = list(expected.get("shares_storage_with") or [])
        got_sh = list(got.get("shares_storage_with") or [])
        _sharing_rows(row, exp_sh, got_sh, lang)
    return table


def _sharing_rows(row: Any, exp_sh: list[str], got_sh: list[str], lang: str) -> None:
    names = _unique([*exp_sh, *got_sh])
    yes, no = M.yes(lang), M.no(lang)
    if not names:
        row(M.shares_any(lang), no, no)
    for name in names:
        row(M.shares(lang, name=name), yes if name in exp_sh else no, yes if name in got_sh else no)


class AliasingDetailsView:
    """``details`` of kind ``aliasing``: who shares storage with what, and why it matters."""

    def __init__(self, details: dict[str, Any], lang: str = "en") -> None:
        self.details = details
        self.lang = lang

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        d, lang = self.details, self.lang
        exp_sh = list(d.get("expected_shares") or [])
        got_sh = list(d.get("got_shares") or [])
        yield Text(path_label(d.get("path", "result"), lang), style="bold")
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, padding=(0, 2))
        table.add_column(M.property(lang))
        table.add_column(M.expected(lang))
        table.add_column(M.got(lang))
        table.add_column("", width=1)

        def row(label: str, exp: str, act: str) -> None:
            differs = exp != act
            table.add_row(label, Text(exp), Text(act, style="yellow" if differs else ""),
                          Text("≠" if differs else "", style="bold yellow"))

        _sharing_rows(row, exp_sh, got_sh, lang)
        yield table
        missing = [n for n in exp_sh if n not in got_sh]
        extra = [n for n in got_sh if n not in exp_sh]
        if missing and not got_sh:
            yield Text(M.view_expected(lang, names=join_words(missing, lang)), style="italic")
        elif extra and not exp_sh:
            yield Text(M.copy_expected(lang, names=join_words(extra, lang)), style="italic")
        elif missing or extra:
            nothing = M.nothing(lang)
            yield Text(
                M.both_differ(lang, expected=join_words(exp_sh, lang) or nothing, got=join_words(got_sh, lang) or nothing),
                style="italic",
            )
