"""Where the learner stands in a pack: task statuses, locked lessons, what comes next.

Plain logic over the pack's models and the workspace's progress, shared by the
list and the session; nothing here prints. ``progress`` is anything with
``done() -> set of task ids`` and ``get(task_id) -> TaskProgress``-like records
(:class:`tutor.workspace.Progress`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:  # the list also runs on a cached index, without pydantic
    from tutor.pack.models import Lesson, Task

__all__ = ["TaskRow", "DONE", "PENDING", "LOCKED", "unmet_requires", "task_rows", "next_task", "first_task"]

DONE = "done"
PENDING = "pending"
LOCKED = "locked"


@dataclass(frozen=True)
class TaskRow:
    number: int  # 1-based, across the whole pack: what `l` asks for
    lesson: Lesson
    task: Task
    task_id: str
    status: str  # DONE, PENDING or LOCKED
    attempts: int = 0
    hints_used: int = 0
    seconds_to_first_pass: float | None = None
    last_status: str | None = None
    locked_by: tuple[str, ...] = ()  # the unmet required lessons


def unmet_requires(pack: Any, lesson: Lesson, done: Iterable[str]) -> list[str]:
    """The lessons ``lesson`` requires that are not finished (every task passed)."""
    done = set(done)
    unmet = []
    for required in lesson.requires:
        other = pack.lesson(required)
        if other is None:
            continue
        if any(f"{other.id}/{t.id}" not in done for t in other.tasks):
            unmet.append(required)
    return unmet


def task_rows(pack: Any, progress: Any) -> list[TaskRow]:
    """Every task of the pack, in order, with its status and progress numbers."""
    done = set(progress.done()) if progress is not None else set()
    rows: list[TaskRow] = []
    number = 0
    for lesson in pack.lessons:
        unmet = tuple(unmet_requires(pack, lesson, done))
        for task in lesson.tasks:
            number += 1
            task_id = f"{lesson.id}/{task.id}"
            record = progress.get(task_id) if progress is not None else None
            if task_id in done:
                status = DONE
            elif unmet:
                status = LOCKED
            else:
                status = PENDING
            rows.append(
                TaskRow(
                    number=number,
                    lesson=lesson,
                    task=task,
                    task_id=task_id,
                    status=status,
                    attempts=getattr(record, "attempts", 0) or 0,
                    hints_used=getattr(record, "hints_used", 0) or 0,
                    seconds_to_first_pass=getattr(record, "seconds_to_first_pass", None),
                    last_status=getattr(record, "last_status", None),
                    locked_by=unmet if status == LOCKED else (),
                )
            )
    return rows


def first_task(pack: Any, progress: Any) -> str | None:
    """Where a session opens: the first pending task, else the first locked one, else None."""
    rows = task_rows(pack, progress)
    for wanted in (PENDING, LOCKED):
        for row in rows:
            if row.status == wanted:
                return row.task_id
    return None


def next_task(pack: Any, progress: Any, after: str | None) -> str | None:
    """The task after ``after`` to go on with: the next pending one in order, wrapping round.

    ``None`` when every task is done (or only locked ones remain).
    """
    rows = task_rows(pack, progress)
    ids = [r.task_id for r in rows]
    start = ids.index(after) + 1 if after in ids else 0
    for row in rows[start:] + rows[:start]:
        if row.status == PENDING and row.task_id != after:
            return row.task_id
    return None
