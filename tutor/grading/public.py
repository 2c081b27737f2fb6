"""Public tests of a student pack: the reference's results on the fixed cases, as data.

``tutor lesson export --student`` runs each reference on its task's fixed
cases and keeps what it returned (values, the inputs after the call,
gradients, storage sharing) in ``public/<lesson>/<task>.json`` and ``.bin``.
``tutor check`` with the student pack grades those cases against the stored
results, and says that the hidden cases are graded by the course; the full
pack, with its references, stays the authority (``tutor grade`` refuses a
student pack).

The files hold no code: a JSON tree and raw storage bytes in the sandbox's
own pickle-free format (``tutor.jail.wire``), read back with the same strict
decoder as a learner's results. Storage sharing survives because each run is
one encoding: a result that is a view of an input is one storage, twice.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tutor.checks import Run
from tutor.errors import PackError, Problem
from tutor.grading.efficiency import read_figures
from tutor.grading.inputs import CaseInputs, describe, make_cases
from tutor.i18n import Message
from tutor.jail import frames, wire
from tutor.pack.loader import STUDENT_INDEX
from tutor.pack.models import Task

FOLDER = STUDENT_INDEX.parent.name
FORMAT = 1
MAX_BYTES = 256 << 20

M_HIDDEN_BY_COURSE = Message(
    en="Checked with the student pack's public cases only; the {n} hidden case(s) are graded by your course.",
    zh="只用学生版课程包的公开用例检查；另外 {n} 个隐藏用例由课程评分。",
)
M_CUSTOM_BY_COURSE = Message(
    en="The course's own checks of this task are run by your course too.",
    zh="此练习的课程自定义检查也由课程运行。",
)
M_STALE = Message(
    en="the student pack's public results for this task were made from another version of it; export the student pack again",
    zh="此练习的公开结果来自它的另一个版本；请重新导出学生版课程包",
)
M_BROKEN = Message(
    en="the student pack's public results for this task cannot be read ({why}); export the student pack again",
    zh="无法读取此练习的公开结果（{why}）；请重新导出学生版课程包",
)


def fingerprint(task: Task) -> str:
    """What the stored results depend on: the task's cases, dims, entry and checks."""
    data = task.model_dump(mode="json", include={"entry", "cases", "dims", "distinct_dims", "where", "checks"})
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def write(task_id: str, task: Task, cases: list[CaseInputs], runs: list[Run], upstreams: list[list[Any]], out: Path) -> None:
    """Store the reference's runs of a task's fixed cases under ``out/public``."""
    args_doc, args_blob = wire.encode([c.args for c in cases])
    runs_doc, runs_blob = wire.encode([
        {"run": {"result": r.result, "inputs": r.inputs, "grads": r.grads, "backward_grads": r.backward_grads},
         "upstream": u}
        for r, u in zip(runs, upstreams)
    ])
    base = out / FOLDER / Path(*task_id.split("/"))
    base.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "format": FORMAT, "task": task_id, "fingerprint": fingerprint(task), "hidden": task.random_cases,
        "seeds": [c.seed for c in cases], "args": args_doc, "runs": runs_doc, "args_bytes": len(args_blob),
        # For efficiency checks: each case's dims and the reference's figures (plain data).
        "dims": [c.dims for c in cases], "efficiency": [r.efficiency for r in runs],
    }
    base.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
    base.with_suffix(".bin").write_bytes(args_blob + runs_blob)


def write_index(out: Path, task_ids: list[str]) -> None:
    (out / FOLDER).mkdir(parents=True, exist_ok=True)
    (out / STUDENT_INDEX).write_text(json.dumps({"format": FORMAT, "tasks": task_ids}), encoding="utf-8")


def read(root: Path, task_id: str, task: Task, device: str, where: Any,
         lang: str = "en") -> tuple[list[CaseInputs], list[Run], list[list[Any]]]:
    """The fixed cases and the reference's stored runs of one task, on ``device``."""
    base = root / FOLDER / Path(*task_id.split("/"))
    if not task.cases:
        return [], [], []
    try:
        meta = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
        blob = base.with_suffix(".bin").read_bytes()
        if meta.get("format") != FORMAT or meta.get("task") != task_id:
            raise ValueError("not this task's results")
        if meta.get("fingerprint") != fingerprint(task):
            raise PackError([Problem(where, M_STALE(lang))])
        split = int(meta["args_bytes"])
        args_list = wire.decode(meta["args"], blob[:split], device=device, max_bytes=MAX_BYTES)
        stored = wire.decode(meta["runs"], blob[split:], device=device, max_bytes=MAX_BYTES)
        seeds = [int(s) for s in meta["seeds"]]
        dims = [_dims(d) for d in meta.get("dims") or [{}] * len(seeds)]
        figures = [read_figures(f) for f in meta.get("efficiency") or [None] * len(seeds)]
        if not (len(args_list) == len(stored) == len(seeds) == len(dims) == len(figures) == len(task.cases)):
            raise ValueError("the number of cases differs")
    except PackError:
        raise
    except (OSError, ValueError, KeyError, TypeError, frames.WireError) as exc:
        raise PackError([Problem(where, M_BROKEN(lang, why=str(exc)[:200]))]) from None
    cases = [CaseInputs(i, False, seed, args, {n: describe(v, hidden=False) for n, v in args.items()}, case_dims)
             for i, (seed, args, case_dims) in enumerate(zip(seeds, args_list, dims))]
    runs = [Run(result=s["run"]["result"], inputs=s["run"]["inputs"], grads=s["run"]["grads"],
                backward_grads=s["run"]["backward_grads"], efficiency=f) for s, f in zip(stored, figures)]
    return cases, runs, [list(s["upstream"]) for s in stored]


def _dims(raw: Any) -> dict[str, int]:
    if not isinstance(raw, dict) or not all(isinstance(k, str) and type(v) is int for k, v in raw.items()):
        raise ValueError("bad dims")
    return raw


def fixed_cases(task_id: str, task: Task, device: str) -> list[CaseInputs]:
    """The task's fixed cases as the grader makes them (hidden cases are not part of a student pack)."""
    return [c for c in make_cases(task_id, task, 0, device) if not c.hidden]


__all__ = ["M_CUSTOM_BY_COURSE", "M_HIDDEN_BY_COURSE", "fingerprint", "read", "write", "write_index", "fixed_cases"]
