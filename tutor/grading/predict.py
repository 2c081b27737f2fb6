"""Grading a predict task: the learner's prediction against what the snippet really gives.

    read the prediction (parsed, never run)  ->  run the snippet in the sandbox on the
    task's fixed case  ->  derive each asked fact from what came back  ->  compare field
    by field (``tutor.checks.predict``)  ->  count the try, reveal after N

The snippet is instructor code, like the pack's preamble: it travels to the
sandbox child, wrapped in a function whose parameters are the case's names and
which returns every value the snippet binds, and their ``.grad``. The facts are
read in the grader from the payload: shapes and dtypes from the tensors,
storage sharing from which storage each was sent on, gradients as sent. The
learner's file never reaches the child, and no learner code runs anywhere.

Tries: graded as the learner's attempt (``tutor check``, ``tutor start``), the
caller passes the digests of the wrong predictions already counted; a new
wrong prediction is one more try (``Verdict.predict["new_try"]``, which the
caller records in the progress file), the same prediction saved again is not,
and after the task's ``tries`` the real answers are shown.
"""

from __future__ import annotations

import re
import textwrap
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Collection

import torch

from tutor.checks import CaseContext, Finding, Run
from tutor.checks import predict as rules
from tutor.checks.aliasing import storage_key
from tutor.errors import PackError, Problem
from tutor.grading import feedback, refusal
from tutor.grading.compare import kind_of
from tutor.grading.inputs import CaseError, make_cases
from tutor.grading.reference import TORCH_STATE
from tutor.i18n import Message
from tutor.jail import wire
from tutor.pack import prediction as files
from tutor.pack.loader import Pack
from tutor.pack.models import Task
from tutor.verdict import CaseInfo, CheckResult, Status, Verdict

if TYPE_CHECKING:
    from tutor.grading.engine import Grader

ENTRY = "tutor_snippet"
KIND = "predict"
DEFAULT_TOLERANCE = (1e-3, 1e-3)  # numbers written by hand: about three decimals
CACHED_RUNS = 256

M_NOT_ASKED = Message(
    en="{path}:{line}:{column}: `{key}` is not asked in this task; it asks for: {asked}",
    zh="{path}:{line}:{column}：这道题没有问 `{key}`；它问的是：{asked}",
)
M_BAD_FILE = Message(en="{path}:{line}:{column}: {why}", zh="{path}:{line}:{column}：{why}")
M_TRIES = Message(
    en="Wrong predictions so far: {used} of {allowed}. The real answers are shown after {left} more.",
    zh="目前错误的预测：{used}/{allowed} 次。再错 {left} 次后会显示正确答案。",
)
M_SAME = Message(
    en="You tried this same prediction before: it is not counted again.",
    zh="这个预测你之前已经试过了：不会重复计数。",
)
M_REVEALED = Message(
    en="After {allowed} different wrong predictions, here are the real answers (under each field)."
    " Work out why each is so, then put them in your file.",
    zh="已经有 {allowed} 次不同的错误预测，下面给出正确答案（在每一项下面）。想清楚每个答案的原因，再把它们写进文件。",
)
M_ANSWER = Message(en="The snippet gives: {key} = {answer}", zh="代码的实际结果：{key} = {answer}")


class NotApplicable(ValueError):
    """The task asks for a field its value does not have (the shape of an int)."""


@dataclass(frozen=True)
class Facts:
    """What the snippet left behind: its values in order (inputs first) and their ``.grad``."""

    order: list[str]
    values: dict[str, Any]
    grads: dict[str, Any]
    cases: list[CaseInfo]

    def answer(self, name: str, field: str) -> Any:
        """The fact ``name.field`` in the form ``tutor.checks.predict`` compares."""
        if name not in self.values:
            raise NotApplicable(f"`{name}` is not a value of the snippet")
        value = self.values[name]
        if field == "value":
            if isinstance(value, wire.Opaque):
                raise NotApplicable(f"`{name}` is a {value.type_name}: its value cannot be predicted")
            return value
        if not isinstance(value, torch.Tensor):
            raise NotApplicable(f"`{name}` is {kind_of(value)}, not a tensor: it has no {field}")
        if field == "grad":
            return self.grads.get(name)
        if field == "shape":
            return tuple(value.shape)
        if field == "dtype":
            return wire.dtype_name(value.dtype)
        shares = [other for other in self.order if other != name and _same_storage(value, self.values.get(other))]
        if field == "shares_storage_with":
            return tuple(sorted(shares))
        return any(other in shares for other in self.order[: self.order.index(name)])  # is_view


