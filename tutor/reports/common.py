"""What every format shares, so that all of them print the same numbers.

Points are rounded once, here, to ``DECIMALS`` places (half up, on the
decimal value a person reads, so 0.125 becomes 0.13): a task's points are
``task_points(v)``, a workspace's total is the sum of those rounded task
points. Every format takes its numbers from these functions and writes them
with ``fmt_points`` (text) or ``points`` (a JSON number), so a GitHub notice,
a Gradescope score and a CSV cell can never disagree on a fractional score.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tutor.verdict import CheckResult, Status, Verdict, WorkspaceResult

DECIMALS = 2
_QUANTUM = Decimal(1).scaleb(-DECIMALS)

# Statuses where the learner's code did not finish normally: reported as
# errors (JUnit <error>, Exercism/Classroom "error"), never as a failed check.
ERROR_STATUSES = frozenset({Status.ERROR, Status.TIMEOUT, Status.CRASHED, Status.REFUSED})

# How many failed checks a message lists before it says "... and N more".
MAX_FAILURE_LINES = 20


# ---------------------------------------------------------------- numbers


def _decimal(x: float | Decimal) -> Decimal:
    if isinstance(x, bool) or not isinstance(x, (int, float, Decimal)):
        raise TypeError(f"points must be a number, not {type(x).__name__}")
    d = x if isinstance(x, Decimal) else Decimal(repr(x))
    if not d.is_finite():
        raise ValueError(f"points must be finite, not {x!r}")
    return d.quantize(_QUANTUM, rounding=ROUND_HALF_UP)


def _number(d: Decimal) -> int | float:
    d = d.quantize(_QUANTUM, rounding=ROUND_HALF_UP)
    if d == d.to_integral_value():
        return int(d)
    return float(d)


def points(x: float | Decimal) -> int | float:
    """``x`` rounded to ``DECIMALS`` places, as a JSON number: an int when whole (1, not 1.0)."""
    return _number(_decimal(x))


def fmt_points(x: float | Decimal) -> str:
    """The one way every format writes points: at most two decimals, no trailing zeros."""
    return str(points(x))


def task_points(v: Verdict) -> int | float:
    return points(v.score)


def task_max(v: Verdict) -> int | float:
    return points(v.max_score)


def total_points(ws: WorkspaceResult) -> int | float:
    """Sum of the rounded task points (what a reader summing the per-task scores gets)."""
    return _number(sum((_decimal(v.score) for v in ws.verdicts), Decimal(0)))


def total_max(ws: WorkspaceResult) -> int | float:
    return _number(sum((_decimal(v.max_score) for v in ws.verdicts), Decimal(0)))


def grand_total(results: Iterable[WorkspaceResult]) -> tuple[int | float, int | float]:
    score, top = Decimal(0), Decimal(0)
    for ws in results:
        score += sum((_decimal(v.score) for v in ws.verdicts), Decimal(0))
        top += sum((_decimal(v.max_score) for v in ws.verdicts), Decimal(0))
    return _number(score), _number(top)


def fraction(score: float, max_score: float) -> float:
    """``score / max_score`` clamped to [0, 1]; 0 when there is nothing to score."""
    if max_score <= 0:
        return 0.0
    return round(min(1.0, max(0.0, score / max_score)), 6)


def seconds(ms: int) -> float:
    return round(ms / 1000, 3)


# ---------------------------------------------------------------- tasks


def split_task(task: str) -> tuple[str, str]:
    """``"views/first-row"`` -> ``("views", "first-row")``; an id without a lesson gets ``""``."""
    lesson, sep, name = task.rpartition("/")
    return (lesson, name) if sep else ("", task)


def ordinals(ws: WorkspaceResult) -> dict[str, str]:
    """Gradescope-style numbers ``"lesson.task"`` (1-based, in the order the verdicts come)."""
    lessons: dict[str, int] = {}
    within: dict[str, int] = {}
    out: dict[str, str] = {}
    for v in ws.verdicts:
        lesson, _ = split_task(v.task)
        lessons.setdefault(lesson, len(lessons) + 1)
        within[lesson] = within.get(lesson, 0) + 1
        out.setdefault(v.task, f"{lessons[lesson]}.{within[lesson]}")
    return out


def is_error(v: Verdict) -> bool:
    return v.status in ERROR_STATUSES


def overall_status(ws: WorkspaceResult) -> str:
    """``pass`` when every task passed, ``error`` when every task errored (nothing could run), else ``fail``.

    Exercism and GitHub Classroom use these three words for a whole run.
    """
    if all(v.passed for v in ws.verdicts):
        return "pass"
    if all(is_error(v) for v in ws.verdicts):
        return "error"
    return "fail"


def short_status(v: Verdict) -> str:
    """Per-test ``pass`` / ``fail`` / ``error`` (Exercism, Classroom)."""
    if v.passed:
        return "pass"
    return "error" if is_error(v) else "fail"


# ---------------------------------------------------------------- messages


def case_label(v: Verdict, case: int | None) -> str:
    """``"case 2"``, or ``"hidden case 3 (x: float32[4, 2])"``: hidden cases show shapes only,
    which is all their ``CaseInfo`` holds. People count cases from 1 (``case`` is an index)."""
    if case is None:
        return ""
    info = next((c for c in v.cases if c.index == case), None)
    if info is None:
        return f"case {case + 1}"
    label = f"hidden case {case + 1}" if info.hidden else f"case {case + 1}"
    if info.hidden and info.args:
        label += " (" + ", ".join(f"{k}: {a}" for k, a in info.args.items()) + ")"
    return label


def check_line(v: Verdict, check: CheckResult) -> str:
    where = case_label(v, check.case)
    head = check.name
    if check.aspect:
        head += f" ({check.aspect})"
    if where:
        head += f" [{where}]"
    return f"{head}: {check.message}" if check.message else f"{head}: did not hold"


def error_gist(error: str | None) -> str:
    """One line for an error: what happened and the exception itself.

    ``"Your code raised an error on case 0 (x: float32[5, 4]): NotImplementedError"``;
    a syntax error's ``File ..., line 1`` header gives way to ``SyntaxError: ...``.
    """
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    if not lines:
        return ""
    first, last = lines[0], lines[-1]
    if first.startswith("File "):
        return last
    if first.endswith(":") and len(lines) > 1:
        return f"{first[:-1]}: {last}"
    return first


def headline(v: Verdict) -> str:
    """One line saying why a task did not pass ("" when it passed)."""
    if v.passed:
        return ""
    if is_error(v):
        return error_gist(v.error) or v.status.value
    failed = v.failed_checks()
    if failed:
        return check_line(v, failed[0])
    return f"{v.status.value}: {fmt_points(v.score)}/{fmt_points(v.max_score)} points"


def failure_text(v: Verdict) -> str:
    """Every reason a task did not pass, one per line ("" when it passed).

    Built from the verdict's messages only: hidden cases' messages never hold
    values, and nothing is added to them here.
    """
    if v.passed:
        return ""
    if is_error(v):
        error = (v.error or "").strip()
        if not error:
            return v.status.value
        if error.lower().startswith(v.status.value):
            return error
        return f"{v.status.value}: {error}"
    failed = v.failed_checks()
    if not failed:
        return headline(v)
    lines = [check_line(v, c) for c in failed[:MAX_FAILURE_LINES]]
    if len(failed) > MAX_FAILURE_LINES:
        lines.append(f"... and {len(failed) - MAX_FAILURE_LINES} more failed checks")
    return "\n".join(lines)


def has_hidden_cases(v: Verdict) -> bool:
    return any(c.hidden for c in v.cases)


def learner_stdout(v: Verdict) -> str:
    """The learner's printed output, for formats a student reads.

    Empty for tasks with hidden cases: a ``print(x)`` in the learner's code
    would otherwise show the hidden inputs' values.
    """
    return "" if has_hidden_cases(v) else v.stdout


def truncate(text: str, limit: int, marker: str = "\n... (truncated)") -> str:
    if len(text) <= limit:
        return text
    if limit <= len(marker):
        return text[:limit]
    return text[: limit - len(marker)] + marker


_SURROGATES = re.compile("[\ud800-\udfff]")
# Control characters other than newline and tab (ESC starts terminal escapes,
# NUL ends C strings, CR overwrites lines), and the two non-characters.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")


def clean_text(text: str) -> str:
    """Replace lone surrogates (undecodable bytes) so the text can be written as UTF-8."""
    return _SURROGATES.sub("\ufffd", text)


def _escape_control(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible_text(text: str) -> str:
    """Learner text as a reader can see it: ``\\r\\n`` becomes ``\\n``, every other
    control character is written out (``\\x1b``), lone surrogates become U+FFFD.

    What the learner printed reaches web pages and XML this way: no terminal
    escape runs in a browser's console view, nothing XML 1.0 refuses remains.
    """
    return _CONTROLS.sub(_escape_control, clean_text(text).replace("\r\n", "\n"))


def reason_text(reason: str) -> str:
    """Why a submission could not be graded, as a not-gradable file shows it."""
    return visible_text(reason.strip()) or "no reason was given"


def json_safe(value: Any) -> Any:
    """``value`` as strict JSON can hold it: non-finite floats become ``"nan"``,
    ``"inf"``, ``"-inf"``; lone surrogates become U+FFFD."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def one_workspace(results: list[WorkspaceResult], fmt: str) -> WorkspaceResult:
    if len(results) != 1:
        raise ValueError(f"{fmt} takes one workspace")
    return results[0]


def common_value(values: Iterable[object]) -> object | None:
    """The value all of ``values`` share, else None (a suite-level property)."""
    seen = list(values)
    if seen and all(v == seen[0] for v in seen):
        return seen[0]
    return None
