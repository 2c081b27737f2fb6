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
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_errors  # type: ignore[no-redef]

from tutor.errors import UserError, report
from tutor.i18n import Message

app = typer.Typer(
    name="tutor",
    help="A terminal tutor and automated grader for PyTorch fundamentals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
lesson_app = typer.Typer(help="Write and check lesson packs (for instructors).", no_args_is_help=True)
export_app = typer.Typer(help="Ready-made bundles for course platforms.", no_args_is_help=True)
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


PackOpt = typer.Option(None, "--pack", help="A pack folder or one lesson file (default: the workspace's, else the built-in course).")
LangOpt = typer.Option(None, "--lang", help="Language of everything shown: en or zh (default: TUTOR_LANG, else the locale).")
DeviceOpt = typer.Option(Device.cpu, "--device", help="Where learner code runs and is compared: cpu or cuda.")
SeedOpt = typer.Option(None, "--seed", help="Replay: the seed of the hidden random cases.")
OutputOpt = typer.Option(None, "--output", "-o", help="Write the report to this file instead of standard output.")

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

    return Console(stderr=stderr, highlight=False)


def _emit(text: str, output: Optional[Path]) -> None:
    """Write a report to --output (atomically) or to standard output."""
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
        return
    from tutor.workspace.atomic import atomic_write

    atomic_write(output, text)


# ---------------------------------------------------------------- learners


@app.command()
def start(
    lang: Optional[Lang] = LangOpt,
    device: Device = DeviceOpt,
    pack: Optional[Path] = PackOpt,
    manual: bool = typer.Option(False, "--manual", help="Check on Enter instead of watching the file."),
) -> None:
    """The guided session: makes the workspace here if there is none, then re-grades on every save."""
    from tutor import context
    from tutor.workspace import Workspace

    ctx = context.resolve(pack, lang and lang.value)
    workspace = ctx.workspace
    if workspace is None:
        workspace = Workspace.create(Path.cwd(), ctx.pack, ctx.pack_source)
    else:
        workspace.write_missing_starters(ctx.pack)
    from tutor.grading.start import open_grader
    from tutor.ui.session import run_session

    with open_grader(device.value, 1, ctx.lang) as grader:
        code = run_session(workspace, ctx.pack, grader, ctx.lang, watch=False if manual else None,
                           interactive=False if manual else None)
    raise typer.Exit(code)


@app.command()
def init(
    pack: Optional[Path] = PackOpt,
    lang: Optional[Lang] = LangOpt,
    ci: Optional[str] = typer.Option(None, "--ci", help="Also write a CI workflow that grades on push: github."),
) -> None:
    """Make a workspace here without starting the session."""
    from tutor import context
    from tutor.workspace import Workspace

    ctx = context.resolve(pack, lang and lang.value)
    workspace = ctx.workspace or Workspace.create(Path.cwd(), ctx.pack, ctx.pack_source)
    workspace.write_missing_starters(ctx.pack)
    if ci is not None:
        from tutor.integrations import github_workflow

        if ci != "github":
            raise UserError(f"--ci: unknown CI {ci!r} (known: github)")
        path = github_workflow.write(workspace.root, ctx.pack_source)
        print(path)
    print(M_CREATED(ctx.lang, path=workspace.root))


@app.command("list")
def list_tasks(pack: Optional[Path] = PackOpt, lang: Optional[Lang] = LangOpt) -> None:
    """Lessons and tasks with their status: done, pending or locked."""
    from tutor.listing import show_list

    raise typer.Exit(show_list(pack, lang and lang.value))


@app.command()
def show(task: str, pack: Optional[Path] = PackOpt, lang: Optional[Lang] = LangOpt) -> None:
    """A task's prompt, its fixed cases and the exercise file's path."""
    from tutor import context
    from tutor.ui.task_view import TaskView

    ctx = context.resolve(pack, lang and lang.value)
    lesson, task_model = ctx.task(task)
    path = ctx.workspace.exercise_path(task) if ctx.workspace else None
    _console().print(TaskView(lesson, task_model, ctx.lang, path=path))


@app.command()
def check(
    task: Optional[str] = typer.Argument(None, help="lesson-id/task-id (default: the current task)"),
    file: Optional[Path] = typer.Option(None, "--file", help="Grade this file instead of the exercise file."),
    pack: Optional[Path] = PackOpt,
    device: Device = DeviceOpt,
    seed: Optional[int] = SeedOpt,
    lang: Optional[Lang] = LangOpt,
    format: CheckFormat = typer.Option(CheckFormat.text, "--format", help="text or json (one JSON object)."),
    output: Optional[Path] = OutputOpt,
) -> None:
    """Grade one task once and print the verdict. Exit 0 when it passed, 1 when not."""
    from tutor import context
    from tutor.workspace import Progress

    ctx = context.resolve(pack, lang and lang.value)
    progress = Progress.load(ctx.workspace, ctx.lang) if ctx.workspace else None
    if task is None:
        if progress is None:
            ctx.require_workspace()
        task = progress.current_task(ctx.pack.task_ids()) if progress else None
        if task is None:
            raise UserError(M_ALL_DONE(ctx.lang))
    lesson, task_model = ctx.task(task)
    if file is not None:
        if not file.is_file():
            raise UserError(M_NO_FILE(ctx.lang, path=file))
        path = file
    else:
        path = ctx.require_workspace().exercise_path(task)
    from tutor.grading.start import open_grader

    with open_grader(device.value, 1, ctx.lang) as grader:
        verdict = grader.grade(ctx.pack, task, path, seed=seed)
    if progress is not None and file is None:
        progress.record_attempt(task, verdict.status.value)
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


@app.command()
def hint(task: str, pack: Optional[Path] = PackOpt, lang: Optional[Lang] = LangOpt) -> None:
    """The next hint for a task (each call shows one more)."""
    from tutor import context
    from tutor.workspace import Progress

    ctx = context.resolve(pack, lang and lang.value)
    _, task_model = ctx.task(task)
    hints = task_model.hints
    if ctx.workspace is not None:
        n = Progress.load(ctx.workspace, ctx.lang).record_hint(task)
    else:
        n = 1
    if not hints or n > len(hints):
        print(M_NO_HINTS(ctx.lang, total=len(hints)))
        for i, text in enumerate(hints, 1):
            print(f"{i}. {text.get(ctx.lang)}")
        return
    from rich.markdown import Markdown

    console = _console()
    console.print(M_HINT(ctx.lang, n=n, total=len(hints)))
    console.print(Markdown(hints[n - 1].get(ctx.lang)))


@app.command()
def solution(task: str, pack: Optional[Path] = PackOpt, lang: Optional[Lang] = LangOpt) -> None:
    """The reference solution, only once the task has passed."""
    from tutor import context
    from tutor.workspace import Progress

    ctx = context.resolve(pack, lang and lang.value)
    _, task_model = ctx.task(task)
    progress = Progress.load(ctx.require_workspace(), ctx.lang)
    if not progress.get(task).passed:
        print(M_NO_SOLUTION(ctx.lang, task=task), file=sys.stderr)
        raise typer.Exit(1)
    from tutor.ui.verdict_view import ReferenceView

    _console().print(ReferenceView(task_model, ctx.lang))


@app.command()
def reset(task: str, pack: Optional[Path] = PackOpt, lang: Optional[Lang] = LangOpt) -> None:
    """Put the starter back; the old file is kept beside it."""
    from tutor import context

    ctx = context.resolve(pack, lang and lang.value)
    _, task_model = ctx.task(task)
    workspace = ctx.require_workspace()
    backup = workspace.reset(task, task_model.starter)
    print(M_RESET(ctx.lang, path=workspace.exercise_path(task)))
    if backup is not None:
        print(M_RESET_KEPT(ctx.lang, backup=backup))


# ---------------------------------------------------------------- CI and graders


@app.command()
def grade(
    workspaces: Optional[list[Path]] = typer.Argument(None, help="Student workspaces (default: the current one)."),
    pack: Optional[Path] = PackOpt,
    format: GradeFormat = typer.Option(GradeFormat.text, "--format", help="Report format."),
    output: Optional[Path] = OutputOpt,
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, max=64, help="Sandbox workers grading in parallel."),
    device: Device = DeviceOpt,
    seed: Optional[int] = SeedOpt,
    lang: Optional[Lang] = LangOpt,
    shard: Optional[str] = typer.Option(None, "--shard", help="K/N: grade only the K-th of N slices of the workspaces."),
) -> None:
    """Grade every task of each workspace. Exit 0 when all passed, 1 when not."""
    from tutor.batch import grade_workspaces

    results = grade_workspaces(
        workspaces or [Path.cwd()], pack=pack, fmt=format.value, output=output, jobs=jobs,
        device=device.value, seed=seed, lang=lang and lang.value, shard=shard,
    )
    raise typer.Exit(0 if all(v.passed for r in results for v in r.verdicts) else 1)


