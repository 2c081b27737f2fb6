"""The ``tutor`` command: a thin face over the functions that do the work.

Heavy modules (torch, the engine, rich renderables) are imported inside the
commands that need them, so ``tutor --help`` and ``tutor list`` stay fast.
Every user mistake becomes one located line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer

try:  # typer >= 0.26 carries its own copy of click
    from typer._click import core as click_core
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import core as click_core  # type: ignore[no-redef]
    from click import exceptions as click_errors  # type: ignore[no-redef]

from tutor.errors import UserError, report
from tutor.i18n import Message, resolve_lang
from tutor.ui import click_text

# Help is shown before --lang is parsed, so it follows TUTOR_LANG or the locale;
# click's own words (Usage, Options, errors) go through the same catalog.
HELP_LANG = resolve_lang()
click_text.install(HELP_LANG, click_core.Context)


def _h(en: str, zh: str) -> str:
    return Message(en, zh)(HELP_LANG)



app = typer.Typer(
    name="tutor",
    help=_h("A terminal tutor and automated grader for PyTorch fundamentals.", "PyTorch 基础的终端导师与自动评分器。"),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
lesson_app = typer.Typer(help=_h("Write and check lesson packs (for instructors).", "编写和检查课程包（教师用）。"), no_args_is_help=True)
export_app = typer.Typer(help=_h("Ready-made bundles for course platforms.", "为课程平台生成的现成打包。"), no_args_is_help=True)
app.add_typer(lesson_app, name="lesson")
app.add_typer(export_app, name="export")


class Lang(str, Enum):
    en = "en"
    zh = "zh"


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"


class CheckFormat(str, Enum):
    text = "text"
    json = "json"


class GradeFormat(str, Enum):
    text = "text"
    json = "json"
    junit = "junit"
    gradescope = "gradescope"
    csv = "csv"
    github = "github"
    prairielearn = "prairielearn"
    exercism = "exercism"


PackOpt = typer.Option(None, "--pack", help=_h("A pack folder or one lesson file (default: the workspace's, else the built-in course).", "课程包目录或单个课程文件（默认：工作区所用的课程，否则为内置课程）。"))
LangOpt = typer.Option(None, "--lang", help=_h("Language of everything shown: en or zh (default: TUTOR_LANG, else the locale).", "显示语言：en 或 zh（默认：TUTOR_LANG，否则按系统区域设置）。"))
DeviceOpt = typer.Option(Device.cpu, "--device", help=_h("Where learner code runs and is compared: cpu or cuda.", "学习者代码运行和比较的设备：cpu 或 cuda。"))
SeedOpt = typer.Option(None, "--seed", help=_h("Replay: the seed of the hidden random cases.", "重现：隐藏随机用例的种子。"))
IdFromOpt = typer.Option("name", "--id-from", help=_h("csv: the student column from each workspace's path: name (its folder), parent, path, or a regular expression (its first group).", "csv：学生列取自工作区路径：name（文件夹名）、parent、path，或正则表达式（取第一个分组）。"))
BomOpt = typer.Option(False, "--bom", help=_h("csv: start with a UTF-8 byte-order mark, for spreadsheets opened by double-click.", "csv：以 UTF-8 字节序标记开头，便于双击用电子表格打开。"))
OutputOpt = typer.Option(None, "--output", "-o", help=_h("Write the report to this file instead of standard output.", "把报告写入此文件，而不是标准输出。"))

TaskArg = typer.Argument(None, help=_h("lesson-id/task-id (default: the current task)", "lesson-id/task-id（默认：当前练习）"))

M_HINT = Message(en="Hint {n} of {total}:", zh="提示 {n}/{total}：")
M_NO_HINTS = Message(en="No more hints for this task: you have seen all {total}.", zh="这道题的提示已经全部看过了（共 {total} 条）。")
M_NO_SOLUTION = Message(
    en="The reference for {task} opens once your answer passes: `tutor check {task}`.",
    zh="通过 {task} 之后才能查看参考答案：`tutor check {task}`。",
)
M_RESET = Message(en="Put the starter back in {path}.", zh="已将 {path} 恢复为初始代码。")
M_RESET_KEPT = Message(en="Your old file is kept as {backup}.", zh="你原来的文件保存在 {backup}。")
M_ALL_DONE = Message(en="Every task is done. Name one to check: `tutor check lesson/task`.", zh="所有任务都已完成。可以指定一个任务检查：`tutor check lesson/task`。")
M_CREATED = Message(en="Workspace ready in {path}.", zh="工作区已在 {path} 准备好。")
M_NO_FILE = Message(en="no such file: {path}", zh="文件不存在：{path}")



def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    from tutor.ui.text import install_cjk_wrapping

    install_cjk_wrapping()
    return Console(stderr=stderr, highlight=False)


def _emit(text: str, output: Optional[Path]) -> None:
    """Write a report to --output (atomically) or to standard output."""
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
        return
    from tutor.batch import write_report

    write_report(text, output)


# ---------------------------------------------------------------- learners


@app.command(help=_h("The guided session: makes the workspace here if there is none, then re-grades on every save.", "引导式学习：如当前目录没有工作区则创建，之后每次保存都重新评分。"))
def start(
    lang: Optional[Lang] = LangOpt,
    device: Device = DeviceOpt,
    pack: Optional[Path] = PackOpt,
    manual: bool = typer.Option(False, "--manual", help=_h("Check on Enter instead of watching the file.", "按回车检查，而不是监视文件。")),
) -> None:
    from tutor import context
    from tutor.workspace import Workspace

    ctx = context.resolve(pack, lang and lang.value)
    workspace = ctx.workspace
    if workspace is None:
        workspace = Workspace.create(Path.cwd(), ctx.pack, ctx.pack_source, ctx.lang)
    else:
        workspace.write_missing_starters(ctx.pack, ctx.lang)
    from tutor.grading.start import open_grader
    from tutor.ui.session import run_session

    with workspace.session(ctx.lang), open_grader(device.value, 1, ctx.lang) as grader:
        code = run_session(workspace, ctx.pack, grader, ctx.lang, watch=False if manual else None,
                           interactive=False if manual else None, serve=True)
    raise typer.Exit(code)


@app.command(help=_h("Make a workspace here without starting the session.", "在此创建工作区，但不开始学习。"))
def init(
    pack: Optional[Path] = PackOpt,
    lang: Optional[Lang] = LangOpt,
    ci: Optional[str] = typer.Option(None, "--ci", help=_h("Also write a CI workflow that grades on push: github.", "同时写入一个在推送时评分的 CI 工作流：github。")),
) -> None:
    from tutor import context
    from tutor.workspace import Workspace

    ctx = context.resolve(pack, lang and lang.value)
    workspace = ctx.workspace or Workspace.create(Path.cwd(), ctx.pack, ctx.pack_source, ctx.lang)
    workspace.write_missing_starters(ctx.pack, ctx.lang)
    if ci is not None:
        from tutor.integrations import github_workflow

        if ci != "github":
            raise UserError(f"--ci: unknown CI {ci!r} (known: github)")
        path = github_workflow.write(workspace.root, ctx.pack_source)
        print(path)
    print(M_CREATED(ctx.lang, path=workspace.root))


@app.command("list", help=_h("Lessons and tasks with their status: done, pending or locked.", "列出课程与练习及其状态：已完成、未完成或未解锁。"))
def list_tasks(pack: Optional[Path] = PackOpt, lang: Optional[Lang] = LangOpt) -> None:
    from tutor.listing import show_list

    raise typer.Exit(show_list(pack, lang and lang.value))


@app.command(help=_h("A task's prompt, its fixed cases and the exercise file's path.", "显示练习的题目、固定用例和练习文件路径。"))
def show(task: str, pack: Optional[Path] = PackOpt, lang: Optional[Lang] = LangOpt) -> None:
    from tutor import context
    from tutor.ui.task_view import TaskView

    ctx = context.resolve(pack, lang and lang.value)
    lesson, task_model = ctx.task(task)
    path = ctx.workspace.exercise_path(task) if ctx.workspace else None
    _console().print(TaskView(lesson, task_model, ctx.lang, path=path))


@app.command(help=_h("Grade one task once and print the verdict. Exit 0 when it passed, 1 when not.", "评分一个练习并显示结果。通过时退出码为 0，否则为 1。"))
def check(
    task: Optional[str] = TaskArg,
    file: Optional[Path] = typer.Option(None, "--file", help=_h("Grade this file instead of the exercise file.", "评分此文件，而不是练习文件。")),
    pack: Optional[Path] = PackOpt,
    device: Device = DeviceOpt,
    seed: Optional[int] = SeedOpt,
    lang: Optional[Lang] = LangOpt,
    format: CheckFormat = typer.Option(CheckFormat.text, "--format", help=_h("text or json (one JSON object).", "text 或 json（一个 JSON 对象）。")),
    output: Optional[Path] = OutputOpt,
) -> None:
    from tutor import context
    from tutor.workspace import Progress

    ctx = context.resolve(pack, lang and lang.value)
    progress = Progress.load(ctx.workspace, ctx.lang) if ctx.workspace else None
    task = task or _current_task(ctx)
    lesson, task_model = ctx.task(task)
    if file is not None:
        if not file.is_file():
            raise UserError(M_NO_FILE(ctx.lang, path=file))
        path = file
    else:
        path = ctx.require_workspace().exercise_path(task)
        if format is CheckFormat.text and output is None and _not_started(task_model, path, ctx.lang):
            raise typer.Exit(1)
    verdict = None
    # A predict task's tries count only for the learner's own exercise file.
    tried = progress.get(task).predict_tried if progress is not None and file is None else None
    if ctx.workspace is not None:
        from tutor.ui.remote import ask

        verdict = ask(ctx.workspace, task, file, seed=seed, lang=ctx.lang, device=device.value, tried=tried)
    if verdict is None:
        from tutor.grading.start import open_grader

        with open_grader(device.value, 1, ctx.lang) as grader:
            verdict = grader.grade(ctx.pack, task, path, seed=seed, tried=tried)
    if progress is not None and file is None:
        progress.record_attempt(task, verdict.status.value, verdict.prediction_try)
    if format is CheckFormat.json:
        _emit(json.dumps(verdict.to_json(), ensure_ascii=False), output)
    else:
        from tutor.ui.verdict_view import VerdictView

        if output is not None:
            from tutor.reports import render

            _emit(render("text", [_single(verdict, path)]), output)
        else:
            from tutor.ui.course import next_task

            following = next_task(ctx.pack, progress, task) if verdict.passed else None
            found = ctx.pack.find(following) if following else None
            upcoming = (following, found[1].title.get(ctx.lang)) if found else None
            _console().print(VerdictView(verdict, ctx.lang, task=task_model, next_task=upcoming,
                                         show_next=progress is not None))
    raise typer.Exit(0 if verdict.passed else 1)


def _single(verdict: Any, path: Path) -> Any:
    from tutor.verdict import WorkspaceResult

    return WorkspaceResult(str(path), [verdict])


def _current_task(ctx: Any) -> str:
    """The task ``tutor check``, ``hint`` and ``solution`` mean without one: the first not passed."""
    from tutor.workspace import Progress

    progress = Progress.load(ctx.require_workspace(), ctx.lang)
    task = progress.current_task(ctx.pack.task_ids())
    if task is None:
        raise UserError(M_ALL_DONE(ctx.lang))
    return task


def _not_started(task_model: Any, path: Path, lang: str) -> bool:
    """Say so in a line, rather than grade, when the file is still the starter, empty or unreadable."""
    from tutor.ui.session import M as session_text
    from tutor.ui.task_view import display_path
    from tutor.workspace.starters import starter_state

    try:
        content = path.read_bytes()
    except OSError:
        return False  # the grader says the file is missing
    state, why = starter_state(task_model, content)
    shown = display_path(path)
    if state == "starter":
        print(session_text.not_started(lang, path=shown))
    elif state == "empty":
        print(session_text.empty(lang, path=shown, entry=task_model.entry))
    elif state == "undecodable" and why is not None:
        print(session_text.undecodable(lang, path=shown, line=why.line, column=why.column, encoding=why.encoding))
    return state != "code"


@app.command(help=_h("The next hint for a task (each call shows one more).", "显示练习的下一条提示（每次多显示一条）。"))
def hint(task: Optional[str] = TaskArg, pack: Optional[Path] = PackOpt, lang: Optional[Lang] = LangOpt) -> None:
    from tutor import context
    from tutor.workspace import Progress

    ctx = context.resolve(pack, lang and lang.value)
    task = task or _current_task(ctx)
    _, task_model = ctx.task(task)
    hints = task_model.hints
    from tutor.ui.text import markdown

    console = _console()
    used = Progress.load(ctx.workspace, ctx.lang).get(task).hints_used if ctx.workspace else 0
    if not hints or used >= len(hints):
        console.print(M_NO_HINTS(ctx.lang, total=len(hints)))
        for i, text in enumerate(hints, 1):
            console.print(markdown(f"{i}. {text.get(ctx.lang)}"))
        return
    n = Progress.load(ctx.workspace, ctx.lang).record_hint(task) if ctx.workspace else 1
    console.print(M_HINT(ctx.lang, n=n, total=len(hints)))
    console.print(markdown(hints[n - 1].get(ctx.lang)))


@app.command(help=_h("The reference solution, only once the task has passed.", "显示参考答案（仅在通过后）。"))
def solution(task: Optional[str] = TaskArg, pack: Optional[Path] = PackOpt, lang: Optional[Lang] = LangOpt) -> None:
    from tutor import context
    from tutor.workspace import Progress

    ctx = context.resolve(pack, lang and lang.value)
    progress = Progress.load(ctx.require_workspace(), ctx.lang)
    task = task or _latest_passed(ctx, progress)
    _, task_model = ctx.task(task)
    if not progress.get(task).passed:
        print(M_NO_SOLUTION(ctx.lang, task=task), file=sys.stderr)
        raise typer.Exit(1)
    from tutor.ui.verdict_view import ReferenceView

    _console().print(ReferenceView(task_model, ctx.lang))


def _latest_passed(ctx: Any, progress: Any) -> str:
    """``tutor solution`` alone: the task passed last (the one just solved), else the current one."""
    passed = [(record.passed_at or "", task) for task, record in progress.tasks.items() if record.passed]
    return max(passed)[1] if passed else _current_task(ctx)


@app.command(help=_h("Put the starter back; the old file is kept beside it.", "恢复初始代码；旧文件保留在旁边。"))
def reset(task: str, pack: Optional[Path] = PackOpt, lang: Optional[Lang] = LangOpt) -> None:
    from tutor import context

    ctx = context.resolve(pack, lang and lang.value)
    _, task_model = ctx.task(task)
    workspace = ctx.require_workspace()
    from tutor.workspace.starters import starter_text

    backup = workspace.reset(task, starter_text(task_model, ctx.lang))
    print(M_RESET(ctx.lang, path=workspace.exercise_path(task)))
    if backup is not None:
        print(M_RESET_KEPT(ctx.lang, backup=backup))


# ---------------------------------------------------------------- CI and graders


@app.command(help=_h("Grade every task of each workspace. Exit 0 when all passed, 1 when not.", "评分每个工作区的所有练习。全部通过时退出码为 0，否则为 1。"))
def grade(
    workspaces: Optional[list[Path]] = typer.Argument(None, help=_h("Student workspaces (default: the current one).", "学生工作区（默认：当前工作区）。")),
    pack: Optional[Path] = PackOpt,
    format: GradeFormat = typer.Option(GradeFormat.text, "--format", help=_h("Report format.", "报告格式。")),
    output: Optional[Path] = OutputOpt,
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, max=64, help=_h("Sandbox workers grading in parallel.", "并行评分的沙箱工作进程数。")),
    device: Device = DeviceOpt,
    seed: Optional[int] = SeedOpt,
    lang: Optional[Lang] = LangOpt,
    shard: Optional[str] = typer.Option(None, "--shard", help=_h("K/N: grade only the K-th of N slices of the workspaces.", "K/N：只评分工作区 N 等分中的第 K 份。")),
    id_from: str = IdFromOpt,
    bom: bool = BomOpt,
) -> None:
    from tutor.batch import grade_workspaces
    from tutor.reports import SINGLE_WORKSPACE

    try:
        results = grade_workspaces(
            workspaces or [Path.cwd()], pack=pack, fmt=format.value, output=output, jobs=jobs,
            device=device.value, seed=seed, lang=lang and lang.value, shard=shard,
            report_options=_report_options(format, id_from, bom),
        )
    except UserError as exc:
        if format.value not in SINGLE_WORKSPACE:
            raise
        # The consumer reads a file, not an exit code: write one that says why.
        from tutor.reports import render_not_gradable

        try:
            _emit(render_not_gradable(format.value, "; ".join(str(p) for p in exc.problems)), output)
        except UserError:
            raise exc from None  # not even that file could be written: exit 2
        report(exc)
        raise typer.Exit(0) from None
    if format.value in SINGLE_WORKSPACE:
        raise typer.Exit(0)
    raise typer.Exit(0 if all(v.passed for r in results for v in r.verdicts) else 1)


def _report_options(fmt: GradeFormat, id_from: str, bom: bool) -> dict[str, Any]:
    """The csv options, refused with any other format (they would silently do nothing)."""
    if fmt is GradeFormat.csv:
        return {"id_from": id_from, "bom": bom}
    if id_from != "name" or bom:
        raise UserError(f"--id-from and --bom shape the csv gradebook; --format {fmt.value} has no student column")
    return {}


@app.command(help=_h("Re-grade exactly what a JSON verdict records and say whether the verdict is the same.", "按 JSON 结果中记录的条件重新评分，并说明结论是否相同。"))
def replay(
    result: Path = typer.Argument(..., help=_h("A JSON report from `tutor check` or `tutor grade --format json`.", "`tutor check` 或 `tutor grade --format json` 生成的 JSON 报告。")),
    pack: Optional[Path] = PackOpt,
    lang: Optional[Lang] = LangOpt,
) -> None:
    from tutor.batch import replay_report

    same = replay_report(result, pack=pack, lang=lang and lang.value)
    raise typer.Exit(0 if same else 1)


@app.command(help=_h("Join shard results into one gradebook.", "把分片结果合并为一份成绩单。"))
def merge(
    reports: list[Path] = typer.Argument(..., help=_h("JSON reports of `tutor grade --shard`.", "`tutor grade --shard` 生成的 JSON 报告。")),
    format: GradeFormat = typer.Option(GradeFormat.csv, "--format", help=_h("Report format of the merged gradebook.", "合并后成绩单的格式。")),
    output: Optional[Path] = OutputOpt,
    id_from: str = IdFromOpt,
    bom: bool = BomOpt,
) -> None:
    from tutor.batch import read_report
    from tutor.reports import render
    from tutor.reports.shard import merge as merge_results

    options = _report_options(format, id_from, bom)
    try:
        merged = merge_results([read_report(p) for p in reports])
        _emit(render(format.value, merged, **options), output)
    except ValueError as exc:
        raise UserError(str(exc)) from None


@app.command("report", help=_h("A self-contained HTML page about a class: scores, pass rates, what failed most.", "生成独立的 HTML 班级报告：成绩、通过率、最常失败的检查。"))
def class_report(
    reports: list[Path] = typer.Argument(..., help=_h("JSON reports of `tutor grade --format json` (shards are joined).", "`tutor grade --format json` 生成的 JSON 报告（分片会被合并）。")),
    html: Path = typer.Option(..., "--html", help=_h("Where to write the page.", "报告页面的保存位置。")),
    lang: Optional[Lang] = LangOpt,
) -> None:
    from tutor.batch import read_report
    from tutor.reports.analytics import class_stats
    from tutor.reports.html import render as render_html
    from tutor.reports.shard import merge as merge_results
    from tutor.workspace.atomic import atomic_write

    try:
        results = merge_results([read_report(p) for p in reports]) if len(reports) > 1 else read_report(reports[0])
    except ValueError as exc:
        raise UserError(str(exc)) from None
    page = render_html(class_stats(results), resolve_lang(lang and lang.value))
    try:
        atomic_write(html, page)
    except OSError as exc:
        raise UserError(f"{html}: {exc.strerror or exc}") from None


@app.command(help=_h("Which sandbox layers are active here, and the versions that grading records.", "显示本机启用了哪些沙箱防护层，以及评分记录的版本。"))
def doctor(device: Device = DeviceOpt, lang: Optional[Lang] = LangOpt) -> None:
    from tutor.doctor import report

    print(report(device.value, lang and lang.value))


# ---------------------------------------------------------------- instructors


@lesson_app.command("validate", help=_h("Check packs: the format, and every reference passes its checks while every starter fails.", "检查课程包：格式正确，每个参考答案都通过，每个初始代码都不通过。"))
def lesson_validate(
    paths: list[Path] = typer.Argument(..., help=_h("Pack folders or lesson files.", "课程包目录或课程文件。")),
    as_json: bool = typer.Option(False, "--json", help=_h("One JSON object per path, for CI.", "每个路径输出一个 JSON 对象，供 CI 使用。")),
    device: Device = DeviceOpt,
    lang: Optional[Lang] = LangOpt,
    strict: bool = typer.Option(False, "--strict", help=_h("Treat warnings (a reference breaking a rule it sets for learners, ...) as errors.", "把警告（例如参考答案没有遵守它为学习者设定的规则）当作错误。")),
) -> None:
    from tutor.validate import validate_paths

    ok = validate_paths(paths, as_json=as_json, device=device.value, lang=lang and lang.value, strict=strict)
    raise typer.Exit(0 if ok else 2)


@lesson_app.command("new", help=_h("A commented lesson file to start from.", "生成一个带注释的课程文件作为起点。"))
def lesson_new(
    lesson_id: str = typer.Argument(..., metavar="ID"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help=_h("Where to write it (default: ID.yaml).", "写入位置（默认：ID.yaml）。")),
) -> None:
    from tutor.pack.template import write_template

    print(write_template(lesson_id, output))


@lesson_app.command("schema", help=_h("The JSON Schema of lesson files, for editors.", "输出课程文件的 JSON Schema，供编辑器使用。"))
def lesson_schema(output: Optional[Path] = OutputOpt) -> None:
    from tutor.pack.schema import lesson_schema as schema

    _emit(json.dumps(schema(), indent=2, ensure_ascii=False), output)


@lesson_app.command("export", help=_h("The pack without solutions, for handing out.", "导出不含答案的课程包，供分发给学生。"))
def lesson_export(
    student: Path = typer.Option(..., "--student", help=_h("Folder to write the student pack to.", "学生版课程包的输出目录。")),
    pack: Optional[Path] = PackOpt,
) -> None:
    from tutor.pack.export import export_student

    print(export_student(pack, student))


@export_app.command("gradescope", help=_h("A Gradescope autograder bundle (setup.sh, run_autograder, the pack).", "生成 Gradescope 自动评分包（setup.sh、run_autograder 和课程包）。"))
def export_gradescope(
    out: Path = typer.Argument(..., help=_h("The autograder zip to write.", "要写入的自动评分 zip 文件。")),
    pack: Optional[Path] = PackOpt,
) -> None:
    from tutor.integrations.gradescope_bundle import build

    print(build(pack, out))


@export_app.command("wheel", help=_h("A wheel of this tutor, to install it where no index has it (commit it beside a pack).", "生成当前 tutor 的 wheel 安装包，用于没有包索引的地方（可与课程包一起提交）。"))
def export_wheel(
    out: Path = typer.Argument(Path("."), help=_h("The folder to write the wheel into.", "写入 wheel 的目录。")),
) -> None:
    from tutor.integrations.wheel import build

    print(build(out))


# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user mistakes exit 2 with one line each, never a traceback."""
    try:
        code = app(args=argv, standalone_mode=False)
    except UserError as exc:
        sys.exit(report(exc))
    except click_errors.UsageError as exc:
        message = click_text.translate_error(exc.format_message(), HELP_LANG)
        where = f" {exc.ctx.command_path}" if exc.ctx else ""
        print(f"tutor{where[6:] if where.startswith(' tutor') else where}: {message}", file=sys.stderr)
        sys.exit(2)
    except click_errors.ClickException as exc:
        print(f"tutor: {click_text.translate_error(exc.format_message(), HELP_LANG)}", file=sys.stderr)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
