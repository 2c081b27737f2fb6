"""Where a learner's things live in their workspace, and the only code that knows.

::

    <root>/
      README.md                        what to do, for the learner (en + zh)
      exercises/<lesson-id>/<task-id>.py
      .tutor/
        workspace.json                 which pack made this workspace
        progress.json                  see tutor/workspace/progress.py
        lock                           flock sidecar; never deleted
        session.lock                   held while `tutor start` runs here (one session at a time)
        session.sock                   that session's checks, for `tutor check` from another terminal

The learner's exercise files are theirs: nothing here overwrites one without
first keeping the old content beside it (``reset``), and creating a workspace
over an existing one only adds the files that are missing. Task ids come from
the command line and from pack files, so every path built from one is checked
to stay inside the workspace.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ContextManager, Iterator

from tutor.errors import UserError
from tutor.i18n import Message, resolve_lang
from tutor.invocation import with_command
from tutor.workspace.atomic import LockTimeout, atomic_write, locked
from tutor.workspace.starters import starter_text

if TYPE_CHECKING:
    from tutor.pack.loader import Pack

__all__ = [
    "Workspace",
    "PackRecord",
    "WorkspaceError",
    "is_workspace",
    "split_task_id",
    "BUILTIN",
    "STATE_DIR",
]

STATE_DIR = ".tutor"
WORKSPACE_FILE = "workspace.json"
PROGRESS_FILE = "progress.json"
LOCK_FILE = "lock"
SESSION_LOCK_FILE = "session.lock"
SESSION_SOCKET = "session.sock"
EXERCISES_DIR = "exercises"
README_FILE = "README.md"
BUILTIN = "builtin"
WORKSPACE_FORMAT = 1

# Lesson and task ids are ``[a-z0-9-]+`` in the lesson format; a little more is
# allowed here (older or hand-made packs), but never a separator, never a
# leading dot (so never ``.`` or ``..``) and never anything a shell or file
# system treats specially.
_ID_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


class WorkspaceError(UserError):
    """A broken workspace or a task id that can't name a file in it: exit 2, one line."""


def split_task_id(task_id: str) -> tuple[str, str]:
    """``"lesson/task"`` to its two parts, refusing anything that could name a path outside.

    Why a whitelist rather than checking for ``..``: absolute paths, drive
    letters, backslashes, NUL bytes and empty parts are all ways out or ways to
    confuse, and a whitelist refuses every one of them at once.
    """
    if not isinstance(task_id, str):
        raise WorkspaceError(_NOT_TEXT(resolve_lang(), kind=type(task_id).__name__))
    parts = task_id.split("/")
    if len(parts) != 2 or not all(_ID_PART.match(part) for part in parts):
        raise WorkspaceError(_NOT_TASK_ID(resolve_lang(), task=repr(task_id)))
    return parts[0], parts[1]


_NOT_TEXT = Message(en="a task id is text like lesson/task, not {kind}",
                    zh="任务编号是 lesson/task 这样的文字，不是 {kind}")
_NOT_TASK_ID = Message(en="{task} is not a task id (expected lesson-id/task-id)",
                       zh="{task} 不是任务编号（应为 课程编号/任务编号）")


def is_workspace(path: Path | str) -> bool:
    """Whether ``path`` itself (not a parent) is the root of a workspace."""
    return (Path(path) / STATE_DIR / WORKSPACE_FILE).is_file()


def now_utc() -> datetime:
    """The clock every record uses; one function so tests can move time."""
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def file_stamp(moment: datetime | None = None) -> str:
    """A timestamp for file names: sortable, no colons (Windows, scp), UTC so never ambiguous."""
    return (moment or now_utc()).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def unique_sibling(path: Path, suffix: str) -> Path:
    """``path`` + ``suffix``, or with ``-2``, ``-3``... when taken (two resets in one second)."""
    candidate = path.with_name(path.name + suffix)
    n = 2
    while candidate.exists() or candidate.is_symlink():
        candidate = path.with_name(f"{path.name}{suffix}-{n}")
        n += 1
    return candidate


