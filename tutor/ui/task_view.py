"""A task as the learner first meets it: prompt, cases, what is checked, the file to edit.

The prompt is Markdown; the fixed cases are described in words
(``x: float32[5, 4] (random normal)``); hidden random cases are counted and
their template described, never their values. The lesson's intro comes first
the first time a lesson is opened (:class:`LessonIntro`).

Reads the pack's models only: no torch here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.text import Text

from tutor.i18n import Message
from tutor.pack.models import (
    DeviceValue,
    DimValue,
    DtypeValue,
    GeneratorValue,
    Lesson,
    PinnedDims,
    RandomTensor,
    Task,
    TensorValues,
)
from tutor.ui.text import colon, join_words, markdown
from tutor.ui.verdict_view import tidy_description
from tutor.verdict import CaseInfo

__all__ = [
    "TaskView",
    "LessonIntro",
    "describe_value",
    "describe_case",
    "describe_check",
    "display_path",
]


class M:
    """Every string this module prints."""

    task_of = Message("task {n} of {total}", "第 {n} 题，共 {total} 题")
    lesson_of = Message("Lesson {n} of {total}", "第 {n} 课，共 {total} 课")
    placed = Message("({lesson}, {task})", "（{lesson}，{task}）")
    cases = Message("Cases", "用例")
    case = Message("case {n}", "用例 {n}")
    hidden = Message(
        "+ {n} hidden random cases, drawn fresh on every check: {template}",
        "+ {n} 个隐藏的随机用例，每次检查重新生成：{template}",
    )
    hidden_one = Message(
        "+ 1 hidden random case, drawn fresh on every check: {template}",
        "+ 1 个隐藏的随机用例，每次检查重新生成：{template}",
    )
    hidden_plain = Message(
        "+ {n} hidden random cases, drawn fresh on every check",
        "+ {n} 个隐藏的随机用例，每次检查重新生成",
    )
    dim_range = Message("{name} from {low} to {high}", "{name} 取 {low} 到 {high}")
    checked = Message("Checked", "检查内容")
    your_file = Message("Your file", "你的文件")
    edit_hint = Message(
        "Edit it and save: it is checked on every save.", "编辑并保存：每次保存都会自动检查。"
    )
    edit_hint_manual = Message(
        "Edit it, save, then press Enter to check.", "编辑并保存，然后按回车检查。"
    )
    # Value specs.
    random_normal = Message("random normal", "随机正态分布")
    random_uniform = Message("random uniform in [{low}, {high})", "[{low}, {high}) 内均匀随机")
    random_int = Message("random integers in [{low}, {high})", "[{low}, {high}) 内随机整数")
    random_bool = Message("random booleans", "随机布尔值")
    requires_grad = Message("requires grad", "需要梯度")
    transposed = Message("transposed (not contiguous)", "转置（非连续）")
    sliced = Message("sliced (not contiguous)", "切片（非连续）")
    on_cpu = Message("always on the CPU", "始终在 CPU 上")
    dtype_value = Message("the dtype torch.{dtype}", "数据类型 torch.{dtype}")
    generator = Message("a torch.Generator seeded with {seed}", "以 {seed} 为种子的 torch.Generator")
    device = Message("the torch.device being graded on", "评分所用的 torch.device")
    # Checks.
    check_result = Message(
        "result: the returned value (shape, dtype, device, values)",
        "result：返回值（形状、数据类型、设备、数值）",
    )
    check_result_strides = Message(
        "result: the returned value (shape, dtype, device, values, strides and storage offset)",
        "result：返回值（形状、数据类型、设备、数值、步长和存储偏移）",
    )
    check_aliasing = Message(
        "aliasing: which inputs the result shares storage with",
        "aliasing：返回值与哪些输入共享存储",
    )
    check_mutation = Message(
        "mutation: the inputs are left as the reference leaves them",
        "mutation：输入在调用后与参考答案保持一致",
    )
    check_input_grads = Message(
        "input_grads: the .grad of {names} after your code runs",
        "input_grads：你的代码运行后 {names} 的 .grad",
    )
    check_backward = Message(
        "backward: the gradients of {names} through your result",
        "backward：经由你的返回值反向传播得到的 {names} 的梯度",
    )
    check_forbid = Message("forbid: do not call {names}", "forbid：不得调用 {names}")
    check_require = Message("require: call {names}", "require：必须调用 {names}")
    check_source = Message("source: {rules}", "source：{rules}")
    source_lines = Message("at most {n} lines", "最多 {n} 行")
    source_loops = Message("no loops", "不使用循环")
    source_names = Message("not using {names}", "不使用 {names}")
    check_custom = Message("custom: a check of this course's own", "custom：本课程自定义的检查")
    check_predict = Message(
        "predict: each field of your prediction against what the code really gives",
        "predict：你预测的每一项与代码的实际结果逐项比较",
    )
    snippet = Message("Predict what this code gives:", "预测这段代码的结果：")
    check_efficiency = Message("efficiency: {limits}", "efficiency：{limits}")
    check_efficiency_credit = Message("efficiency: {limits}; {credit}", "efficiency：{limits}；{credit}")
    efficiency_flops = Message("at most {limit} FLOPs", "浮点运算不超过 {limit} 次")
    efficiency_alloc = Message("at most {limit} bytes of new tensor memory", "新分配的张量内存不超过 {limit} 字节")
    efficiency_relative = Message("at most {k}× the reference's work and memory", "运算量和内存不超过参考答案的 {k} 倍")
    efficiency_credit = Message(
        "a right answer over these earns {percent}% of the points", "超出这些上限的正确答案得 {percent}% 的分数"
    )


def _fmt_num(value: float | str) -> str:
    if isinstance(value, str):  # a bound that follows the dims: `high: n + 1`
        return value
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _shape(shape: Sequence[Any]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _short(values: Any, limit: int = 60) -> str:
    text = repr(values)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_value(spec: Any, lang: str = "en", pinned: dict[str, int] | None = None) -> str:
    """A value spec of a case in a few words, e.g. ``float32[5, 4] (random normal)``.

    ``pinned`` replaces symbolic dimensions the case fixes.
    """
    pinned = pinned or {}
    if isinstance(spec, RandomTensor):
        dtype = spec.dtype or {"int": "int64", "bool": "bool"}.get(spec.dist, "float32")
        shape = [pinned.get(d, d) if isinstance(d, str) else d for d in spec.shape]
        low, high = spec.bounds()
        what = {
            "normal": lambda: M.random_normal(lang),
            "uniform": lambda: M.random_uniform(lang, low=_fmt_num(low), high=_fmt_num(high)),
            "int": lambda: M.random_int(lang, low=_fmt_num(low), high=_fmt_num(high)),
            "bool": lambda: M.random_bool(lang),
        }[spec.dist]()
        return f"{dtype}{_shape(shape)} ({join_words([what, *_tensor_extras(spec, lang)], lang)})"
    if isinstance(spec, TensorValues):
        dtype = f", dtype={spec.dtype}" if spec.dtype else ""
        extras = _tensor_extras(spec, lang)
        tail = f" ({join_words(extras, lang)})" if extras else ""
        return f"tensor({_short(spec.values)}{dtype}){tail}"
    if isinstance(spec, DtypeValue):
        return M.dtype_value(lang, dtype=spec.dtype)
    if isinstance(spec, GeneratorValue):
        return M.generator(lang, seed=spec.generator)
    if isinstance(spec, DeviceValue):
        return M.device(lang)
    if isinstance(spec, PinnedDims):
        return ", ".join(f"{k}={v}" for k, v in spec.root.items())
    if isinstance(spec, DimValue):  # an int that follows a dim: its value when the case pins it
        return str(pinned.get(spec.dim, spec.dim))
    return _short(spec)


def _tensor_extras(spec: Any, lang: str) -> list[str]:
    extras = []
    if spec.layout == "transposed":
        extras.append(M.transposed(lang))
    elif spec.layout == "sliced":
        extras.append(M.sliced(lang))
    if spec.requires_grad:
        extras.append(M.requires_grad(lang))
    if spec.device == "cpu":
        extras.append(M.on_cpu(lang))
    return extras


def describe_case(case: Any, lang: str = "en") -> dict[str, str]:
    """A task's fixed case (``tutor.pack.models.Case``) as parameter -> words."""
    pinned = case.pinned
    return {name: describe_value(spec, lang, pinned) for name, spec in case.args.items()}