def _same_storage(a: torch.Tensor, b: Any) -> bool:
    """Two tensors on one storage (an empty storage is nobody's: its address means nothing)."""
    return (isinstance(b, torch.Tensor) and a.untyped_storage().nbytes() > 0
            and storage_key(a) == storage_key(b))


class SnippetRuns:
    """The snippet's facts per (pack, task, device): its one fixed case is the same every run,
    so the snippet runs once per grader, however many learners or saves are graded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: OrderedDict[tuple[str, str, str, bool], Facts] = OrderedDict()

    def get(self, grader: Grader, pack: Pack, task_id: str, task: Task, *, probe: bool = False) -> Facts:
        key = (pack.hash, task_id, grader.device, probe)
        with self._lock:
            if key in self._runs:
                self._runs.move_to_end(key)
                return self._runs[key]
        facts = run_snippet(grader, pack, task_id, task, probe=probe)
        with self._lock:
            self._runs[key] = facts
            while len(self._runs) > CACHED_RUNS:
                self._runs.popitem(last=False)
        return facts


def wrapper(snippet: str, params: list[str], values: list[str]) -> str:
    """The module the child runs: the snippet as a function of the case's names, returning its values.

    The ``def`` is the first line, so line N of the snippet is line N + 1 here.
    """
    body = textwrap.indent(snippet.rstrip() or "pass", "    ")
    named = ", ".join(f"{n!r}: {n}" for n in values)
    grads = ", ".join(f"{n!r}: tutor_grad_of({n})" for n in values)
    return (
        f"def {ENTRY}({', '.join(params)}):\n{body}\n    return [{{{named}}}, {{{grads}}}]\n\n\n"
        "def tutor_grad_of(value):\n"
        "    if isinstance(value, torch.Tensor) and (value.is_leaf or value.retains_grad):\n"
        "        return value.grad\n"
        "    return None\n\n\n"
        "import torch\n"
    )


def run_snippet(grader: Grader, pack: Pack, task_id: str, task: Task, *, probe: bool = False) -> Facts:
    """Run the task's snippet in the sandbox on its fixed case; a snippet that fails is the pack's error.

    With ``probe``, the case's random inputs are drawn afresh (validation asks
    whether an answer depends on them).
    """
    assert task.predict is not None
    where = pack.locate(task_id, "predict", "snippet")
    with TORCH_STATE:
        try:
            cases = make_cases(f"{task_id} probe" if probe else task_id, task, 0, grader.device)
        except CaseError as exc:
            raise PackError([Problem(pack.locate(task_id, *exc.path), str(exc))]) from None
        doc, blob = wire.encode({"cases": [{"args": c.args, "backward": [], "upstream": []} for c in cases]})
    params = list(cases[0].args)
    order = files.snippet_values(task.predict.snippet, params)
    source = wrapper(task.predict.snippet, params, order)
    job = grader.job(task, source, f"<snippet of {task_id}>", ENTRY, "snippet", pack.preamble(task_id), doc, len(cases))
    result, outcome = grader.run_job(job, blob, len(cases))
    why = None
    if outcome.refused:
        why = "the sandbox refused it: " + refusal.run_time(*outcome.refused, lang="en")
    elif outcome.inconsistent:
        why = f"its result could not be read ({outcome.inconsistent})"
    elif outcome.load_error is not None:
        why = f"it fails to load: {_tail(outcome.load_error)}"
    elif outcome.errors:
        why = f"it raises: {_tail(outcome.errors[min(outcome.errors)])}"
    elif result.timed_out:
        why = f"it ran past the task's time limit ({task.timeout:g} s)"
    elif result.worker_lost or not outcome.done or 0 not in outcome.runs:
        why = f"the process running it died ({result.worker_lost or f'exit {result.exit_code}'})"
    if why is not None:
        trace = outcome.load_error or next(iter(outcome.errors.values()), "") or ""
        raise PackError([Problem(_snippet_line(pack, task_id, trace) or where, f"the snippet cannot be predicted: {why}")])
    returned = outcome.runs[0].result
    if not (isinstance(returned, list) and len(returned) == 2 and all(isinstance(d, dict) for d in returned)):
        raise PackError([Problem(where, "the snippet cannot be predicted: its values did not come back")])
    values, grads = returned
    return Facts(order, values, grads, [CaseInfo(c.index, c.hidden, c.described) for c in cases])


def _tail(trace: str, lines: int = 3) -> str:
    """The end of a traceback on one line, without the frame lines (the problem is located instead)."""
    kept = [line.strip() for line in trace.strip().splitlines() if not _FRAME.match(line.strip())]
    return " | ".join(kept[-lines:])


_FRAME = re.compile(r'File "<snippet of [^"]*>", line (\d+)')


def _snippet_line(pack: Pack, task_id: str, trace: str) -> Any:
    """Where in the YAML the snippet's failing line is (the wrapper's line N is the snippet's N - 1)."""
    lines = _FRAME.findall(trace)
    if not lines:
        return None
    marks, base = pack.task_marks[task_id]
    return marks.code_line(base + ("predict", "snippet"), max(1, int(lines[-1]) - 1), 1)