@app.command()
def replay(
    result: Path = typer.Argument(..., help="A JSON report from `tutor check` or `tutor grade --format json`."),
    pack: Optional[Path] = PackOpt,
    lang: Optional[Lang] = LangOpt,
) -> None:
    """Re-grade exactly what a JSON verdict records and say whether the verdict is the same."""
    from tutor.batch import replay_report

    same = replay_report(result, pack=pack, lang=lang and lang.value)
    raise typer.Exit(0 if same else 1)


@app.command()
def merge(
    reports: list[Path] = typer.Argument(..., help="JSON reports of `tutor grade --shard`."),
    format: GradeFormat = typer.Option(GradeFormat.csv, "--format", help="Report format of the merged gradebook."),
    output: Optional[Path] = OutputOpt,
) -> None:
    """Join shard results into one gradebook."""
    from tutor.batch import read_report
    from tutor.reports import render
    from tutor.reports.shard import merge as merge_results

    try:
        merged = merge_results([read_report(p) for p in reports])
        _emit(render(format.value, merged), output)
    except ValueError as exc:
        raise UserError(str(exc)) from None


@app.command()
def doctor(device: Device = DeviceOpt, lang: Optional[Lang] = LangOpt) -> None:
    """Which sandbox layers are active here, and the versions that grading records."""
    from tutor.doctor import report

    print(report(device.value, lang and lang.value))