@dataclass(frozen=True)
class PackRecord:
    """Which pack made the workspace, so every later command grades with the same one.

    ``source`` is the pack path exactly as the learner gave it, or ``"builtin"``;
    ``hash`` is the pack's content hash, so a changed pack is noticed even when
    its author forgot to bump ``version``.
    """

    source: str
    id: str
    version: str
    hash: str
    created: str
    tutor_version: str = ""

    def pack_path(self, root: Path) -> Path | None:
        """The pack's folder or file; ``None`` for the built-in course.

        A relative source was given from the folder the workspace was made in
        (``tutor start`` makes it in the current folder), so it is resolved
        against the workspace root, not against wherever the learner is now.
        """
        if self.source == BUILTIN:
            return None
        path = Path(self.source).expanduser()
        return path if path.is_absolute() else root / path

    def to_json(self) -> dict[str, Any]:
        return {
            "format": WORKSPACE_FORMAT,
            "pack": {"source": self.source, "id": self.id, "version": self.version, "hash": self.hash},
            "created": self.created,
            "tutor_version": self.tutor_version,
        }

    @classmethod
    def from_json(cls, data: Any) -> PackRecord:
        """Validate the file's shape; ``ValueError`` says what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        fmt = data.get("format")
        if not isinstance(fmt, int) or isinstance(fmt, bool):
            raise ValueError("no `format` number")
        if fmt > WORKSPACE_FORMAT:
            raise ValueError(f"written by a newer tutor (format {fmt}); upgrade tutor")
        pack = data.get("pack")
        if not isinstance(pack, dict):
            raise ValueError("no `pack` object")
        fields: dict[str, str] = {}
        for key in ("source", "id", "version", "hash"):
            value = pack.get(key)
            if not isinstance(value, str):
                raise ValueError(f"`pack.{key}` must be text")
            fields[key] = value
        created = data.get("created", "")
        tutor_version = data.get("tutor_version", "")
        return cls(
            created=created if isinstance(created, str) else "",
            tutor_version=tutor_version if isinstance(tutor_version, str) else "",
            **fields,
        )


_SESSION_BUSY = Message(
    en="`tutor start` is already running in {root}: use that terminal (or quit it there first)."
    " `tutor check` in this one gets its verdicts at once.",
    zh="{root} 中已经有一个 `tutor start` 在运行：请使用那个终端（或先在那里退出）。"
    "在这个终端运行 `tutor check` 会立即得到结果。",
)

_PACK_CHANGED = {
    "id": Message(
        en="this workspace was made for pack {old_id} {old_version}, but the pack in use is {new_id} {new_version}",
        zh="此练习区是为课程包 {old_id} {old_version} 创建的，但当前使用的课程包是 {new_id} {new_version}",
    ),
    "version": Message(
        en="this workspace was made with pack {new_id} version {old_version}; the pack in use is version {new_version}",
        zh="此练习区创建时使用的课程包 {new_id} 版本为 {old_version}；当前使用的版本为 {new_version}",
    ),
    "hash": Message(
        en="pack {new_id} {new_version} has changed since this workspace was made (content {old_hash} -> {new_hash})",
        zh="自此练习区创建以来，课程包 {new_id} {new_version} 的内容已改变（{old_hash} -> {new_hash}）",
    ),
}

README = """\
# Your PyTorch workspace

Each task is one Python file in `exercises/<lesson>/<task>.py`.

1. In this folder, run `tutor start`. It shows the current task and the file to edit.
2. Open that file in your editor, write the function it asks for, and save.
   tutor checks your code every time you save and shows what went right and wrong.
3. When the task passes, press `n` for the next one. Your progress is saved as you go:
   quit any time and `tutor start` picks up where you left off.