def asked(task: Task) -> tuple[files.Entry, ...]:
    """The fields the task asks for: those its solution (the right prediction) answers, in its order."""
    return files.read(task.solution).entries


def facts_for(pack: Pack, task_id: str, task: Task, facts: Facts) -> dict[tuple[str, str], Any]:
    """Every asked fact; a field its value does not have is the pack's error, at the solution's line."""
    marks, base = pack.task_marks[task_id]
    found: dict[tuple[str, str], Any] = {}
    problems = []
    for entry in asked(task):
        try:
            found[entry.name, entry.field] = facts.answer(entry.name, entry.field)
        except NotApplicable as exc:
            problems.append(_not_applicable(marks.code_line(base + ("solution",), entry.line, entry.column), entry, exc))
    if problems:
        raise PackError(problems)
    return found


def _not_applicable(where: Any, entry: files.Entry, exc: NotApplicable) -> Problem:
    return Problem(where, f"the solution predicts {entry.key}, but {exc}")


def judge(grader: Grader, verdict: Verdict, pack: Pack, task_id: str, task: Task, path: Path, source: str,
          tried: Collection[str] | None) -> None:
    """Fill ``verdict`` for a predict task from the learner's file text."""
    assert task.predict is not None
    lang = grader.lang
    verdict.call = ""
    try:
        mine = files.read(source)
    except files.PredictionError as exc:
        verdict.error = M_BAD_FILE(lang, path=path, line=exc.line, column=exc.column, why=exc.text(lang))
        return
    wanted = asked(task)
    keys = [(e.name, e.field) for e in wanted]
    for entry in mine.entries:
        if (entry.name, entry.field) not in keys:
            verdict.error = M_NOT_ASKED(lang, path=path, line=entry.line, column=entry.column, key=entry.key,
                                        asked=", ".join(e.key for e in wanted))
            return
    facts = grader.snippets.get(grader, pack, task_id, task)
    real = facts_for(pack, task_id, task, facts)
    verdict.cases = facts.cases
    given = {(e.name, e.field): e.value for e in mine.entries}
    ctx = CaseContext(task_id=task_id, case=0, hidden=False, args={}, learner=Run(), reference=Run(), tolerance=None,
                      device=grader.device, lang=lang, source=source, entry="")
    tolerance = (task.tolerance.rtol, task.tolerance.atol) if task.tolerance else DEFAULT_TOLERANCE
    findings = [rules.compare(name, field, given.get((name, field), Ellipsis), real[name, field],
                              values=facts.order, lang=lang, tolerance=tolerance) for name, field in keys]
    # Worded in the order the learner reads them (feedback.ordered), so a text shared by two
    # fields is under the first one shown.
    said: set[str] = set()
    wrong = sorted(((i, f) for i, f in enumerate(findings) if f is not None), key=lambda it: feedback.rank(KIND, it[1].aspect))
    worded = {i: _result(task, finding, ctx, said) for i, finding in wrong}
    results = [(worded[i] if i in worded else CheckResult(KIND, True, 0), f"{name}.{field}")
               for i, (name, field) in enumerate(keys)]
    right = sum(r.passed for r, _ in results)
    verdict.status = Status.PASSED if right == len(results) else Status.FAILED
    verdict.score = float(task.points) if verdict.passed else (
        round(task.points * right / len(results), 2) if task.partial else 0.0)
    if tried is not None:
        _count_try(verdict, task, mine, results, real, set(tried), lang)
    verdict.checks = feedback.ordered([r for r, _ in results])