def describe_check(check: Any, lang: str = "en") -> str:
    """A check spec (``CheckSpec``) as one line saying what it looks at."""
    kind, options = check.kind, check.options
    if kind == "result":
        strides = bool(getattr(options, "strides", False))
        return (M.check_result_strides if strides else M.check_result)(lang)
    if kind == "aliasing":
        return M.check_aliasing(lang)
    if kind == "mutation":
        return M.check_mutation(lang)
    if kind in ("input_grads", "backward", "forbid", "require"):
        message = {
            "input_grads": M.check_input_grads,
            "backward": M.check_backward,
            "forbid": M.check_forbid,
            "require": M.check_require,
        }[kind]
        return message(lang, names=join_words(list(options), lang))
    if kind == "source":
        rules = []
        if options.max_lines:
            rules.append(M.source_lines(lang, n=options.max_lines))
        if options.no_loops:
            rules.append(M.source_loops(lang))
        if options.forbid_names:
            rules.append(M.source_names(lang, names=join_words(options.forbid_names, lang)))
        return M.check_source(lang, rules=join_words(rules, lang))
    if kind == "custom":
        return M.check_custom(lang)
    if kind == "predict":
        return M.check_predict(lang)
    if kind == "efficiency":
        limits = [M.efficiency_flops(lang, limit=options.max_flops)] if options.max_flops is not None else []
        if options.max_alloc_bytes is not None:
            limits.append(M.efficiency_alloc(lang, limit=options.max_alloc_bytes))
        if options.relative_to_reference is not None:
            limits.append(M.efficiency_relative(lang, k=f"{options.relative_to_reference:g}"))
        if options.credit:
            return M.check_efficiency_credit(lang, limits=join_words(limits, lang),
                                             credit=M.efficiency_credit(lang, percent=f"{100 * options.credit:g}"))
        return M.check_efficiency(lang, limits=join_words(limits, lang))
    return kind