# ---------------------------------------------------------------- instructors


@lesson_app.command("validate")
def lesson_validate(
    paths: list[Path] = typer.Argument(..., help="Pack folders or lesson files."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per path, for CI."),
    device: Device = DeviceOpt,
    lang: Optional[Lang] = LangOpt,
) -> None:
    """Check packs: the format, and every reference passes its checks while every starter fails."""
    from tutor.validate import validate_paths

    ok = validate_paths(paths, as_json=as_json, device=device.value, lang=lang and lang.value)
    raise typer.Exit(0 if ok else 2)


@lesson_app.command("new")
def lesson_new(
    lesson_id: str = typer.Argument(..., metavar="ID"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Where to write it (default: ID.yaml)."),
) -> None:
    """A commented lesson file to start from."""
    from tutor.pack.template import write_template

    print(write_template(lesson_id, output))


@lesson_app.command("schema")
def lesson_schema(output: Optional[Path] = OutputOpt) -> None:
    """The JSON Schema of lesson files, for editors."""
    from tutor.pack.schema import lesson_schema as schema

    _emit(json.dumps(schema(), indent=2, ensure_ascii=False), output)


@lesson_app.command("export")
def lesson_export(
    student: Path = typer.Option(..., "--student", help="Folder to write the student pack to."),
    pack: Optional[Path] = PackOpt,
) -> None:
    """The pack without solutions, for handing out."""
    from tutor.pack.export import export_student

    print(export_student(pack, student))


@export_app.command("gradescope")
def export_gradescope(
    out: Path = typer.Argument(..., help="The autograder zip to write."),
    pack: Optional[Path] = PackOpt,
) -> None:
    """A Gradescope autograder bundle (setup.sh, run_autograder, the pack)."""
    from tutor.integrations.gradescope_bundle import build

    print(build(pack, out))


# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user mistakes exit 2 with one line each, never a traceback."""
    try:
        code = app(args=argv, standalone_mode=False)
    except UserError as exc:
        sys.exit(report(exc))
    except click_errors.UsageError as exc:
        message = exc.format_message()
        where = f" {exc.ctx.command_path}" if exc.ctx else ""
        print(f"tutor{where[6:] if where.startswith(' tutor') else where}: {message}", file=sys.stderr)
        sys.exit(2)
    except click_errors.ClickException as exc:
        print(f"tutor: {exc.format_message()}", file=sys.stderr)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
