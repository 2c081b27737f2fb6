"""``tutor lesson validate``: a pack is valid when it loads and every task grades as intended.

Loading checks the format; then every reference is graded, through the real
sandbox, as if a learner had written it (it must pass), and every starter too
(it must not pass). Op names and custom checks are resolved here, since that
needs torch and the pack's own code.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from tutor.errors import Location, PackError, Problem
from tutor.i18n import Message, resolve_lang
from tutor.pack.loader import Pack, load_pack
from tutor.pack.models import CheckSpec, Task
from tutor.verdict import CheckResult, Status, Verdict

M_REF_FAILS = Message(
    en="the solution does not pass its own checks ({status}): {why}",
    zh="参考答案没有通过它自己的检查（{status}）：{why}",
)
M_REF_BREAKS_RULE = Message(
    en="the reference breaks the rule `{rule}` it sets for learners; rules judge the learner only, so by default"
    " this is a warning (--strict makes it an error). A learner writing the same would read: {why}",
    zh="参考答案没有遵守它为学习者设定的规则 `{rule}`；规则只评判学习者，所以默认只是警告（--strict 会把它当作错误）。"
    "学习者写出同样的代码会看到：{why}",
)
M_ASPECT_NEVER = Message(
    en="feedback `{key}` can never be shown: `{kind}` here fails only on {possible}",
    zh="反馈 `{key}` 永远不会显示：这里的 `{kind}` 只会在以下方面失败：{possible}",
)
M_STARTER_PASSES = Message(en="the starter already passes: it must fail until the learner solves it", zh="初始代码已经能通过：在学习者完成之前它必须不通过")


RULE_KINDS = ("forbid", "require", "source")


def is_rule(check: CheckSpec) -> bool:
    """A how-rule (forbid, require, source, a custom check with ``rule: true``): it judges the learner only."""
    return check.kind in RULE_KINDS or (check.kind == "custom" and check.options.rule)


def rule_text(check: CheckSpec) -> str:
    """The rule as an author wrote it, in one line: ``forbid: [torch.sum]``."""
    options = check.options
    if check.kind == "custom":
        return f"custom: {options.check}"
    if hasattr(options, "model_dump"):
        fields = {k: v for k, v in options.model_dump(exclude_defaults=True).items() if v not in (None, False, [], {})}
        return f"{check.kind}: {{{', '.join(f'{k}: {v}' for k, v in fields.items())}}}"
    return f"{check.kind}: [{', '.join(options)}]"


def pack_findings(pack: Pack, device: str, lang: str) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of a loaded pack that only running it can show.

    Warnings are meant for the author and never stop a learner: the reference
    breaking a how-rule it sets for learners, for one.
    """
    from tutor.checks import custom
    from tutor.grading import predict
    from tutor.grading.ops import UnknownOp, resolve
    from tutor.grading.start import open_grader
    from tutor.workspace.starters import starter_text

    problems: list[Problem] = []
    for lesson, task in pack.tasks():
        task_id = f"{lesson.id}/{task.id}"
        for i, check in enumerate(task.checks):
            if check.kind in ("forbid", "require"):
                for name in check.options:
                    try:
                        resolve(name)
                    except UnknownOp as exc:
                        problems.append(Problem(pack.locate_check(task_id, i), str(exc)))
            if check.kind == "custom":
                try:
                    custom.load(pack.root, check.options.check)
                except Exception as exc:  # noqa: BLE001 - the pack's code may fail any way
                    problems.append(Problem(pack.locate_check(task_id, i), f"custom check fails to load: {exc}"))
    warnings: list[Problem] = list(pack.warnings) + feedback_warnings(pack, lang)
    if problems:
        return problems, warnings
    runnable = [(lesson, task) for lesson, task in pack.tasks() if device in task.devices]
    with tempfile.TemporaryDirectory(prefix="tutor-validate-") as tmp, open_grader(device, 1, lang) as grader:
        for lesson, task in runnable:
            task_id = f"{lesson.id}/{task.id}"
            for role in ("solution", "starter"):
                if role == "solution" and task.predict is not None:  # the right prediction, against the snippet
                    found = predict.solution_problems(grader, pack, task_id, task)
                    problems.extend(found)
                    if found:
                        break  # the starter would only say it again
                    continue
                file = Path(tmp, lesson.id, f"{task.id}.{role}.py")
                file.parent.mkdir(parents=True, exist_ok=True)
                file.write_text(task.solution if role == "solution" else starter_text(task, "en"), encoding="utf-8")
                try:
                    verdict = grader.grade(pack, task_id, file, seed=0)
                except PackError as exc:
                    problems.extend(exc.problems)
                    break
                where = pack.locate(task_id, role)
                if role == "solution":
                    errors, breaches = _reference_findings(task, verdict, where, lang)
                    problems.extend(errors)
                    warnings.extend(breaches)
                if role == "starter" and verdict.passed:
                    problems.append(Problem(where, M_STARTER_PASSES(lang)))
    return problems, warnings


