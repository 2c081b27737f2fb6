"""What a class's verdicts say about the class: the numbers behind ``tutor report``.

Instructors grading a whole class want to know which misconceptions are
common, not only who scored what, so this module turns a list of
``WorkspaceResult`` (from ``tutor grade --format json`` or merged shards) into
counts per task: the pass rate, the checks and aspects that failed most, the
error types, for tasks with an efficiency check how many answers were right
but wasteful and the median cost, and — when the workspaces' progress files are at hand — attempts,
hints and time to the first pass. It is pure data (no rendering, no torch) so
the HTML page, a test and any future format read the same numbers.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tutor.reports.common import ERROR_STATUSES, total_max, total_points
from tutor.reports.csv import student_id
from tutor.verdict import Status, WorkspaceResult
from tutor.workspace.progress import TaskProgress

# An exception's class name at the start of a line: "RuntimeError: ...", "torch.OutOfMemoryError".
_EXCEPTION = re.compile(r"^\s*((?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Exit|Interrupt))\b", re.M)


@dataclass
class TaskStats:
    """One task across the class; ``failures`` counts students, not cases."""

    task: str
    title: str
    graded: int = 0
    passed: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # "check.aspect" (or "check") -> students
    errors: Counter[str] = field(default_factory=Counter)  # exception type or status -> students
    attempts: list[int] = field(default_factory=list)
    hints: list[int] = field(default_factory=list)
    seconds_to_pass: list[float] = field(default_factory=list)
    # Efficiency checks: answers right on every other check but over a limit, and each
    # measured answer's largest figures over its cases (FLOPs, bytes of new memory).
    wasteful: int = 0
    flops: list[int] = field(default_factory=list)
    alloc_bytes: list[int] = field(default_factory=list)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0

    @property
    def median_seconds_to_pass(self) -> float | None:
        return statistics.median(self.seconds_to_pass) if self.seconds_to_pass else None

    @property
    def mean_hints(self) -> float | None:
        return statistics.fmean(self.hints) if self.hints else None

    @property
    def median_flops(self) -> float | None:
        return statistics.median(self.flops) if self.flops else None

    @property
    def median_alloc_bytes(self) -> float | None:
        return statistics.median(self.alloc_bytes) if self.alloc_bytes else None


@dataclass
class StudentRow:
    student: str
    score: float
    max_score: float
    passed: int
    total: int
    statuses: dict[str, str]  # task -> status value


@dataclass
class ClassStats:
    tasks: list[TaskStats]
    students: list[StudentRow]
    has_progress: bool

    @property
    def scores(self) -> list[float]:
        """Each student's score as a fraction of the maximum (0 when the maximum is 0)."""
        return [s.score / s.max_score if s.max_score else 0.0 for s in self.students]

    @property
    def measured(self) -> bool:
        """Whether any task of the class has efficiency figures (the report shows them then)."""
        return any(task.flops for task in self.tasks)

    def error_types(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for task in self.tasks:
            total.update(task.errors)
        return total


def error_type(status: Status, error: str | None) -> str:
    """The kind of a non-passing run an instructor can act on: the exception's class for an
    error (the last one named, which is the one raised), otherwise the status itself."""
    if status is Status.ERROR and error:
        names = _EXCEPTION.findall(error)
        if names:
            return names[-1].rsplit(".", 1)[-1]
    return status.value


def _progress(workspace: str, base: Path) -> dict[str, TaskProgress] | None:
    """The workspace's progress, read only (a report never moves or rewrites a learner's file);
    None when it is absent or unreadable, which a report simply does without."""
    root = Path(workspace)
    path = (root if root.is_absolute() else base / root) / ".tutor" / "progress.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {task: TaskProgress.from_json(entry) for task, entry in data["tasks"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def class_stats(results: list[WorkspaceResult], base: Path | None = None) -> ClassStats:
    """Aggregate a class. ``base`` resolves relative workspace paths when looking for progress
    files (the folder ``tutor grade`` ran in; default: the current one)."""
    base = base or Path.cwd()
    tasks: dict[str, TaskStats] = {}
    students: list[StudentRow] = []
    has_progress = False
    for ws in results:
        progress = _progress(ws.workspace, base)
        has_progress = has_progress or progress is not None
        for v in ws.verdicts:
            stats = tasks.setdefault(v.task, TaskStats(task=v.task, title=v.title or v.task))
            stats.graded += 1
            stats.passed += v.passed
            stats.statuses[v.status.value] += 1
            if v.status in ERROR_STATUSES:
                stats.errors[error_type(v.status, v.error)] += 1
            # The aspect when there is one ("aliasing.copy-where-view"), else the check: the
            # mistake, counted once per student however many cases showed it.
            stats.failures.update({f"{c.name}.{c.aspect}" if c.aspect else c.name for c in v.failed_checks()})
            stats.wasteful += v.correct_but_wasteful()
            if v.efficiency:
                stats.flops.append(max(int(row["flops"]) for row in v.efficiency))
                stats.alloc_bytes.append(max(int(row["alloc_bytes"]) for row in v.efficiency))
            record = progress.get(v.task) if progress else None
            if record is not None and record.attempts:
                stats.attempts.append(record.attempts)
                stats.hints.append(record.hints_used)
                if record.seconds_to_first_pass is not None:
                    stats.seconds_to_pass.append(record.seconds_to_first_pass)
        students.append(StudentRow(
            student=student_id(ws.workspace), score=float(total_points(ws)), max_score=float(total_max(ws)),
            passed=ws.passed, total=len(ws.verdicts), statuses={v.task: v.status.value for v in ws.verdicts},
        ))
    return ClassStats(tasks=list(tasks.values()), students=students, has_progress=has_progress)