def _result(task: Task, finding: Finding, ctx: CaseContext, said: set[str]) -> CheckResult:
    return CheckResult(KIND, False, 0, feedback.advice(task, KIND, finding, ctx, said), finding.details, finding.aspect)


def _count_try(verdict: Verdict, task: Task, mine: files.Prediction, results: list[tuple[CheckResult, str]],
               real: dict[tuple[str, str], Any], tried: set[str], lang: str) -> None:
    """One more try for a new wrong prediction; the answers once the tries are used up."""
    assert task.predict is not None
    allowed = task.predict.tries
    wrong = any(not r.passed and r.aspect != "unanswered" for r, _ in results)
    digest = mine.digest()
    new = digest if wrong and digest not in tried else None
    used = len(tried) + (1 if new else 0)
    revealed = not verdict.passed and used >= allowed
    answers: dict[str, dict[str, Any]] = {}
    if revealed:
        for result, key in results:
            name, field = key.split(".", 1)
            answers.setdefault(name, {})[field] = rules.plain(real[name, field])
            if not result.passed:
                result.details["expected"] = rules.plain(real[name, field])
                result.message += "\n" + M_ANSWER(lang, key=key, answer=rules.shown(field, real[name, field]))
        verdict.notes.append(M_REVEALED(lang, allowed=allowed))
    elif not verdict.passed:
        if wrong and not new:
            verdict.notes.append(M_SAME(lang))
        verdict.notes.append(M_TRIES(lang, used=used, allowed=allowed, left=allowed - used))
    verdict.predict = {"tries": used, "tries_allowed": allowed, "tries_left": max(0, allowed - used),
                       "new_try": new, "revealed": revealed, "answers": answers if revealed else None}


def replayed_tries(record: dict[str, Any] | None, source: str) -> list[str] | None:
    """The counted tries that make a recorded verdict's grade come out as it did (``tutor replay``).

    The record (``Verdict.predict``) keeps how many tries were used and the
    digest of a new one, not the earlier predictions themselves: stand-ins
    take their places, and when this file's prediction was already counted,
    its own digest is among them, so it is again no new try. None: the
    verdict counted no tries (a batch), and neither does its replay.
    """
    if not record:
        return None
    used = int(record.get("tries", 0))
    before = [f"replayed-{k}" for k in range(max(0, used - 1))]
    if record.get("new_try") or not used:
        return before
    try:
        return [files.read(source).digest(), *before]
    except files.PredictionError:
        return before


def solution_problems(grader: Grader, pack: Pack, task_id: str, task: Task) -> list[Problem]:
    """``tutor lesson validate`` on a predict task: the solution is right, whatever the random inputs hold.

    The snippet runs twice, the second time on other random values of the same
    specs: a fact that differs between the runs depends on values the learner
    cannot work out by hand, so it cannot be asked. Each problem is at the
    solution's line and names the real answer (the author may see it).
    """
    marks, base = pack.task_marks[task_id]
    try:
        facts = grader.snippets.get(grader, pack, task_id, task)
        probe = grader.snippets.get(grader, pack, task_id, task, probe=True)
    except PackError as exc:
        return exc.problems
    tolerance = (task.tolerance.rtol, task.tolerance.atol) if task.tolerance else DEFAULT_TOLERANCE
    problems = []
    for entry in asked(task):
        where = marks.code_line(base + ("solution",), entry.line, entry.column)
        try:
            real, again = facts.answer(entry.name, entry.field), probe.answer(entry.name, entry.field)
        except NotApplicable as exc:
            problems.append(_not_applicable(where, entry, exc))
            continue
        if rules.plain(real) != rules.plain(again):
            problems.append(Problem(where, f"{entry.key} depends on the random values of the inputs (it changes when"
                                           " they are drawn again): give those inputs as `values`, or ask another field"))
        elif not entry.answered:
            problems.append(Problem(where, f"the solution leaves {entry.key} unanswered: the snippet gives"
                                           f" {rules.shown(entry.field, real)}"))
        elif rules.compare(entry.name, entry.field, entry.value, real, values=facts.order, lang="en",
                           tolerance=tolerance) is not None:
            problems.append(Problem(where, f"the solution predicts {entry.key} = {rules.shown(entry.field, entry.value)},"
                                           f" but the snippet gives {rules.shown(entry.field, real)}"))
    return problems
