"""What the learner has done, task by task, kept safe from crashes, races and damage.

``.tutor/progress.json``::

    {
      "version": 1,
      "rebuild_pending": false,
      "tasks": {
        "views/first-row": {
          "passed": true, "attempts": 3, "hints_used": 1, "last_status": "passed",
          "opened_at": "2025-01-02T03:04:00.000+00:00",
          "first_attempt_at": "2025-01-02T03:04:05.123+00:00",
          "passed_at": "2025-01-02T03:06:10.456+00:00",
          "seconds_to_first_pass": 130.456,
          "predict_tried": ["3f2a9c0d1e4b5a67"]
        }
      }
    }

Every mutation locks the workspace, re-reads the file, changes it and writes
it atomically, so two ``tutor`` processes add up their changes instead of
overwriting each other's, and a ``kill -9`` at any moment leaves the previous
or the next state, never a torn one. A damaged file (bad JSON, wrong shape)
is moved aside, never deleted, and the progress starts empty with
``needs_rebuild`` set: the caller re-grades the exercise files to recover
which tasks pass (:meth:`Progress.record_regrade`), then calls
:meth:`Progress.finish_rebuild`. The flag lives in the file, so a rebuild cut
short by another crash is resumed next time. Nothing here prints: warnings
are returned in ``Progress.warnings`` for the caller to show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Callable, Iterable

from tutor.errors import UserError
from tutor.i18n import Message
from tutor.workspace.atomic import atomic_write, remove_stale_temps
from tutor.workspace.layout import Workspace, file_stamp, iso, now_utc, split_task_id, unique_sibling

__all__ = ["Progress", "TaskProgress", "ProgressError", "FORMAT_VERSION"]

# Bump when the file's shape changes, and add a step to _MIGRATIONS that
# turns version N into N+1; files from older tutors are migrated on read.
FORMAT_VERSION = 1
_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

PASSED = "passed"


class ProgressError(UserError):
    """progress.json that we must not touch: written by a newer tutor. Exit 2, with the fix."""


@dataclass(frozen=True)
class TaskProgress:
    """One task's record; a fresh task is all zeros and ``None``.

    ``seconds_to_first_pass`` counts from when the task was first shown
    (``opened_at``, recorded by the UI) or, failing that, from the first
    graded attempt.
    """

    passed: bool = False
    attempts: int = 0
    hints_used: int = 0
    last_status: str | None = None
    opened_at: str | None = None
    first_attempt_at: str | None = None
    passed_at: str | None = None
    seconds_to_first_pass: float | None = None
    # A predict task: the digests of the distinct wrong predictions tried (each one try).
    predict_tried: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskProgress:
        found = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        if "predict_tried" in found:
            found["predict_tried"] = tuple(found["predict_tried"])
        return cls(**found)


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "passed": (bool,),
    "attempts": (int,),
    "hints_used": (int,),
    "last_status": (str, type(None)),
    "opened_at": (str, type(None)),
    "first_attempt_at": (str, type(None)),
    "passed_at": (str, type(None)),
    "seconds_to_first_pass": (int, float, type(None)),
    "predict_tried": (list,),
}
MAX_TRIED = 1000  # digests kept per task: a try counts once, however often it is saved

_CORRUPT = Message(
    en="{file} was damaged ({why}); it is kept as {kept} and progress starts over: "
    "passed tasks are found again by re-grading",
    zh="{file} 已损坏（{why}）；已保存为 {kept}，进度重新开始：已通过的练习将通过重新检查找回",
)
_NEWER = Message(
    en="{file} was written by a newer tutor (format {found}, this tutor reads up to {known}); upgrade tutor",
    zh="{file} 由更新版本的 tutor 写入（格式 {found}，本版本最高支持 {known}）；请升级 tutor",
)
_UNREADABLE = Message(en="{file}: cannot read: {why}", zh="{file}：无法读取：{why}")


class _Corrupt(Exception):
    """The file exists but is not progress we can use; ``why(lang)`` says why, in the learner's language."""

    def __init__(self, message: Message, **fields: Any) -> None:
        super().__init__(message("en", **fields))
        self.message, self.fields = message, fields

    def why(self, lang: str) -> str:
        return self.message(lang, **self.fields)


_NOT_UTF8 = Message(en="not UTF-8 text at byte {byte}", zh="第 {byte} 字节处不是 UTF-8 文本")
_BAD_JSON = Message(en="bad JSON: {msg} at line {line} column {column}", zh="JSON 有误：第 {line} 行第 {column} 列（{msg}）")
_NOT_OBJECT = Message(en="expected a JSON object, found {found}", zh="应为 JSON 对象，实际是 {found}")
_NO_VERSION = Message(en="no format `version`", zh="缺少格式版本 `version`")
_NOT_A_MAP = Message(en="`{field}` is not an object", zh="`{field}` 不是对象")
_NOT_BOOL = Message(en="`{field}` is not true or false", zh="`{field}` 不是 true 或 false")
_WRONG_TYPE = Message(en="`{field}` has the wrong type", zh="`{field}` 的类型不对")
_NEGATIVE = Message(en="`{field}` is negative", zh="`{field}` 是负数")


