"""Grading whole workspaces: many students, many tasks, one report.

A task's timeout or crash costs that task only; the batch goes on. The report
is rewritten as workspaces finish, so a batch killed halfway keeps what it had
graded (``ReportWriter``).
"""

from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path
from typing import Any, Callable

from tutor.errors import UserError
from tutor.i18n import Message, resolve_lang
from tutor.pack.loader import Pack, builtin_course, load_pack
from tutor.verdict import Verdict, WorkspaceResult
from tutor.workspace import Workspace

M_NOT_WORKSPACE = Message(
    en="{path} is not a tutor workspace (no .tutor/workspace.json)",
    zh="{path} 不是 tutor 工作区（没有 .tutor/workspace.json）",
)
M_PLAIN_NEEDS_PACK = Message(
    en="{path} has exercises/ but no .tutor/ record of its pack: name the pack with --pack",
    zh="{path} 有 exercises/ 但没有记录课程包的 .tutor/：请用 --pack 指定课程包",
)
M_ONE_SUBMISSION = Message(
    en="--format {fmt} describes one submission; grade each of the {count} workspaces on its own",
    zh="--format {fmt} 只描述一份提交；请把这 {count} 个工作区分别评分",
)
M_BAD_REPORT = Message(en="{path}: not a tutor JSON report: {why}", zh="{path}：不是 tutor 的 JSON 报告：{why}")
M_REPLAY_SAME = Message(en="{task}: same verdict ({status}).", zh="{task}：结论相同（{status}）。")
M_REPLAY_DIFF = Message(en="{task}: the verdict differs:", zh="{task}：结论不同：")
M_FS_LAYER = Message(
    en="WARNING: no file-system sandbox layer is active on this machine (Landlock unavailable):"
    " learner code could read files the grader can read. Grade inside a container or VM.",
    zh="警告：本机没有可用的文件系统沙箱层（Landlock 不可用）：学生代码可能读取评分程序能读的文件。请在容器或虚拟机中评分。",
)


M_STUDENT_PACK = Message(
    en="{path} is a student pack (it has no references and no hidden cases); grade with the full pack: --pack FULL",
    zh="{path} 是学生版课程包（没有参考答案，也没有隐藏用例）；请用完整课程包评分：--pack FULL",
)


def _pack_for(workspace: Workspace, explicit: Pack | None, loaded: dict[Path, Pack] | None = None) -> Pack:
    """The pack to grade ``workspace`` with; ``loaded`` shares packs between workspaces."""
    if explicit is not None:
        return explicit
    record = workspace.pack_record()
    path = (record.pack_path(workspace.root) or builtin_course()).resolve()
    if loaded is None:
        return load_pack(path)
    if path not in loaded:
        loaded[path] = load_pack(path)
    return loaded[path]


def _workspace(path: Path, pack_given: bool, lang: str) -> Workspace:
    """The workspace at ``path``; a plain folder of exercises grades as one when the pack is given."""
    ws = Workspace.find(path) if path.is_dir() else None
    if ws is not None and ws.root.resolve() == path.resolve():
        return ws
    if Workspace.is_plain_folder(path):
        if not pack_given:
            raise UserError(M_PLAIN_NEEDS_PACK(lang, path=path))
        return Workspace(path.absolute())
    raise UserError(M_NOT_WORKSPACE(lang, path=path))


def grade_workspaces(paths: list[Path], *, pack: Path | None, fmt: str, output: Path | None, jobs: int,
                     device: str, seed: int | None, lang: str | None, shard: str | None,
                     report_options: dict[str, Any] | None = None) -> list[WorkspaceResult]:
    """Grade each workspace with its pack (or ``pack``), write the report, return the results.

    ``report_options`` go to the format (``csv``: ``id_from``, ``bom``)."""
    from tutor.grading.needs import batch_needs
    from tutor.grading.start import open_grader, prewarm
    from tutor.reports import SINGLE_WORKSPACE, render
    from tutor.reports.shard import select_shard

    language = resolve_lang(lang)
    if fmt in SINGLE_WORKSPACE and len(paths) > 1:
        raise UserError(M_ONE_SUBMISSION(language, fmt=fmt, count=len(paths)))
    explicit = load_pack(pack) if pack is not None else None
    # One seed for the whole batch: every student meets the same hidden cases,
    # and each task's inputs and reference run are made once.
    seed = secrets.randbelow(2**31) if seed is None else seed
    workspaces = [_workspace(path, explicit is not None, language) for path in paths]
    if shard is not None:
        try:
            workspaces = select_shard(workspaces, shard, key=lambda w: str(w.root))
        except ValueError as exc:
            raise UserError(f"--shard: {exc}") from None
    options = dict(report_options or {})
    if options:  # an option that cannot work (two students with one id) fails before any grading
        try:
            render(fmt, [WorkspaceResult(str(ws.root), []) for ws in workspaces], **options)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    results: list[WorkspaceResult] = []
    bar = _progress(fmt, output)
    packs: dict[Path, Pack] = {}  # a class usually shares one pack: load it once
    ws_packs = [_pack_for(ws, explicit, packs) for ws in workspaces]
    for ws_pack in ws_packs:
        if ws_pack.student:  # its references are stubs; only the full pack grades hidden cases
            raise UserError(M_STUDENT_PACK(language, path=ws_pack.root))
    writer = ReportWriter(lambda done: write_report(render(fmt, done, **options), output)) if output else None
    stages = batch_needs(ws_packs)
    prewarm(device, jobs, stages)
    with open_grader(device, jobs, language, stages) as grader:
        if not grader.layers().get("landlock", "").startswith("active"):
            print(M_FS_LAYER(language), file=sys.stderr)
        total = sum(len(p.task_ids()) for p in ws_packs)
        task_bar = bar.add_task("grading", total=total) if bar else None
        if bar:
            bar.start()
        try:
            for ws, ws_pack in zip(workspaces, ws_packs):
                warnings = [] if Workspace.is_plain_folder(ws.root) else ws.pack_warnings(ws_pack, language)
                for warning in warnings:
                    print(f"{ws.root}: {warning}", file=sys.stderr)
                items = [(ws_pack, task_id, _exercise(ws, task_id), seed) for task_id in ws_pack.task_ids()]
                verdicts: list[Verdict] = []
                for verdict in grader.grade_many(items):
                    verdicts.append(verdict)
                    if bar:
                        bar.advance(task_bar)
                results.append(WorkspaceResult(str(ws.root), verdicts, warnings))
                if writer is not None:
                    writer.finished(results)
            if writer is not None:
                writer.flush(results)
        finally:
            if bar:
                bar.stop()
    if output is None:
        sys.stdout.write(render(fmt, results, **options))
    return results