def feedback_warnings(pack: Pack, lang: str) -> list[Problem]:
    """Aspect-keyed feedback (``result.strides:``) that names an aspect its check cannot fail on."""
    from tutor.checks import possible_aspects

    warnings = []
    for lesson, task in pack.tasks():
        for key in task.feedback:
            kind, _, aspect = key.partition(".")
            spec = task.check(kind)
            possible = possible_aspects(kind, spec.options) if spec is not None and aspect else None
            if possible is not None and aspect not in possible:
                warnings.append(Problem(pack.locate(f"{lesson.id}/{task.id}", "feedback", key), M_ASPECT_NEVER(
                    lang, key=key, kind=kind, possible=", ".join(sorted(possible)) or "-")))
    return warnings


def _reference_findings(task: Task, verdict: Verdict, where: Location, lang: str) -> tuple[list[Problem], list[Problem]]:
    """The reference's verdict as (errors, warnings): a broken rule alone is only a warning."""
    if verdict.passed:
        return [], []
    failed = verdict.failed_checks()
    broken = [(result, _spec_of(result, task)) for result in failed]
    what_failed = [result for result, spec in broken if spec is None or not is_rule(spec)]
    warnings: list[Problem] = []
    seen: set[str] = set()
    for result, spec in broken:
        if spec is None or not is_rule(spec) or rule_text(spec) in seen:
            continue  # each rule is reported once, not once per case
        seen.add(rule_text(spec))
        warnings.append(Problem(where, M_REF_BREAKS_RULE(lang, rule=rule_text(spec), why=_last_line(result.message))))
    if verdict.status is Status.FAILED and not what_failed:
        return [], warnings
    why = verdict.error or (f"{what_failed[0].name}: {what_failed[0].message}" if what_failed else "")
    return [Problem(where, M_REF_FAILS(lang, status=verdict.status.value, why=_last_line(why)))], warnings


def _spec_of(result: CheckResult, task: Task) -> CheckSpec | None:
    """The task's check that produced ``result`` (a custom check is told apart by its target)."""
    for check in task.checks:
        if check.kind == result.name and (check.kind != "custom" or check.options.check == result.details.get("check")):
            return check
    return None


def _last_line(text: str) -> str:
    text = text.strip()
    return text.splitlines()[-1] if text else ""


def validate_paths(paths: list[Path], *, as_json: bool, device: str, lang: str | None, strict: bool = False) -> bool:
    """Validate each path; print every problem as file:line:column; True when all are valid.

    Warnings (meant for the author) are printed too; with ``strict`` they count as errors.
    """
    language = resolve_lang(lang)
    all_ok = True
    for path in paths:
        try:
            pack = load_pack(path)
            problems, warnings = pack_findings(pack, device, language)
        except PackError as exc:
            pack, problems, warnings = None, exc.problems, []
        if strict:
            problems, warnings = problems + warnings, []
        all_ok = all_ok and not problems
        if as_json:
            print(json.dumps({
                "path": str(path), "valid": not problems,
                "tasks": len(pack.task_ids()) if pack else 0,
                "errors": [_problem_json(p) for p in problems],
                "warnings": [_problem_json(p) for p in warnings],
            }, ensure_ascii=False))
            continue
        for problem in problems:
            print(problem, file=sys.stderr)
        for warning in warnings:
            print(f"{warning.where}: {M_WARNING(language)}: {warning.message}" if warning.where else warning.message, file=sys.stderr)
        if not problems and pack is not None:
            print(M_VALID_LINE(language, path=path, n=len(pack.task_ids())))
    return all_ok


def _problem_json(problem: Problem) -> dict[str, object]:
    where = problem.where
    return {"file": str(where.file) if where else None, "line": where.line if where else 0,
            "column": where.column if where else 0, "message": problem.message}


M_WARNING = Message(en="warning", zh="警告")


M_VALID_LINE = Message(
    en="{path}: valid: {n} task(s); every reference passes and every starter fails.",
    zh="{path}：有效：共 {n} 个任务；所有参考答案都通过，所有初始代码都未通过。",
)