def display_path(path: Path | str) -> str:
    """The path as the learner would type it: relative to the current folder when inside it."""
    path = Path(path)
    try:
        rel = os.path.relpath(path.absolute(), Path.cwd())
    except ValueError:  # another drive on Windows
        return str(path)
    return rel if not rel.startswith("..") else str(path)


class LessonIntro:
    """The lesson's title and intro, shown before its first task."""

    def __init__(self, lesson: Lesson, lang: str = "en", *, number: int | None = None, total: int | None = None):
        self.lesson, self.lang, self.number, self.total = lesson, lang, number, total

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lesson, lang = self.lesson, self.lang
        title = Text(lesson.title.get(lang), style="bold")
        if self.number is not None and self.total is not None:
            title = Text(M.lesson_of(lang, n=self.number, total=self.total) + colon(lang), style="bold") + title
        body = []
        intro = lesson.intro.get(lang)
        if intro:
            body.append(markdown(intro))
        summary = lesson.summary.get(lang)
        if summary and not intro:
            body.append(Text(summary, style="italic"))
        yield Panel(Group(*body) if body else Text(""), title=title, title_align="left", border_style="blue")


class TaskView:
    """One task: heading, prompt (Markdown), cases, checks and the exercise file.

    ``cases`` (the ``CaseInfo`` list of a verdict) replaces the description
    read from the task model when given: it is what was actually run.
    ``number``/``total`` place the task in its lesson.
    """

    def __init__(
        self,
        lesson: Lesson,
        task: Task,
        lang: str = "en",
        *,
        path: Path | str | None = None,
        cases: list[CaseInfo] | None = None,
        number: int | None = None,
        total: int | None = None,
        show_checks: bool = True,
        compact: bool = False,
        edit_hint: str | None = None,
    ) -> None:
        self.lesson, self.task, self.lang = lesson, task, lang
        self.path, self.cases = path, cases
        self.number, self.total = number, total
        self.show_checks = show_checks
        self.compact = compact  # heading, prompt and file only (the screen above a verdict)
        self.edit_hint = edit_hint  # "watch", "manual" or None: how the file gets checked

    def heading(self) -> Text:
        lang = self.lang
        title = Text(f"{self.lesson.id}/{self.task.id}", style="bold cyan")
        title.append(" · ")
        title.append(self.task.title.get(lang), style="bold")
        if self.number is not None and self.total is not None:
            title.append("  " + M.placed(lang, lesson=self.lesson.title.get(lang),
                                         task=M.task_of(lang, n=self.number, total=self.total)), style="dim")
        return title

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Heading, prompt and the file to edit first (what fits the top of a screen), then the details."""
        lang, task = self.lang, self.task
        yield Rule(self.heading(), align="left", style="cyan")
        prompt = task.prompt.get(lang)
        if prompt:
            yield markdown(prompt)
            yield Text("")
        if task.predict is not None:  # a predict task: the snippet is what the learner reasons about
            yield Text(M.snippet(lang), style="bold")
            yield Syntax(task.predict.snippet.rstrip("\n"), "python", theme="ansi_dark", background_color="default")
            yield Text("")
        if self.path is not None:
            line = Text(M.your_file(lang) + colon(lang), style="bold")
            line.append(display_path(self.path), style="bold magenta")
            yield line
            if not self.compact and self.edit_hint:
                hint = M.edit_hint if self.edit_hint == "watch" else M.edit_hint_manual
                yield Text(hint(lang), style="dim")
            if not self.compact:
                yield Text("")
        if not self.compact:
            yield from self._cases()
            if self.show_checks and task.checks:
                yield Text(M.checked(lang), style="bold")
                for check in task.checks:
                    yield Text("  • " + describe_check(check, lang))

    def _cases(self) -> RenderResult:
        lang, task = self.lang, self.task
        lines: list[Text] = []
        if self.cases is not None:
            fixed = [c for c in self.cases if not c.hidden]
            n_hidden = sum(1 for c in self.cases if c.hidden)
            for c in fixed:
                lines.append(_case_line(c.index + 1, c.args, lang))
        else:
            fixed_models = task.cases
            n_hidden = task.random_cases
            for i, case in enumerate(fixed_models):
                lines.append(_case_line(i + 1, describe_case(case, lang), lang))
        if n_hidden:
            lines.append(Text("  " + self._hidden_line(n_hidden), style="dim"))
        if lines:
            yield Text(M.cases(lang), style="bold")
            yield from lines

    def _hidden_line(self, n: int) -> str:
        lang, task = self.lang, self.task
        templates = task.random_template() or []
        if not templates:
            return M.hidden_plain(lang, n=n)
        template = templates[0]
        parts = [f"{name}: {describe_value(spec, lang)}" for name, spec in template.items()
                 if not isinstance(spec, PinnedDims)]
        symbols: set[str] = set()
        for spec in template.values():
            if isinstance(spec, RandomTensor):
                symbols |= spec.symbols()
        for name in sorted(symbols):
            if name in task.dims:
                low, high = task.dims[name]
                parts.append(M.dim_range(lang, name=name, low=low, high=high))
        if n == 1:
            return M.hidden_one(lang, template=join_words(parts, lang))
        return M.hidden(lang, n=n, template=join_words(parts, lang))


def _case_line(n: int, args: dict[str, str], lang: str) -> Text:
    line = Text(f"  {M.case(lang, n=n)}{colon(lang)}", style="dim")
    for i, (name, desc) in enumerate(args.items()):
        if i:
            line.append(", ")
        line.append(name, style="bold")
        line.append(f": {tidy_description(desc)}")
    return line