def _exercise(ws: Workspace, task_id: str) -> Path | UserError:
    """The task's file, or why it cannot be graded: that costs this task only, not the class."""
    try:
        return ws.exercise_path(task_id)
    except UserError as exc:
        return exc


class ReportWriter:
    """Rewrites the report as workspaces finish, at a bounded cost.

    The whole report is rendered each time (a report's formats cannot be
    appended to), so rewriting it after every workspace made a class's batch
    quadratic: 16 workspaces of the course rendered 16 times as JSON cost as
    much as grading two more. The report is rewritten once grading has taken
    ``PATIENCE`` times as long as the last rewrite did, which keeps rewriting
    under a fifth of the batch; a class of a few workspaces is still written
    after each one, and a killed batch loses only the workspaces since.
    """

    PATIENCE = 4.0

    def __init__(self, write: Callable[[list[WorkspaceResult]], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.write = write
        self.clock = clock
        self.written = 0  # how many workspaces the file on disk holds
        self.cost = 0.0  # what the last rewrite took
        self.since = clock()

    def finished(self, results: list[WorkspaceResult]) -> None:
        """A workspace was added to ``results``: rewrite now if it is time."""
        if self.clock() - self.since >= self.PATIENCE * self.cost:
            self.flush(results)

    def flush(self, results: list[WorkspaceResult]) -> None:
        """Rewrite now, unless the file already holds all of ``results`` (an empty batch is written too)."""
        if self.written == len(results) and self.written:
            return
        started = self.clock()
        self.write(results)
        self.since = self.clock()
        self.cost = self.since - started
        self.written = len(results)


def write_report(text: str, output: Path) -> None:
    """Write a report to ``output`` atomically; a path that cannot be written is a one-line UserError."""
    from tutor.workspace.atomic import atomic_write

    try:
        atomic_write(output, text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        raise UserError(f"{output}: cannot write the report: {exc.strerror or exc}") from None


def _progress(fmt: str, output: Path | None) -> Any:
    """A progress bar on a terminal (stderr), never mixed into a machine-readable report."""
    if not sys.stderr.isatty() or (fmt != "text" and output is None):
        return None
    from rich.progress import Progress

    return Progress(transient=True, console=None)


def read_report(path: Path) -> list[WorkspaceResult]:
    from tutor.reports.json import parse

    try:
        return parse(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(M_BAD_REPORT(resolve_lang(None), path=path, why=exc)) from None


def _tried(old: Verdict, file: Path) -> list[str] | None:
    """A predict verdict's counted tries, for its replay to count them the same way."""
    if old.predict is None:
        return None
    from tutor.grading.predict import replayed_tries
    from tutor.source_text import decode_source

    try:
        source = decode_source(file.read_bytes())
    except (OSError, ValueError):
        source = ""
    return replayed_tries(old.predict, source)


def replay_report(path: Path, *, pack: Path | None, lang: str | None) -> bool:
    """Re-grade each recorded verdict with its seed and device; True when all come out the same."""
    from contextlib import ExitStack

    from tutor.grading.start import open_grader
    from tutor.reports.compare import environment_differences, same_verdict

    language = resolve_lang(lang)
    results = read_report(path)
    explicit = load_pack(pack) if pack is not None else None
    all_same = True
    with ExitStack() as stack:
        graders: dict[str, Any] = {}
        for result in results:
            root = Path(result.workspace) if result.workspace else Path.cwd()
            ws = Workspace(root) if explicit is not None and Workspace.is_plain_folder(root) else Workspace.find(root)
            ws_pack = explicit or (_pack_for(ws, None) if ws else load_pack(builtin_course()))
            for old in result.verdicts:
                if old.device not in graders:
                    graders[old.device] = stack.enter_context(open_grader(old.device, 1, language))
                file = ws.exercise_path(old.task) if ws else root
                new = graders[old.device].grade(ws_pack, old.task, file, seed=old.seed, tried=_tried(old, file))
                differences = same_verdict(old, new)
                if old.pack and ws_pack.hash != old.pack.hash:
                    differences.append(f"pack hash {old.pack.hash} -> {ws_pack.hash}")
                if differences:
                    all_same = False
                    print(M_REPLAY_DIFF(language, task=old.task))
                    for line in differences + environment_differences(old, new):
                        print(f"  - {line}")
                else:
                    print(M_REPLAY_SAME(language, task=old.task, status=new.status.value))
    return all_same