def _empty() -> dict[str, Any]:
    return {"version": FORMAT_VERSION, "rebuild_pending": False, "tasks": {}}


class Progress:
    """A snapshot of the workspace's progress plus the mutations that persist themselves.

    Readers (``get``, ``done``, ``current_task``) answer from the snapshot
    taken at load or at this object's last mutation; call :meth:`reload` to
    see another process's changes. Mutations always start from the file.
    """

    def __init__(self, workspace: Workspace, data: dict[str, Any], warnings: list[str], lang: str) -> None:
        self.workspace = workspace
        self._data = data
        self.warnings = warnings
        self.lang = lang

    # ------------------------------------------------------------ loading

    @classmethod
    def load(cls, workspace: Workspace, lang: str = "en") -> Progress:
        """Read the progress; a damaged file is set aside with a warning in ``.warnings``.

        A missing file is a workspace with no progress yet, not damage.
        Raises :class:`ProgressError` for a file from a newer tutor (setting
        that aside would throw away progress the newer tutor can still read).
        """
        progress = cls(workspace, _empty(), [], lang)
        progress._data = progress._read()
        return progress

    def reload(self) -> None:
        """Take a fresh snapshot (another process may have recorded something)."""
        self._data = self._read()

    def _read(self) -> dict[str, Any]:
        """The file's content, checked and migrated; damage is set aside.

        Reading needs no lock (writers replace the file atomically), so the
        common path is lock-free; only setting a damaged file aside takes the
        lock, then looks again in case another process already did it.
        """
        try:
            return self._parse()
        except _Corrupt:
            pass
        with self.workspace.lock():
            return self._read_locked()

    def _read_locked(self) -> dict[str, Any]:
        """Like ``_read`` for a caller holding the lock: damage is set aside right here."""
        try:
            return self._parse()
        except _Corrupt as why:
            self._set_aside(why.why(self.lang))
            data = _empty()
            data["rebuild_pending"] = True
            self._write(data)
            return data

    def _parse(self) -> dict[str, Any]:
        path = self.workspace.progress_file
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return _empty()
        except OSError as exc:
            raise ProgressError(_UNREADABLE(self.lang, file=path, why=exc.strerror or exc)) from None
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise _Corrupt(_NOT_UTF8, byte=exc.start) from None
        except json.JSONDecodeError as exc:
            raise _Corrupt(_BAD_JSON, msg=exc.msg, line=exc.lineno, column=exc.colno) from None
        return self._check(data)

    def _check(self, data: Any) -> dict[str, Any]:
        """Validate the shape strictly: a wrong field type means the file can't be trusted."""
        if not isinstance(data, dict):
            raise _Corrupt(_NOT_OBJECT, found=type(data).__name__)
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise _Corrupt(_NO_VERSION)
        if version > FORMAT_VERSION:
            raise ProgressError(
                _NEWER(self.lang, file=self.workspace.progress_file, found=version, known=FORMAT_VERSION)
            )
        while version < FORMAT_VERSION:
            data = _MIGRATIONS[version](data)
            version = data["version"]
        tasks = data.get("tasks")
        if not isinstance(tasks, dict):
            raise _Corrupt(_NOT_A_MAP, field="tasks")
        if not isinstance(data.get("rebuild_pending", False), bool):
            raise _Corrupt(_NOT_BOOL, field="rebuild_pending")
        for task_id, entry in tasks.items():
            if not isinstance(entry, dict):
                raise _Corrupt(_NOT_A_MAP, field=f"tasks.{task_id}")
            for name, kinds in _FIELD_TYPES.items():
                if name not in entry:
                    continue
                value = entry[name]
                if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                    raise _Corrupt(_WRONG_TYPE, field=f"tasks.{task_id}.{name}")
                if name == "predict_tried" and not all(isinstance(d, str) for d in value):
                    raise _Corrupt(_WRONG_TYPE, field=f"tasks.{task_id}.{name}")
                if name in ("attempts", "hints_used") and value < 0:
                    raise _Corrupt(_NEGATIVE, field=f"tasks.{task_id}.{name}")
        data.setdefault("rebuild_pending", False)
        return data

    def _set_aside(self, why: str) -> None:
        """Rename the damaged file out of the way (never delete: a human may want it) and warn."""
        path = self.workspace.progress_file
        kept = unique_sibling(path, ".corrupt-" + file_stamp())
        path.replace(kept)
        self.warnings.append(_CORRUPT(self.lang, file=path, why=why, kept=kept.name))

    def _write(self, data: dict[str, Any]) -> None:
        path = self.workspace.progress_file
        remove_stale_temps(path)  # left by writers killed mid-write; we hold the lock
        atomic_write(path, json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n")

    def _mutate(self, task_id: str, change: Callable[[dict[str, Any], datetime], Any]) -> Any:
        """Lock, re-read, change one task's entry, write; the snapshot becomes what was written."""
        split_task_id(task_id)
        with self.workspace.lock():
            data = self._read_locked()
            entry = data["tasks"].setdefault(task_id, {})
            result = change(entry, now_utc())
            self._write(data)
        self._data = data
        return result

    # ------------------------------------------------------------ reading

    @property
    def needs_rebuild(self) -> bool:
        """Progress was lost to damage and not yet recovered: re-grade, then :meth:`finish_rebuild`."""
        return bool(self._data.get("rebuild_pending"))

    @property
    def tasks(self) -> dict[str, TaskProgress]:
        return {task_id: TaskProgress.from_json(entry) for task_id, entry in self._data["tasks"].items()}

    def get(self, task_id: str) -> TaskProgress:
        entry = self._data["tasks"].get(task_id)
        return TaskProgress.from_json(entry) if entry else TaskProgress()

    def done(self) -> frozenset[str]:
        """The ids of every task that has passed at least once."""
        return frozenset(t for t, entry in self._data["tasks"].items() if entry.get("passed"))

    def current_task(self, task_ids: Iterable[str]) -> str | None:
        """The first of ``task_ids`` (in pack order) not yet passed; ``None`` when all are."""
        done = self.done()
        return next((t for t in task_ids if t not in done), None)

    # ------------------------------------------------------------ mutations

    def record_open(self, task_id: str) -> TaskProgress:
        """The task was shown to the learner; the first time starts its clock."""

        def change(entry: dict[str, Any], now: datetime) -> TaskProgress:
            entry.setdefault("opened_at", iso(now))
            return TaskProgress.from_json(entry)

        return self._mutate(task_id, change)

    def record_attempt(self, task_id: str, status: str, prediction_try: str | None = None) -> TaskProgress:
        """One grading of the learner's file ended with ``status`` (a verdict status).

        ``passed`` never goes back: a task once passed stays done even if a
        later edit breaks it (``last_status`` tells that story). ``prediction_try``
        is a predict task's new wrong prediction (``Verdict.prediction_try``): it
        joins the tries in the same locked write, once however often it comes.
        """
        if not isinstance(status, str) or not status:
            raise ValueError(f"status must be a verdict status such as 'passed', not {status!r}")

        def change(entry: dict[str, Any], now: datetime) -> TaskProgress:
            entry["attempts"] = entry.get("attempts", 0) + 1
            entry["last_status"] = status
            entry.setdefault("first_attempt_at", iso(now))
            if status == PASSED and not entry.get("passed"):
                entry["passed"] = True
                entry["passed_at"] = iso(now)
                start = entry.get("opened_at") or entry["first_attempt_at"]
                entry["seconds_to_first_pass"] = _seconds_between(start, entry["passed_at"])
            entry.setdefault("passed", False)
            if prediction_try is not None:
                tried = entry.setdefault("predict_tried", [])
                if prediction_try not in tried and len(tried) < MAX_TRIED:
                    tried.append(prediction_try)
            return TaskProgress.from_json(entry)

        return self._mutate(task_id, change)

    def record_hint(self, task_id: str) -> int:
        """The learner took a hint; returns how many they have now taken for this task."""

        def change(entry: dict[str, Any], now: datetime) -> int:
            entry["hints_used"] = entry.get("hints_used", 0) + 1
            return entry["hints_used"]

        return self._mutate(task_id, change)

    def record_regrade(self, task_id: str, status: str) -> TaskProgress:
        """A re-grade while rebuilding lost progress: marks a pass without counting an attempt.

        The attempts and times were lost with the damaged file; inventing them
        would be worse than leaving them unknown (``seconds_to_first_pass``
        stays ``None``).
        """

        def change(entry: dict[str, Any], now: datetime) -> TaskProgress:
            entry["last_status"] = status
            if status == PASSED and not entry.get("passed"):
                entry["passed"] = True
                entry["passed_at"] = iso(now)
            entry.setdefault("passed", False)
            return TaskProgress.from_json(entry)

        return self._mutate(task_id, change)

    def finish_rebuild(self) -> None:
        """Every exercise file was re-graded: clear ``needs_rebuild``."""
        with self.workspace.lock():
            data = self._read_locked()
            if data.get("rebuild_pending"):
                data["rebuild_pending"] = False
                self._write(data)
        self._data = data


def _seconds_between(start: str, end: str) -> float | None:
    """Between two recorded timestamps (the file's own precision, so a pass on the
    first try reads 0, not 0.0004); ``None`` if a hand-edited time won't parse."""
    try:
        seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        return None
    return round(max(0.0, seconds), 3)
