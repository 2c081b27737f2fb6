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

from tutor.errors import PackError, Problem
from tutor.i18n import Message, resolve_lang
from tutor.pack.loader import Pack, load_pack

M_REF_FAILS = Message(
    en="the solution does not pass its own checks ({status}): {why}",
    zh="参考答案没有通过它自己的检查（{status}）：{why}",
)
M_STARTER_PASSES = Message(en="the starter already passes: it must fail until the learner solves it", zh="初始代码已经能通过：在学习者完成之前它必须不通过")


def pack_problems(pack: Pack, device: str, lang: str) -> list[Problem]:
    """Everything wrong with a loaded pack that only running it can show."""
    from tutor.checks import custom
    from tutor.grading.ops import UnknownOp, resolve
    from tutor.grading.start import open_grader

    problems: list[Problem] = []
    for lesson, task in pack.tasks():
        task_id = f"{lesson.id}/{task.id}"
        for i, check in enumerate(task.checks):
            if check.kind in ("forbid", "require"):
                for name in check.options:
                    try:
                        resolve(name)
                    except UnknownOp as exc:
                        problems.append(Problem(pack.locate(task_id, "checks", i), str(exc)))
            if check.kind == "custom":
                try:
                    custom.load(pack.root, check.options)
                except Exception as exc:  # noqa: BLE001 - the pack's code may fail any way
                    problems.append(Problem(pack.locate(task_id, "checks", i), f"custom check fails to load: {exc}"))
    if problems:
        return problems
    runnable = [(lesson, task) for lesson, task in pack.tasks() if device in task.devices]
    with tempfile.TemporaryDirectory(prefix="tutor-validate-") as tmp, open_grader(device, 1, lang) as grader:
        for lesson, task in runnable:
            task_id = f"{lesson.id}/{task.id}"
            for role in ("solution", "starter"):
                file = Path(tmp, lesson.id, f"{task.id}.{role}.py")
                file.parent.mkdir(parents=True, exist_ok=True)
                file.write_text(getattr(task, role), encoding="utf-8")
                try:
                    verdict = grader.grade(pack, task_id, file, seed=0)
                except PackError as exc:
                    problems.extend(exc.problems)
                    break
                where = pack.locate(task_id, role)
                if role == "solution" and not verdict.passed:
                    failed = verdict.failed_checks()
                    why = verdict.error or (f"{failed[0].name}: {failed[0].message}" if failed else "")
                    problems.append(Problem(where, M_REF_FAILS(lang, status=verdict.status.value, why=why.strip().splitlines()[-1] if why else "")))
                if role == "starter" and verdict.passed:
                    problems.append(Problem(where, M_STARTER_PASSES(lang)))
    return problems


def validate_paths(paths: list[Path], *, as_json: bool, device: str, lang: str | None) -> bool:
    """Validate each path; print every problem as file:line:column; True when all are valid."""
    language = resolve_lang(lang)
    all_ok = True
    for path in paths:
        try:
            pack = load_pack(path)
            problems = pack_problems(pack, device, language)
        except PackError as exc:
            pack, problems = None, exc.problems
        all_ok = all_ok and not problems
        if as_json:
            print(json.dumps({
                "path": str(path), "valid": not problems,
                "tasks": len(pack.task_ids()) if pack else 0,
                "errors": [{"file": str(p.where.file) if p.where else None, "line": p.where.line if p.where else 0,
                            "column": p.where.column if p.where else 0, "message": p.message} for p in problems],
            }, ensure_ascii=False))
        elif problems:
            for problem in problems:
                print(problem, file=sys.stderr)
        else:
            print(M_VALID_LINE(language, path=path, n=len(pack.task_ids())))
    return all_ok


M_VALID_LINE = Message(
    en="{path}: valid: {n} task(s); every reference passes and every starter fails.",
    zh="{path}：有效：共 {n} 个任务；所有参考答案都通过，所有初始代码都未通过。",
)