Keys in `tutor start`: `h` next hint · `n` next task (after a pass) · `l` list and jump ·
`i` the lesson intro again · `r` reset the file to its starter · `s` reference solution
(after a pass) · `c` check now · `e` open `$EDITOR` · `q` quit · space and `b` page.

Other commands: `tutor list` (what is done), `tutor check` (grade once; instant while
`tutor start` runs here), `tutor hint`, `tutor solution`, `tutor reset TASK`. A reset never loses your code: the old file
stays beside the new one as `<task>.py.bak-<time>`.

Leave the `.tutor/` folder alone: it records the course and your progress.

---

# 你的 PyTorch 练习区

每个练习是 `exercises/<课程>/<练习>.py` 中的一个 Python 文件。

1. 在此文件夹中运行 `tutor start`。它会显示当前练习和要编辑的文件。
2. 在编辑器中打开该文件，写出题目要求的函数，然后保存。
   每次保存，tutor 都会检查你的代码，并告诉你哪里对、哪里错。
3. 练习通过后，按 `n` 进入下一个。进度会自动保存：随时可以退出，
   再次运行 `tutor start` 会从上次停下的地方继续。

`tutor start` 中的按键：`h` 下一条提示 · `n` 下一个练习（通过后）· `l` 列表与跳转 ·
`i` 再看课程介绍 · `r` 将文件恢复为初始代码 · `s` 参考答案（通过后）· `c` 立即检查 ·
`e` 打开 `$EDITOR` · `q` 退出 · 空格和 `b` 翻页。

其他命令：`tutor list`（查看完成情况）、`tutor check`（检查一次；`tutor start` 运行时立即得到结果）、
`tutor hint`、`tutor solution`、`tutor reset TASK`。恢复初始代码不会丢失你的代码：
旧文件会以 `<练习>.py.bak-<时间>` 的名字保留在旁边。

请不要改动 `.tutor/` 文件夹：其中记录了课程和你的进度。
"""


@dataclass(frozen=True)
class Workspace:
    """A workspace rooted at ``root``: paths, the pack record, starters and resets.

    Progress lives in :mod:`tutor.workspace.progress`; this class only knows
    where it is.
    """

    root: Path

    # ------------------------------------------------------------ paths

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def workspace_file(self) -> Path:
        return self.state_dir / WORKSPACE_FILE

    @property
    def progress_file(self) -> Path:
        return self.state_dir / PROGRESS_FILE

    @property
    def lock_file(self) -> Path:
        return self.state_dir / LOCK_FILE

    @property
    def exercises_dir(self) -> Path:
        return self.root / EXERCISES_DIR

    @property
    def readme(self) -> Path:
        return self.root / README_FILE

    @property
    def check_socket(self) -> Path:
        return self.state_dir / SESSION_SOCKET

    def lock(self, timeout: float | None = None) -> ContextManager[None]:
        """The workspace's lock; every read-modify-write of its state holds it."""
        return locked(self.lock_file, timeout=timeout)

    @contextmanager
    def session(self, lang: str = "en") -> Iterator[None]:
        """Held while ``tutor start`` runs: a second one in the same workspace is refused (exit 2).

        Two sessions would both grade every save and both count it. The
        kernel drops the lock when the holder dies, so a crashed session
        never blocks the next one.
        """
        try:
            with locked(self.state_dir / SESSION_LOCK_FILE, timeout=0):
                yield
        except LockTimeout:
            raise WorkspaceError(_SESSION_BUSY(lang, root=self.root)) from None

    def exercise_path(self, task_id: str) -> Path:
        """``exercises/<lesson-id>/<task-id>.py`` for a task id, refusing anything outside.

        Beyond the id's shape, the resolved path must still be under the
        workspace: ``tutor grade`` runs over workspaces students handed in, and
        a symlinked ``exercises/lesson`` must not make ``reset`` write (or the
        grader read) somewhere else.
        """
        lesson_id, task = split_task_id(task_id)
        path = self.exercises_dir / lesson_id / f"{task}.py"
        root = self.root.resolve()
        try:
            path.resolve().relative_to(root)
        except ValueError:
            raise WorkspaceError(f"{task_id}: {path} leads outside the workspace {root}") from None
        return path

    def exercise_files(self) -> dict[str, Path]:
        """Task id to file, for every exercise file on disk (pack order is the caller's)."""
        found: dict[str, Path] = {}
        if not self.exercises_dir.is_dir():
            return found
        for path in sorted(self.exercises_dir.glob("*/*.py")):
            task_id = f"{path.parent.name}/{path.stem}"
            try:
                split_task_id(task_id)
            except WorkspaceError:
                continue
            if path.is_file():
                found[task_id] = path
        return found

    # ------------------------------------------------------------ making and finding

    @staticmethod
    def is_workspace(path: Path | str) -> bool:
        """Whether ``path`` itself is the root of a workspace."""
        return is_workspace(path)

    @staticmethod
    def is_plain_folder(path: Path | str) -> bool:
        """Whether ``path`` holds ``exercises/<lesson>/<task>.py`` without tutor's state.

        That is what an LMS export or a student's upload looks like: it has no
        record of its pack, so it grades only with the pack named (``--pack``).
        """
        folder = Path(path)
        return (folder / EXERCISES_DIR).is_dir() and not is_workspace(folder)

    @classmethod
    def find(cls, start: Path | str) -> Workspace | None:
        """The workspace containing ``start``: it or the nearest parent with ``.tutor/workspace.json``.

        Walking up lets the learner run ``tutor check`` from inside
        ``exercises/views/`` as naturally as from the root, like git.
        """
        here = Path(start).expanduser().absolute()
        if here.is_file():
            here = here.parent
        for folder in (here, *here.parents):
            if is_workspace(folder):
                return cls(folder)
        return None

    @classmethod
    def create(cls, root: Path | str, pack: Pack, pack_source: str, lang: str = "en") -> Workspace:
        """Make (or complete) a workspace at ``root`` for ``pack``.

        ``pack_source`` is the pack path as the learner gave it, or ``"builtin"``.
        Idempotent: an existing workspace keeps its pack record (the first
        ``tutor start`` decides, per the CLI contract) and every exercise file
        it has; only missing starters and the README are written, so a pack
        that gained tasks fills them in. Starters are written in ``lang``
        (their docstrings), and the README names the command that runs this
        tutor from here.
        """
        from tutor import __version__

        ws = cls(Path(root).expanduser().absolute())
        ws.state_dir.mkdir(parents=True, exist_ok=True)
        with ws.lock():
            if not ws.workspace_file.exists():
                record = PackRecord(
                    source=str(pack_source),
                    id=pack.id,
                    version=pack.version,
                    hash=pack.hash,
                    created=iso(now_utc()),
                    tutor_version=__version__,
                )
                atomic_write(ws.workspace_file, _dump(record.to_json()))
            ignore = ws.state_dir / ".gitignore"
            if not ignore.exists():
                # Students push workspaces to GitHub Classroom: keep the lock
                # and any temp or set-aside files out of their commits.
                atomic_write(ignore, "lock\nsession.lock\nsession.sock\n.*.tmp\n*.corrupt-*\n")
            if not ws.readme.exists():
                atomic_write(ws.readme, with_command(README))
            ws.write_missing_starters(pack, lang)
        return ws

    def write_missing_starters(self, pack: Pack, lang: str = "en") -> list[str]:
        """Write the starter (in ``lang``) of every task without an exercise file; returns their ids.

        Never touches an existing file: that is the learner's work.
        """
        written: list[str] = []
        with self.lock():
            for lesson in pack.lessons:
                for task in lesson.tasks:
                    task_id = f"{lesson.id}/{task.id}"
                    path = self.exercise_path(task_id)
                    if path.exists() or path.is_symlink():
                        continue
                    path.parent.mkdir(parents=True, exist_ok=True)
                    atomic_write(path, starter_text(task, lang))
                    written.append(task_id)
        return written

    # ------------------------------------------------------------ the pack record

    def pack_record(self) -> PackRecord:
        """What ``workspace.json`` says; a broken file is a broken workspace (exit 2)."""
        try:
            text = self.workspace_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise WorkspaceError(f"{self.root} is not a tutor workspace (no {STATE_DIR}/{WORKSPACE_FILE})") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise WorkspaceError(f"{self.workspace_file}: cannot read: {exc}") from None
        try:
            return PackRecord.from_json(json.loads(text))
        except ValueError as exc:  # json.JSONDecodeError included
            raise WorkspaceError(f"{self.workspace_file}: broken: {exc}") from None

    def record_pack(self, pack: Pack, pack_source: str) -> PackRecord:
        """Point the workspace at another pack (a deliberate switch); keeps ``created``."""
        from tutor import __version__

        with self.lock():
            try:
                created = self.pack_record().created
            except WorkspaceError:
                created = iso(now_utc())
            record = PackRecord(
                source=str(pack_source),
                id=pack.id,
                version=pack.version,
                hash=pack.hash,
                created=created,
                tutor_version=__version__,
            )
            atomic_write(self.workspace_file, _dump(record.to_json()))
        return record

    def pack_warnings(self, pack: Pack, lang: str = "en") -> list[str]:
        """Why grading with ``pack`` may not match what the workspace was made with, if it may not.

        ``tutor grade`` prints these (issue 6): a student working from
        version 1.0 graded by 1.1 deserves to know why a task moved. One
        warning at most, the most telling one: another pack, else another
        version, else changed content under the same version.
        """
        record = self.pack_record()
        values = {
            "old_id": record.id,
            "old_version": record.version,
            "old_hash": record.hash,
            "new_id": pack.id,
            "new_version": pack.version,
            "new_hash": pack.hash,
        }
        if record.id != pack.id:
            return [_PACK_CHANGED["id"](lang, **values)]
        if record.version != pack.version:
            return [_PACK_CHANGED["version"](lang, **values)]
        if record.hash != pack.hash:
            return [_PACK_CHANGED["hash"](lang, **values)]
        return []

    # ------------------------------------------------------------ reset

    def reset(self, task_id: str, starter: str) -> Path | None:
        """Put the starter back; the old file is kept as ``<task>.py.bak-<timestamp>``.

        Returns the backup's path, or ``None`` when there was nothing to keep
        (no file, or it already was the starter). The backup is made before the
        starter is written and the starter replaces the file atomically, so at
        every moment the learner's code exists under at least one name.
        """
        path = self.exercise_path(task_id)
        with self.lock():
            try:
                old = path.read_bytes()
            except FileNotFoundError:
                old = None
            backup: Path | None = None
            if old is not None and old != starter.encode("utf-8"):
                backup = self._keep_aside(path, ".bak-" + file_stamp())
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, starter)
        return backup

    def _keep_aside(self, path: Path, suffix: str) -> Path:
        """A durable copy of ``path`` under a new, unused name; returns that name.

        A hard link costs nothing and can't be half-written; where links are
        not allowed (some network and FAT file systems) a copy is written under
        the final name with O_EXCL, which never replaces anything.
        """
        while True:
            backup = unique_sibling(path, suffix)
            try:
                os.link(path, backup)
                return backup
            except FileExistsError:
                continue  # another process took the name between the check and the link
            except OSError:
                pass
            try:
                with open(backup, "xb") as out, open(path, "rb") as src:
                    shutil.copyfileobj(src, out)
                    out.flush()
                    os.fsync(out.fileno())
                return backup
            except FileExistsError:
                continue


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
